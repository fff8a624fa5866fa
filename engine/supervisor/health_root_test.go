package supervisor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/ociruntime/runtimetest"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/testutil"
)

// TestHealthRunc probes real busybox containers with runc: a check that
// passes, then fails with its exit code; and one that hangs past its
// timeout and is killed in the container.
func TestHealthRunc(t *testing.T) {
	testutil.RequiresRoot(t)
	runtimetest.BecomeSubreaper(t)
	root, _ := testutil.StateDirs(t)
	rt, err := ociruntime.NewCLI(root, "runc")
	if err != nil {
		t.Skipf("skipped: %v", err)
	}
	rootfs := runtimetest.BusyboxRootfs(t)
	proj := "hr-" + runtimetest.ID()[:8]
	s := &Server{
		cfg: Config{Project: proj, Root: root, Logf: t.Logf,
			RuntimeFor: func(context.Context, string) (ociruntime.Runtime, error) { return rt, nil }},
		store:      state.NewStore(root),
		containers: map[string]*managed{},
		byPid:      map[int]*managed{},
	}
	// The supervisor's SIGCHLD loop, as Run has it.
	stopReaper := make(chan struct{})
	reaperDone := make(chan struct{})
	go func() {
		defer close(reaperDone)
		for {
			select {
			case <-stopReaper:
				return
			case <-time.After(20 * time.Millisecond):
				s.reap()
			}
		}
	}()
	t.Cleanup(func() { close(stopReaper); <-reaperDone })

	statuses := make(chan string, 100)
	var psAtUnhealthy []int
	s.onHealth = func(m *managed, status string) {
		if m.rec.Service == "slow" && status == HealthUnhealthy {
			psAtUnhealthy, _ = rt.Ps(context.Background(), m.id)
		}
		statuses <- m.rec.Service + " " + status
	}
	start := func(service string, command []string, hc *state.HealthConfig) *managed {
		t.Helper()
		id := runtimetest.ID()
		svc := types.ServiceConfig{Name: service, ContainerSpec: types.ContainerSpec{Command: command}}
		bundle := runtimetest.Bundle(t, rootfs, proj, id, svc)
		rec := &state.Container{ID: id, Name: proj + "-" + service + "-1", Project: proj, Service: service,
			Bundle: bundle, Runtime: "runc", Health: hc}
		if err := s.store.Put(rec); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.remove(context.Background(), id); err != nil {
				t.Errorf("remove %s: %v", service, err)
			}
		})
		if err := s.start(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		m, err := s.get(id)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	expect := func(want string, within time.Duration) {
		t.Helper()
		select {
		case got := <-statuses:
			if got != want {
				t.Fatalf("health change %q, want %q", got, want)
			}
		case <-time.After(within):
			t.Fatalf("no %q within %v", want, within)
		}
	}

	web := start("web", []string{"sh", "-c", "echo ready > /tmp/state; sleep 1; echo down > /tmp/state; exec sleep 1000"},
		&state.HealthConfig{Test: []string{"CMD-SHELL", "cat /tmp/state; grep -q ready /tmp/state"},
			Interval: 150 * time.Millisecond, Timeout: 5 * time.Second, Retries: 2})
	expect("web starting", time.Second)
	expect("web healthy", 5*time.Second)
	expect("web unhealthy", 10*time.Second)
	st, err := s.store.GetState(web.id)
	if err != nil {
		t.Fatal(err)
	}
	var sawReady bool
	for _, r := range st.HealthLog {
		sawReady = sawReady || (r.ExitCode == 0 && r.Output == "ready\n")
	}
	last := st.HealthLog[len(st.HealthLog)-1]
	if st.Health != HealthUnhealthy || st.FailingStreak < 2 || last.ExitCode != 1 || last.Output != "down\n" {
		t.Errorf("state %+v", st)
	}
	if len(st.HealthLog) == 5 && !sawReady {
		t.Logf("the healthy result has left the log of 5: %+v", st.HealthLog)
	}

	slow := start("slow", []string{"sleep", "1000"},
		&state.HealthConfig{Test: []string{"CMD", "sleep", "100"}, Interval: 100 * time.Millisecond, Timeout: 300 * time.Millisecond, Retries: 1})
	expect("slow starting", time.Second)
	expect("slow unhealthy", 10*time.Second)
	st, err = s.store.GetState(slow.id)
	if err != nil {
		t.Fatal(err)
	}
	r := st.HealthLog[0]
	if r.ExitCode != -1 || !strings.Contains(r.Output, "exceeded timeout") {
		t.Errorf("timed-out result %+v", r)
	}
	// Killed in the container: the runtime returned at once, not after
	// it was killed itself; and no probe process is left.
	t.Logf("timed-out probe: %v, %q", r.End.Sub(r.Start), r.Output)
	if d := r.End.Sub(r.Start); d > probeKillGrace {
		t.Errorf("timed-out probe took %v", d)
	}
	if len(psAtUnhealthy) != 1 || psAtUnhealthy[0] != slow.pid {
		t.Errorf("processes in the container after the timeout: %v, want only its init %d", psAtUnhealthy, slow.pid)
	}

	// Stopping the container stops its healthcheck.
	if err := s.stop(t.Context(), web.id, "SIGKILL", 0); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	h := web.health
	s.mu.Unlock()
	if h != nil {
		t.Error("healthcheck still running after the container stopped")
	}
}
