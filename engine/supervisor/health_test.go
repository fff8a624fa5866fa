package supervisor

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
)

// fakeProbe is what one exec of the fake runtime does.
type fakeProbe struct {
	out   string
	fail  bool          // the exec fails (a failed probe)
	hang  bool          // runs until its context is canceled
	sleep time.Duration // runs this long, then succeeds or fails
}

// fakeRuntime runs healthcheck execs by script; nothing else of it is
// used by the prober.
type fakeRuntime struct {
	script func(call int) fakeProbe

	mu        sync.Mutex
	calls     int
	active    int
	maxActive int
	procs     []specs.Process
	canceled  int // hanging execs that saw their context end
}

var _ ociruntime.Runtime = (*fakeRuntime)(nil)

func (f *fakeRuntime) Exec(ctx context.Context, id string, p specs.Process, o ociruntime.ExecOpts) (*ociruntime.Execution, error) {
	f.mu.Lock()
	f.calls++
	pr := f.script(f.calls)
	f.active++
	f.maxActive = max(f.maxActive, f.active)
	f.procs = append(f.procs, p)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.active--
		f.mu.Unlock()
	}()
	if pr.out != "" {
		o.Stdout.Write([]byte(pr.out))
	}
	// All output is written: close the pipe's write end so the prober's
	// reader ends now (a goroutine blocked reading a pipe would keep the
	// synctest bubble's clock from moving).
	if c, ok := o.Stdout.(io.Closer); ok {
		c.Close()
	}
	if pr.hang {
		<-ctx.Done()
		f.mu.Lock()
		f.canceled++
		f.mu.Unlock()
		return nil, ctx.Err()
	}
	if pr.sleep > 0 {
		time.Sleep(pr.sleep)
	}
	if pr.fail {
		return nil, errors.New("exit status 1")
	}
	return &ociruntime.Execution{Pid: 1}, nil
}

func (f *fakeRuntime) nCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeRuntime) Name() string { return "fake" }
func (f *fakeRuntime) Create(context.Context, string, string, ociruntime.CreateOpts) (int, error) {
	return 0, nil
}
func (f *fakeRuntime) Start(context.Context, string) error { return nil }
func (f *fakeRuntime) State(context.Context, string) (ociruntime.State, error) {
	return ociruntime.State{}, nil
}
func (f *fakeRuntime) Kill(context.Context, string, syscall.Signal, bool) error { return nil }
func (f *fakeRuntime) Delete(context.Context, string, bool) error               { return nil }
func (f *fakeRuntime) Pause(context.Context, string) error                      { return nil }
func (f *fakeRuntime) Resume(context.Context, string) error                     { return nil }
func (f *fakeRuntime) Ps(context.Context, string) ([]int, error)                { return nil, nil }
func (f *fakeRuntime) Run(context.Context, string, string, ociruntime.Stdio) (int, error) {
	return 0, nil
}

// healthFixture is a server with one "running" container whose
// healthchecks go to a fake runtime.
type healthFixture struct {
	s        *Server
	m        *managed
	rt       *fakeRuntime
	statuses chan string
}

func newHealthFixture(t *testing.T, hc *state.HealthConfig, script func(int) fakeProbe) *healthFixture {
	t.Helper()
	bundle := t.TempDir()
	spec := &specs.Spec{Process: &specs.Process{
		Args: []string{"sleep", "1000"},
		Env:  []string{"PATH=/bin", "FOO=bar"},
		Cwd:  "/srv",
		User: specs.User{UID: 1000, GID: 1000},
	}}
	if err := ociruntime.WriteBundle(bundle, spec); err != nil {
		t.Fatal(err)
	}
	f := &healthFixture{rt: &fakeRuntime{script: script}, statuses: make(chan string, 1000)}
	f.s = &Server{
		cfg:        Config{Project: "hp", Logf: t.Logf},
		store:      state.NewStore(t.TempDir()),
		containers: map[string]*managed{},
		byPid:      map[int]*managed{},
	}
	f.s.onHealth = func(m *managed, status string) { f.statuses <- status }
	id := strings.Repeat("ab", 32)
	f.m = &managed{
		id:      id,
		rec:     &state.Container{ID: id, Name: "hp-web-1", Project: "hp", Service: "web", Bundle: bundle, Health: hc},
		st:      &state.RuntimeState{Status: state.StatusRunning, Pid: 4242},
		rt:      f.rt,
		pid:     4242,
		started: time.Now(),
	}
	f.s.containers[id] = f.m
	t.Cleanup(func() { f.s.stopHealth(f.m) })
	return f
}

