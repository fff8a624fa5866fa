package main

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine"
)

// TestEngineUpOptions: up's flags, --scale and the COMPOSE_* settings
// reach the engine's options, each where it belongs.
func TestEngineUpOptions(t *testing.T) {
	scale := map[string]int{"web": 3}
	for _, c := range []struct {
		name string
		o    upOptions
		cenv composeEnv
		all  bool
		want engine.UpOptions
	}{
		{"defaults", upOptions{}, composeEnv{}, false,
			engine.UpOptions{Services: []string{"web"}, Scale: scale, Build: engine.BuildMissing}},
		{"build and recreate flags", upOptions{build: true, forceRecreate: true, noDeps: true, pull: "always", yes: true, renewAnon: true, recreateDeps: true}, composeEnv{}, false,
			engine.UpOptions{Services: []string{"web"}, Scale: scale, Build: engine.BuildAlways, ForceRecreate: true, NoDeps: true,
				Pull: "always", RecreateVolumes: true, RenewAnonVolumes: true, AlwaysRecreateDeps: true}},
		{"no-build, no-start, no-recreate", upOptions{noBuild: true, noStart: true, noRecreate: true}, composeEnv{}, false,
			engine.UpOptions{Services: []string{"web"}, Scale: scale, Build: engine.BuildNever, NoStart: true, NoRecreate: true}},
		{"orphans and COMPOSE_*", upOptions{removeOrphans: true}, composeEnv{ignoreOrphans: true, parallel: 4}, true,
			engine.UpOptions{Services: []string{"web"}, Scale: scale, Build: engine.BuildMissing, RemoveOrphans: true,
				IgnoreOrphans: true, Parallel: 4, AllResources: true}},
	} {
		if got := c.o.engineUpOptions([]string{"web"}, scale, c.cenv, c.all); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
	if got := (upOptions{quietBuild: true}).engineOpts(); len(got) != 1 {
		t.Errorf("--quiet-build: %d engine options, want 1 (no build progress)", len(got))
	}
	if got := (upOptions{}).engineOpts(); len(got) != 0 {
		t.Errorf("no flags: %d engine options, want none", len(got))
	}
}

// TestUpWaitOptions: --wait waits for the named services and their
// dependencies (all when none is named), within --wait-timeout.
func TestUpWaitOptions(t *testing.T) {
	web := types.ServiceConfig{Name: "web"}
	web.DependsOn = types.DependsOnConfig{"db": {Condition: "service_started", Required: true}}
	p := &types.Project{Services: types.Services{"web": web, "db": {Name: "db"}, "other": {Name: "other"}}}
	for _, c := range []struct {
		name     string
		services []string
		o        upOptions
		want     []string
		timeout  time.Duration
	}{
		{"all", nil, upOptions{}, nil, 0},
		{"named with deps", []string{"web"}, upOptions{waitTimeout: 7}, []string{"db", "web"}, 7 * time.Second},
		{"no-deps", []string{"web"}, upOptions{noDeps: true}, []string{"web"}, 0},
	} {
		wo := c.o.waitOptions(p, c.services)
		got := slices.Clone(wo.Services)
		slices.Sort(got)
		if !slices.Equal(got, c.want) || wo.Timeout != c.timeout {
			t.Errorf("%s: services %v timeout %v; want %v %v", c.name, got, wo.Timeout, c.want, c.timeout)
		}
	}
}

// TestUpAbortsOn: which exits abort an attached up.
func TestUpAbortsOn(t *testing.T) {
	exited := func(code int) *engine.ContainerState {
		return &engine.ContainerState{Status: engine.StatusExited, ExitCode: code}
	}
	restarting := &engine.ContainerState{Status: engine.StatusRestarting, ExitCode: 1}
	for _, c := range []struct {
		name string
		o    upOptions
		st   *engine.ContainerState
		want bool
	}{
		{"no flag", upOptions{}, exited(1), false},
		{"exit, clean", upOptions{abortOnExit: true}, exited(0), true},
		{"exit, failed", upOptions{abortOnExit: true}, exited(3), true},
		{"failure, clean", upOptions{abortOnFail: true}, exited(0), false},
		{"failure, failed", upOptions{abortOnFail: true}, exited(3), true},
		{"restarting by its policy", upOptions{abortOnExit: true}, restarting, false},
	} {
		if got := c.o.abortsOn(c.st); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestAttachNames: "Attaching to" names the attached services'
// containers without the project, sorted.
func TestAttachNames(t *testing.T) {
	cs := []*engine.Container{
		{Name: "p-web-2", Service: "web"}, {Name: "p-db-1", Service: "db"},
		{Name: "p-web-1", Service: "web"}, {Name: "p-quiet-1", Service: "quiet"},
	}
	got := attachNames("p", cs, map[string]bool{"web": true, "db": true})
	if want := []string{"db-1", "web-1", "web-2"}; !slices.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
	if got := attachNames("p", cs, map[string]bool{}); len(got) != 0 {
		t.Errorf("nothing attached: %v", got)
	}
}
