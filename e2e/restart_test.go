package e2e

import (
	"fmt"
	"testing"
	"time"
)

// Restart policies, as the supervisor applies them.

// Consistently checks that check keeps returning nil for the whole of d
// (polling every 100ms), failing the test at its first error.
func Consistently(t *testing.T, d time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if err := check(); err != nil {
			t.Fatalf("stopped holding after %s: %v", d-time.Until(deadline), err)
		}
		if time.Now().After(deadline) {
			return
		}
		select {
		case <-t.Context().Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// runsOf counts the "run" lines a service printed: one per start.
func runsOf(t *testing.T, e *Env, svc string) int {
	t.Helper()
	return count(serviceLines(t, e, svc), "run")
}

// TestRestartOnFailure: on-failure:2 restarts a failing container twice,
// then leaves it exited with its code.
func TestRestartOnFailure(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  flaky:
    image: busybox
    network_mode: none
    restart: on-failure:2
    command: ["sh", "-c", "echo run; exit 1"]
  fine:
    image: busybox
    network_mode: none
    restart: on-failure
    command: ["sh", "-c", "echo run; exit 0"]
`)
	e.MustBerth(t, "up", "-d")
	Eventually(t, 30*time.Second, func() error {
		ps, err := psJSON(t, e, "-a", "flaky")
		if err != nil {
			return err
		}
		if len(ps) != 1 || ps[0].State != "exited" {
			return fmt.Errorf("flaky: ps -a = %+v, want one exited container", ps)
		}
		if n := runsOf(t, e, "flaky"); n != 3 {
			return fmt.Errorf("flaky ran %d times, want 3 (the run and 2 restarts)", n)
		}
		return nil
	})
	p := waitExited(t, e, "flaky", time.Second)
	if p.ExitCode != 1 {
		t.Errorf("flaky exit code %d, want 1", p.ExitCode)
	}
	// Docker's backoff would restart a third time within ~400ms: it must not.
	Consistently(t, 3*time.Second, func() error {
		if n := runsOf(t, e, "flaky"); n != 3 {
			return fmt.Errorf("flaky ran %d times, want it to stay at 3", n)
		}
		if st := states(mustPs(t, e, "-a"))["flaky"]; st != "exited" {
			return fmt.Errorf("flaky is %s, want it to stay exited", st)
		}
		return nil
	})
	// on-failure does not restart a success.
	if p := waitExited(t, e, "fine", 5*time.Second); p.ExitCode != 0 {
		t.Errorf("fine exit code %d, want 0", p.ExitCode)
	}
	if n := runsOf(t, e, "fine"); n != 1 {
		t.Errorf("fine (exit 0, on-failure) ran %d times, want 1", n)
	}
}

// TestRestartAlwaysAndStop: always restarts a container that exits by
// itself, again and again; `stop` is not undone by the policy.
func TestRestartAlwaysAndStop(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    restart: always
    command: ["sh", "-c", "trap 'exit 0' TERM; echo run; sleep 1 & wait; exit 1"]
`)
	e.MustBerth(t, "up", "-d")
	Eventually(t, 30*time.Second, func() error {
		if n := runsOf(t, e, "app"); n < 3 {
			return fmt.Errorf("app ran %d times, want at least 3 (restart: always)", n)
		}
		return nil
	})
	Eventually(t, 10*time.Second, func() error {
		if st := states(mustPs(t, e, "-a"))["app"]; st != "running" && st != "restarting" {
			return fmt.Errorf("app is %q, want running or restarting while always restarts it", st)
		}
		return nil
	})

	e.MustBerth(t, "stop", "app")
	if st := states(mustPs(t, e, "-a"))["app"]; st != "exited" {
		t.Fatalf("after stop, app is %q, want exited", st)
	}
	runs := runsOf(t, e, "app")
	Consistently(t, 4*time.Second, func() error {
		if st := states(mustPs(t, e, "-a"))["app"]; st != "exited" {
			return fmt.Errorf("app is %q after stop: restart: always undid the stop", st)
		}
		if n := runsOf(t, e, "app"); n != runs {
			return fmt.Errorf("app ran %d times after stop (was %d): restart: always undid the stop", n, runs)
		}
		return nil
	})

	// start brings it back under its policy.
	e.MustBerth(t, "start", "app")
	Eventually(t, 20*time.Second, func() error {
		if n := runsOf(t, e, "app"); n < runs+2 {
			return fmt.Errorf("app ran %d times after start (was %d), want it restarting again", n, runs)
		}
		return nil
	})
}