// next waits for the next status reported to the hook.
func (f *healthFixture) next(t *testing.T, within time.Duration) string {
	t.Helper()
	select {
	case st := <-f.statuses:
		return st
	case <-time.After(within):
		t.Fatalf("no health status change within %v (state %+v)", within, f.state())
		return ""
	}
}

func (f *healthFixture) state() state.RuntimeState {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	st := *f.m.st
	st.HealthLog = append([]state.HealthResult(nil), st.HealthLog...)
	return st
}

func ok(int) fakeProbe   { return fakeProbe{out: "ok\n"} }
func fail(int) fakeProbe { return fakeProbe{out: "down\n", fail: true} }

func TestHealthStartingToHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := &state.HealthConfig{Test: []string{"CMD-SHELL", "wget -q localhost || exit 1"}, Interval: 10 * time.Millisecond, Timeout: time.Second, Retries: 3}
		f := newHealthFixture(t, hc, ok)
		f.s.startHealth(f.m)
		if got := f.next(t, time.Second); got != HealthStarting {
			t.Fatalf("first status %q, want starting", got)
		}
		if got := f.next(t, 2*time.Second); got != HealthHealthy {
			t.Fatalf("status %q, want healthy", got)
		}
		st := f.state()
		if st.Health != HealthHealthy || st.FailingStreak != 0 || len(st.HealthLog) == 0 {
			t.Fatalf("state %+v", st)
		}
		r := st.HealthLog[0]
		if r.ExitCode != 0 || r.Output != "ok\n" || r.Start.IsZero() || r.End.Before(r.Start) {
			t.Errorf("result %+v", r)
		}
		// Written to the record, for ps and inspect.
		disk, err := f.s.store.GetState(f.m.id)
		if err != nil {
			t.Fatal(err)
		}
		if disk.Health != HealthHealthy || len(disk.HealthLog) == 0 {
			t.Errorf("state on disk: %+v", disk)
		}
		// The probe runs as the container's process does.
		f.rt.mu.Lock()
		p := f.rt.procs[0]
		f.rt.mu.Unlock()
		if want := []string{"/bin/sh", "-c", "wget -q localhost || exit 1"}; !reflect.DeepEqual(p.Args, want) {
			t.Errorf("args %q, want %q", p.Args, want)
		}
		if p.Cwd != "/srv" || p.User.UID != 1000 || !reflect.DeepEqual(p.Env, []string{"PATH=/bin", "FOO=bar"}) || p.Terminal {
			t.Errorf("probe process %+v", p)
		}
	})
}

func TestHealthUnhealthyAfterRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := &state.HealthConfig{Test: []string{"CMD", "check"}, Interval: 5 * time.Millisecond, Timeout: time.Second, Retries: 3}
		f := newHealthFixture(t, hc, func(n int) fakeProbe {
			if n <= 2 {
				return ok(n)
			}
			return fail(n)
		})
		var streakAtUnhealthy, callsAtUnhealthy int
		f.s.onHealth = func(m *managed, status string) {
			if status == HealthUnhealthy {
				f.s.mu.Lock()
				streakAtUnhealthy = m.st.FailingStreak
				f.s.mu.Unlock()
				callsAtUnhealthy = f.rt.nCalls()
			}
			f.statuses <- status
		}
		f.s.startHealth(f.m)
		for _, want := range []string{HealthStarting, HealthHealthy, HealthUnhealthy} {
			if got := f.next(t, 2*time.Second); got != want {
				t.Fatalf("status %q, want %q", got, want)
			}
		}
		if streakAtUnhealthy != 3 || callsAtUnhealthy != 5 {
			t.Errorf("unhealthy at streak %d after %d probes, want streak 3 after 5", streakAtUnhealthy, callsAtUnhealthy)
		}
		st := f.state()
		last := st.HealthLog[len(st.HealthLog)-1]
		if last.ExitCode == 0 || !strings.Contains(last.Output, "exit status 1") {
			t.Errorf("last result %+v", last)
		}
		// It keeps probing (and stays unhealthy) without more changes.
		n := f.rt.nCalls()
		deadline := time.Now().Add(2 * time.Second)
		for f.rt.nCalls() < n+3 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if f.rt.nCalls() < n+3 {
			t.Errorf("probing stopped once unhealthy")
		}
		select {
		case s := <-f.statuses:
			t.Errorf("unexpected status change to %q", s)
		default:
		}
	})
}

func TestHealthRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := &state.HealthConfig{Test: []string{"CMD", "check"}, Interval: 5 * time.Millisecond, Timeout: time.Second, Retries: 1}
		f := newHealthFixture(t, hc, func(n int) fakeProbe {
			if n == 1 {
				return fail(n)
			}
			return ok(n)
		})
		f.s.startHealth(f.m)
		for _, want := range []string{HealthStarting, HealthUnhealthy, HealthHealthy} {
			if got := f.next(t, 2*time.Second); got != want {
				t.Fatalf("status %q, want %q", got, want)
			}
		}
		if st := f.state(); st.FailingStreak != 0 {
			t.Errorf("failing streak %d after a success", st.FailingStreak)
		}
	})
}

// Failures within start_period do not count; probes then come every
// start_interval.
func TestHealthStartPeriod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const period = 200 * time.Millisecond
		hc := &state.HealthConfig{Test: []string{"CMD", "check"}, Interval: 20 * time.Millisecond, StartInterval: 5 * time.Millisecond,
			StartPeriod: period, Timeout: time.Second, Retries: 2}
		f := newHealthFixture(t, hc, fail)
		f.s.startHealth(f.m)
		if got := f.next(t, time.Second); got != HealthStarting {
			t.Fatalf("status %q", got)
		}
		if got := f.next(t, 3*time.Second); got != HealthUnhealthy {
			t.Fatalf("status %q, want unhealthy", got)
		}
		if since := time.Since(f.m.started); since < period {
			t.Errorf("unhealthy after %v, within the start period of %v", since, period)
		}
		st := f.state()
		if st.FailingStreak != 2 {
			t.Errorf("failing streak %d, want 2", st.FailingStreak)
		}
		// ~40 probes at 5ms in 200ms; at least well over the 2 retries.
		if n := f.rt.nCalls(); n < 8 {
			t.Errorf("%d probes during the start period; want them every start_interval", n)
		}
	})
}

// After the first success, probes come every interval even within the
// start period.
func TestHealthStartIntervalUntilHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := &state.HealthConfig{Test: []string{"CMD", "check"}, Interval: time.Hour, StartInterval: 5 * time.Millisecond,
			StartPeriod: time.Minute, Timeout: time.Second, Retries: 3}
		f := newHealthFixture(t, hc, ok)
		f.s.startHealth(f.m)
		f.next(t, time.Second)
		if got := f.next(t, time.Second); got != HealthHealthy {
			t.Fatalf("status %q, want healthy (within start_interval, not interval)", got)
		}
		time.Sleep(100 * time.Millisecond)
		if n := f.rt.nCalls(); n != 1 {
			t.Errorf("%d probes; once healthy the next waits the interval (1h)", n)
		}
	})
}

func TestHealthTimeoutIsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := &state.HealthConfig{Test: []string{"CMD", "sleep", "100"}, Interval: 5 * time.Millisecond, Timeout: 30 * time.Millisecond, Retries: 1}
		f := newHealthFixture(t, hc, func(int) fakeProbe { return fakeProbe{hang: true} })
		f.s.startHealth(f.m)
		f.next(t, time.Second)
		if got := f.next(t, 3*time.Second); got != HealthUnhealthy {
			t.Fatalf("status %q, want unhealthy", got)
		}
		st := f.state()
		r := st.HealthLog[0]
		if r.ExitCode != -1 || !strings.Contains(r.Output, "exceeded timeout") {
			t.Errorf("result %+v", r)
		}
		if d := r.End.Sub(r.Start); d < 30*time.Millisecond || d > time.Second {
			t.Errorf("timed-out probe took %v", d)
		}
		f.rt.mu.Lock()
		canceled := f.rt.canceled
		f.rt.mu.Unlock()
		if canceled == 0 {
			t.Error("the timed-out exec was not canceled")
		}
	})
}

func TestHealthProbesNeverOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := &state.HealthConfig{Test: []string{"CMD", "check"}, Interval: time.Millisecond, Timeout: time.Second, Retries: 3}
		f := newHealthFixture(t, hc, func(int) fakeProbe { return fakeProbe{sleep: 15 * time.Millisecond} })
		f.s.startHealth(f.m)
		time.Sleep(150 * time.Millisecond)
		f.s.stopHealth(f.m)
		f.rt.mu.Lock()
		defer f.rt.mu.Unlock()
		// the next wait starts when a probe ends: one every 1+15ms, the
		// first at 1ms, so 10 begin within 150ms
		if f.rt.calls != 10 || f.rt.maxActive != 1 {
			t.Errorf("%d probes, at most %d at once; want 10, one at a time", f.rt.calls, f.rt.maxActive)
		}
	})
}

func TestHealthLogKeepsLastFiveCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := &state.HealthConfig{Test: []string{"CMD", "check"}, Interval: time.Millisecond, Timeout: time.Second, Retries: 100}
		big := strings.Repeat("x", 5000)
		f := newHealthFixture(t, hc, func(int) fakeProbe { return fakeProbe{out: big} })
		f.s.startHealth(f.m)
		deadline := time.Now().Add(3 * time.Second)
		for f.rt.nCalls() < 8 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		f.s.stopHealth(f.m)
		st := f.state()
		if len(st.HealthLog) != 5 {
			t.Fatalf("%d results kept, want 5", len(st.HealthLog))
		}
		for _, r := range st.HealthLog {
			if len(r.Output) != 4096 {
				t.Errorf("output of %d bytes, want 4096", len(r.Output))
			}
		}
		for i := 1; i < len(st.HealthLog); i++ {
			if st.HealthLog[i].Start.Before(st.HealthLog[i-1].Start) {
				t.Error("results out of order")
			}
		}
	})
}

// stopHealth ends the loop, also in the middle of a probe, and nothing is
// recorded after it.
func TestHealthStopStopsProbing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := &state.HealthConfig{Test: []string{"CMD", "check"}, Interval: 2 * time.Millisecond, Timeout: time.Hour, Retries: 3}
		f := newHealthFixture(t, hc, func(n int) fakeProbe {
			if n >= 3 {
				return fakeProbe{hang: true}
			}
			return ok(n)
		})
		f.s.startHealth(f.m)
		deadline := time.Now().Add(2 * time.Second)
		for f.rt.nCalls() < 3 && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		before := f.state()
		start := time.Now()
		f.s.stopHealth(f.m)
		if d := time.Since(start); d > time.Second {
			t.Errorf("stop took %v with a probe running", d)
		}
		n := f.rt.nCalls()
		time.Sleep(50 * time.Millisecond)
		if f.rt.nCalls() != n {
			t.Error("probes ran after stop")
		}
		if after := f.state(); len(after.HealthLog) != len(before.HealthLog) {
			t.Errorf("results recorded after stop: %d, then %d", len(before.HealthLog), len(after.HealthLog))
		}
		// synctest.Test fails when a goroutine of the loop is left blocked
	})
}

// A loop whose container run has ended (another pid) stops by itself.
func TestHealthEndsWithTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := &state.HealthConfig{Test: []string{"CMD", "check"}, Interval: 2 * time.Millisecond, Timeout: time.Second, Retries: 3}
		f := newHealthFixture(t, hc, ok)
		f.s.startHealth(f.m)
		f.next(t, time.Second)
		f.s.mu.Lock()
		p := f.m.health
		f.m.pid = 0
		f.s.mu.Unlock()
		select {
		case <-p.done:
		case <-time.After(2 * time.Second):
			t.Fatal("the loop outlived its run")
		}
		// synctest.Test fails when a goroutine of the loop is left blocked
	})
}

