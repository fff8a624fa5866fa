package main

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// testService is a service with the fields pull and config look at
// (set one by one: some are promoted from embedded structs).
func testService(name, image, policy, platform string, build bool) types.ServiceConfig {
	s := types.ServiceConfig{Name: name}
	s.Image = image
	s.PullPolicy = policy
	s.Platform = platform
	if build {
		s.Build = &types.BuildConfig{Context: "."}
	}
	return s
}

func pullProject() *types.Project {
	return &types.Project{Name: "p", Services: types.Services{
		"noimage": testService("noimage", "", "", "", true),
		"built":   testService("built", "b:1", "", "", true),
		"polbld":  testService("polbld", "pb:1", "build", "", false),
		"never":   testService("never", "n:1", "never", "", false),
		"present": testService("present", "here:1", "missing", "", false),
		"stale":   testService("stale", "here:1", "always", "", false),
		"web":     testService("web", "nginx", "", "", false),
		"web2":    testService("web2", "nginx", "", "", false),
		"arm":     testService("arm", "nginx", "", "linux/arm64", false),
	}}
}

func TestPlanPulls(t *testing.T) {
	names := []string{"arm", "built", "never", "noimage", "polbld", "present", "stale", "web", "web2"}
	present := func(ref string) bool { return ref == "here:1" }
	tests := []struct {
		name      string
		o         pullCmdOptions
		wantPulls []string
		wantSkips []string
	}{
		{"defaults", pullCmdOptions{},
			[]string{"nginx linux/arm64 [arm]", "b:1  [built]", "here:1  [stale]", "nginx  [web web2]"},
			[]string{"n:1: Image is never pulled (pull_policy: never)", "noimage: No image to be pulled", "polbld: Image will be built", "here:1: Image is already present locally"}},
		{"ignore buildable, policy missing", pullCmdOptions{ignoreBuildable: true, policy: "missing"},
			[]string{"nginx linux/arm64 [arm]", "nginx  [web web2]"},
			[]string{"built: Image will be built", "n:1: Image is never pulled (pull_policy: never)", "noimage: No image to be pulled", "polbld: Image will be built", "here:1: Image is already present locally", "here:1: Image is already present locally"}},
		{"policy always", pullCmdOptions{policy: "always"},
			[]string{"nginx linux/arm64 [arm]", "b:1  [built]", "here:1  [present stale]", "nginx  [web web2]"},
			[]string{"n:1: Image is never pulled (pull_policy: never)", "noimage: No image to be pulled", "polbld: Image will be built"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wants, skips := planPulls(pullProject(), names, tt.o, present)
			var gotPulls, gotSkips []string
			for _, w := range wants {
				gotPulls = append(gotPulls, fmt.Sprintf("%s %s %v", w.ref, w.platform, w.services))
			}
			for _, s := range skips {
				gotSkips = append(gotSkips, s.label+": "+s.why)
			}
			if !reflect.DeepEqual(gotPulls, tt.wantPulls) {
				t.Errorf("pulls:\n got %q\nwant %q", gotPulls, tt.wantPulls)
			}
			if !reflect.DeepEqual(gotSkips, tt.wantSkips) {
				t.Errorf("skips:\n got %q\nwant %q", gotSkips, tt.wantSkips)
			}
		})
	}
}

func TestPullOutcomeReport(t *testing.T) {
	p := pullProject()
	fail := errors.New("denied")
	tests := []struct {
		name           string
		failed         []*pullWant
		ignoreFailures bool
		wantOut        string
		wantErr        string
	}{
		{"none", nil, false, "", ""},
		{"errors sorted", []*pullWant{{services: []string{"web"}}, {services: []string{"arm"}}}, false, "",
			"service arm: denied\nservice web: denied"},
		{"ignored", []*pullWant{{services: []string{"web"}}, {services: []string{"arm"}}}, true,
			"WARNING: service arm: denied\nWARNING: service web: denied\n", ""},
		{"buildable", []*pullWant{{services: []string{"built"}}}, false,
			"WARNING: Some service image(s) must be built from source by running:\n    berth build built\n", ""},
		{"shared image partly buildable", []*pullWant{{services: []string{"web", "built"}}}, false,
			"WARNING: Some service image(s) must be built from source by running:\n    berth build built\n", "service web, built: denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res pullOutcome
			for _, w := range tt.failed {
				res.record(p, w, fmt.Errorf("service %s: %w", strings.Join(w.services, ", "), fail), tt.ignoreFailures)
			}
			var out bytes.Buffer
			err := res.report(&out)
			if out.String() != tt.wantOut {
				t.Errorf("output:\n%q\nwant\n%q", out.String(), tt.wantOut)
			}
			if got := fmt.Sprint(err); (err == nil) != (tt.wantErr == "") || (err != nil && got != tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, fail) {
				t.Errorf("err %v does not wrap the pull's error", err)
			}
		})
	}
}

func TestPullEachLimit(t *testing.T) {
	wants := make([]*pullWant, 20)
	for i := range wants {
		wants[i] = &pullWant{ref: fmt.Sprint(i)}
	}
	var running, peak, done atomic.Int32
	release := make(chan struct{})
	go func() {
		for done.Load() < 20 {
			release <- struct{}{}
		}
	}()
	pullEach(wants, 3, func(*pullWant) {
		n := running.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		<-release
		running.Add(-1)
		done.Add(1)
	})
	if done.Load() != 20 || peak.Load() > 3 {
		t.Errorf("done %d, peak %d (limit 3)", done.Load(), peak.Load())
	}
}
