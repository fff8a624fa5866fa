package build

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeBuilds records when each job ran; a job named in fail fails.
type fakeBuilds struct {
	mu         sync.Mutex
	cur, max   int
	start, end map[string]time.Time
	order      []string
	fail       map[string]bool
	hold       time.Duration
}

func newFake(hold time.Duration, fail ...string) *fakeBuilds {
	f := &fakeBuilds{start: map[string]time.Time{}, end: map[string]time.Time{}, fail: map[string]bool{}, hold: hold}
	for _, n := range fail {
		f.fail[n] = true
	}
	return f
}

func (f *fakeBuilds) run(ctx context.Context, j *Job) error {
	f.mu.Lock()
	f.cur++
	f.max = max(f.max, f.cur)
	f.start[j.Image] = time.Now()
	f.order = append(f.order, j.Image)
	f.mu.Unlock()
	time.Sleep(f.hold)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cur--
	f.end[j.Image] = time.Now()
	if f.fail[j.Image] {
		return fmt.Errorf("build of %s failed", j.Image)
	}
	return nil
}

func jobs(spec ...string) []*Job {
	var out []*Job
	for _, s := range spec {
		name, needs, _ := strings.Cut(s, ":")
		j := &Job{Image: name, Services: []string{name}}
		if needs != "" {
			j.Needs = strings.Split(needs, ",")
		}
		out = append(out, j)
	}
	return out
}

// TestScheduleBounded: independent jobs run at once, never more than the
// limit.
func TestScheduleBounded(t *testing.T) {
	f := newFake(30 * time.Millisecond)
	if err := Schedule(t.Context(), jobs("a", "b", "c", "d", "e", "f", "g"), 3, f.run); err != nil {
		t.Fatal(err)
	}
	if f.max != 3 {
		t.Errorf("at most %d jobs ran at once, want 3 (the limit)", f.max)
	}
	if len(f.order) != 7 {
		t.Errorf("ran %v", f.order)
	}
	f = newFake(5 * time.Millisecond)
	if err := Schedule(t.Context(), jobs("a", "b", "c"), 1, f.run); err != nil || f.max != 1 {
		t.Errorf("limit 1: max %d, err %v", f.max, err)
	}
}

// TestScheduleOrder: a job starts only after the jobs it needs ended;
// an independent one overlaps them.
func TestScheduleOrder(t *testing.T) {
	f := newFake(20 * time.Millisecond)
	if err := Schedule(t.Context(), jobs("app:base", "base:root", "root", "other", "tool:base,root"), 8, f.run); err != nil {
		t.Fatal(err)
	}
	for _, e := range [][2]string{{"root", "base"}, {"base", "app"}, {"base", "tool"}, {"root", "tool"}} {
		if f.start[e[1]].Before(f.end[e[0]]) {
			t.Errorf("%s started before %s (which it needs) ended", e[1], e[0])
		}
	}
	if !(f.start["other"].Before(f.end["root"]) && f.start["root"].Before(f.end["other"])) {
		t.Error("the independent job did not overlap the first one")
	}
	// needs naming no job (an image not built here) are ignored
	f = newFake(0)
	if err := Schedule(t.Context(), jobs("a:elsewhere"), 2, f.run); err != nil || len(f.order) != 1 {
		t.Errorf("need of an unbuilt image: %v %v", f.order, err)
	}
}

// TestScheduleFailure: a failed job's dependents never run, no job starts
// after a failure, running jobs are waited for, and the error is the
// failed job's.
func TestScheduleFailure(t *testing.T) {
	f := newFake(20*time.Millisecond, "base")
	err := Schedule(t.Context(), jobs("base", "app:base", "slow"), 4, f.run)
	if err == nil || !strings.Contains(err.Error(), "build of base failed") {
		t.Fatalf("err = %v", err)
	}
	if slices.Contains(f.order, "app") {
		t.Error("a job whose need failed ran")
	}
	if _, ok := f.end["slow"]; !ok {
		t.Error("a running independent job was not waited for")
	}
	f = newFake(0, "a", "b")
	err = Schedule(t.Context(), jobs("a", "b", "c:a"), 1, f.run)
	if err == nil || !strings.Contains(err.Error(), "build of a failed") || slices.Contains(f.order, "b") {
		t.Errorf("limit 1, a fails: ran %v, err %v; want a's error and nothing started after it", f.order, err)
	}
}

// TestScheduleCycle: jobs needing each other are refused before any runs.
func TestScheduleCycle(t *testing.T) {
	f := newFake(0)
	err := Schedule(t.Context(), jobs("a:b", "b:c", "c:a", "d"), 2, f.run)
	if !errors.Is(err, ErrBuildCycle) || !strings.Contains(err.Error(), "a -> b -> c -> a") {
		t.Errorf("err = %v, want ErrBuildCycle a -> b -> c -> a", err)
	}
	if len(f.order) != 0 {
		t.Errorf("ran %v", f.order)
	}
}

// TestScheduleCanceled: a canceled context starts nothing more.
func TestScheduleCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var ran []string
	var mu sync.Mutex
	err := Schedule(ctx, jobs("a", "b:a", "c:b"), 1, func(ctx context.Context, j *Job) error {
		mu.Lock()
		ran = append(ran, j.Image)
		mu.Unlock()
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || len(ran) != 1 {
		t.Errorf("ran %v, err %v", ran, err)
	}
}

// TestPlan: needs come from FROM (ARGs expanded), COPY --from and
// RUN --mount=from naming another job's image or tag, and from
// docker-image:// contexts; stage names, scratch and images no job
// builds are not needs.
func TestPlan(t *testing.T) {
	base := "proj-base"
	js := []*Job{
		{Image: base, Options: Options{DockerfileInline: "FROM busybox\n", Tags: []string{"registry.local/base:1"}}},
		{Image: "proj-app", Options: Options{
			DockerfileInline: "ARG BASE=proj-base\nFROM ${BASE} AS b\nFROM scratch\nCOPY --from=b /x /x\n",
		}},
		{Image: "proj-tool", Options: Options{
			DockerfileInline: "FROM busybox\nCOPY --from=registry.local/base:1 /x /x\nRUN --mount=from=docker.io/library/proj-lib:latest true\n",
		}},
		{Image: "proj-lib", Options: Options{DockerfileInline: "FROM scratch\n"}},
		{Image: "proj-ctx", Options: Options{
			DockerfileInline: "FROM ctx\n",
			Contexts:         map[string]string{"ctx": "docker-image://proj-lib", "dir": "/tmp"},
		}},
		{Image: "proj-self", Options: Options{DockerfileInline: "FROM proj-self\n"}},
		{Image: "proj-broken", Options: Options{Dockerfile: "missing", ContextDir: t.TempDir()}},
	}
	Plan(js)
	want := map[string]string{
		base: "", "proj-app": base, "proj-tool": base + ",proj-lib", "proj-lib": "",
		"proj-ctx": "proj-lib", "proj-self": "", "proj-broken": "",
	}
	for _, j := range js {
		if got := strings.Join(j.Needs, ","); got != want[j.Image] {
			t.Errorf("%s needs %q, want %q", j.Image, got, want[j.Image])
		}
	}
}