func TestHealthNoneConfigured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newHealthFixture(t, nil, ok)
		f.m.st.Health = HealthUnhealthy // from an older record
		f.s.startHealth(f.m)
		time.Sleep(20 * time.Millisecond)
		if f.rt.nCalls() != 0 || f.m.health != nil {
			t.Error("probed a container without a healthcheck")
		}
		if st := f.state(); st.Health != "" {
			t.Errorf("health %q, want none", st.Health)
		}
	})
}

// A restart starts over at "starting" with a fresh streak.
func TestHealthRestartResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hc := &state.HealthConfig{Test: []string{"CMD", "check"}, Interval: 2 * time.Millisecond, Timeout: time.Second, Retries: 1}
		f := newHealthFixture(t, hc, fail)
		f.s.startHealth(f.m)
		f.next(t, time.Second)
		if got := f.next(t, time.Second); got != HealthUnhealthy {
			t.Fatalf("status %q", got)
		}
		f.s.stopHealth(f.m)
		f.s.mu.Lock()
		f.m.pid, f.m.started = 4343, time.Now()
		f.s.mu.Unlock()
		f.rt.mu.Lock()
		f.rt.script = func(int) fakeProbe { return fakeProbe{hang: true} }
		f.rt.mu.Unlock()
		f.s.startHealth(f.m)
		if got := f.next(t, time.Second); got != HealthStarting {
			t.Fatalf("status %q after restart, want starting", got)
		}
		if st := f.state(); st.FailingStreak != 0 || len(st.HealthLog) == 0 {
			t.Errorf("after restart: %+v (want streak 0, log kept)", st)
		}
	})
}

func TestProbeArgs(t *testing.T) {
	cases := []struct {
		in   []string
		want []string
	}{
		{[]string{"CMD", "pg_isready", "-U", "x"}, []string{"pg_isready", "-U", "x"}},
		{[]string{"CMD-SHELL", "curl -f localhost || exit 1"}, []string{"/bin/sh", "-c", "curl -f localhost || exit 1"}},
		{[]string{"CMD"}, nil},
		{[]string{"NONE"}, nil},
		{nil, nil},
	}
	for _, c := range cases {
		got, err := probeArgs(c.in)
		if (err != nil) != (c.want == nil) || !reflect.DeepEqual(got, c.want) {
			t.Errorf("probeArgs(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCapped(t *testing.T) {
	c := &capped{max: 5}
	for _, s := range []string{"ab", "cdef", "gh"} {
		if n, err := c.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if c.String() != "abcde" {
		t.Errorf("kept %q", c.String())
	}
}

// TestAwaitPid: a probe that timed out before its runtime wrote the pid
// file gets its process killed once the file appears (the runtime is
// not killed under a process it is still starting); the wait ends early
// when the runtime has exited, and at the grace otherwise.
func TestAwaitPid(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "health-probe.pid")
	exited := make(chan probeExit, 1)
	time.AfterFunc(50*time.Millisecond, func() { os.WriteFile(pidFile, []byte("4242"), 0o600) })
	if pid, ok := awaitPid(pidFile, exited, 10*time.Second); !ok || pid != 4242 {
		t.Errorf("awaitPid with the file written late = %d, %v; want 4242, true", pid, ok)
	}

	os.Remove(pidFile)
	exited <- probeExit{code: 1}
	start := time.Now()
	if _, ok := awaitPid(pidFile, exited, 10*time.Second); ok || time.Since(start) > 5*time.Second {
		t.Errorf("awaitPid after the runtime exited: ok=%v after %v, want false at once", ok, time.Since(start))
	}
	if len(exited) != 1 {
		t.Error("awaitPid took the runtime's result")
	}

	<-exited
	if _, ok := awaitPid(pidFile, exited, 30*time.Millisecond); ok {
		t.Error("awaitPid with no file and no exit: ok")
	}
}
