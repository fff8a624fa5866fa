package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/logs"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/project"
)

// DependencyError says a dependency can never meet its condition.
type DependencyError struct {
	Service    string // the dependent
	Dependency string
	Condition  string
	Reason     string // "exited with code 1", "is unhealthy", …
	Logs       string // the tail of the dependency's output, when it exited
	// Container and State say, in Compose's words, which container failed
	// and how: "exited (1)", "is unhealthy".
	Container, State string
}

func (e *DependencyError) Error() string {
	msg := fmt.Sprintf("service %q depends on %q (%s), but %s %s", e.Service, e.Dependency, e.Condition, e.Dependency, e.Reason)
	if e.Container != "" && e.State != "" {
		msg = fmt.Sprintf("dependency failed to start: container %s %s: %s", e.Container, e.State, msg)
	}
	if e.Logs != "" {
		msg += "\n" + e.Logs
	}
	return msg
}

// waitDependencies blocks until every dependency of service meets its
// depends_on condition, or fails naming the one that cannot.
func (e *Engine) waitDependencies(ctx context.Context, p *types.Project, service string) error {
	deps, err := project.Dependencies(p)
	if err != nil {
		return err
	}
	for _, d := range deps[service] {
		if d.Condition == types.ServiceConditionStarted || d.Condition == "" {
			continue
		}
		if on, ok := p.Services[d.On]; ok && isProvider(on) {
			continue // its up has returned: provider.go
		}
		err := e.waitCondition(ctx, p.Name, d)
		var de *DependencyError
		if errors.As(err, &de) && !d.Required {
			// Compose: an optional dependency that cannot meet its
			// condition is skipped with a warning.
			e.progress(Event{Kind: "Service", Name: service, Status: "Warning",
				Text: fmt.Sprintf("optional dependency %q failed to start: %s %s; starting without it (required: false)", d.On, d.On, de.Reason)})
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) waitCondition(ctx context.Context, projectName string, d project.Dependency) error {
	announced := false
	for {
		recs, err := e.store.List(projectName)
		if err != nil {
			return err
		}
		var cs []*state.Container
		for _, r := range recs {
			if r.Service == d.On && !r.Oneoff {
				cs = append(cs, r)
			}
		}
		met := len(cs) > 0
		for _, c := range cs {
			st, err := e.store.GetState(c.ID)
			if err != nil {
				return err
			}
			ok, fail := conditionMet(d.Condition, c, st)
			if fail != "" {
				de := &DependencyError{Service: d.Service, Dependency: d.On, Condition: d.Condition, Reason: fail, Container: c.Name}
				switch {
				case st.Status == state.StatusExited:
					de.Logs = e.logTail(c, 10)
					de.State = fmt.Sprintf("exited (%d)", st.ExitCode)
				case st.Health == "unhealthy":
					de.State = "is unhealthy"
				}
				if d.Required {
					e.progress(Event{Kind: "Container", Name: c.Name, Status: "Error", Text: fail})
				}
				return de
			}
			if !ok {
				met = false
				if !announced {
					e.emit("Container", c.Name, "Waiting")
					announced = true
				}
			}
		}
		if met {
			for _, c := range cs {
				switch d.Condition {
				case types.ServiceConditionHealthy:
					e.emit("Container", c.Name, "Healthy")
				case types.ServiceConditionCompletedSuccessfully:
					e.emit("Container", c.Name, "Exited")
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s (%s): %w", d.On, d.Condition, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// noHealthcheckGrace is how long a dependency without a healthcheck that
// service_healthy waits on may run before that is an error.
const noHealthcheckGrace = 2 * time.Second

// conditionMet says whether a container meets a condition now, or why it
// never will.
func conditionMet(cond string, c *state.Container, st *state.RuntimeState) (ok bool, fail string) {
	switch cond {
	case types.ServiceConditionHealthy:
		if c.Health == nil {
			if st.Status == state.StatusExited && !restarts(c, st) {
				return false, fmt.Sprintf("exited with code %d", st.ExitCode)
			}
			// A container that exits at once is reported as exited, as
			// Compose does, rather than as lacking a healthcheck.
			if st.Status == state.StatusRunning && time.Since(st.StartedAt) < noHealthcheckGrace {
				return false, ""
			}
			return false, "has no healthcheck (add one, or use condition: service_started)"
		}
		switch {
		case st.Health == "healthy" && st.Status == state.StatusRunning:
			return true, ""
		case st.Health == "unhealthy":
			return false, "is unhealthy"
		case st.Status == state.StatusExited && !restarts(c, st):
			return false, fmt.Sprintf("exited with code %d before it became healthy", st.ExitCode)
		}
		return false, ""
	case types.ServiceConditionCompletedSuccessfully:
		if st.Status == state.StatusExited {
			if st.ExitCode == 0 {
				return true, ""
			}
			if !restarts(c, st) {
				return false, fmt.Sprintf("exited with code %d", st.ExitCode)
			}
		}
		return false, ""
	}
	return true, ""
}

func restarts(c *state.Container, st *state.RuntimeState) bool {
	return st.Status == state.StatusRestarting
}

// logTail is the last n lines a container wrote, for error messages.
func (e *Engine) logTail(c *state.Container, n int) string {
	lines, err := logs.Merge([]logs.Source{{Prefix: c.Name, Path: e.store.LogPath(c.ID)}}, logs.Filter{Tail: n})
	if err != nil || len(lines) == 0 {
		return ""
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s-%d  | %s\n", c.Service, c.Number, strings.TrimSuffix(l.Log, "\n"))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// WaitOptions are `up --wait`'s.
type WaitOptions struct {
	Services []string
	Timeout  time.Duration // 0: no limit
}

// Wait returns once every selected service's containers run (and are
// healthy where they have a healthcheck). A one-shot that exited 0 and
// that another service depends on with service_completed_successfully
// counts as done. It fails naming the service that cannot get there.
func (e *Engine) Wait(ctx context.Context, p *types.Project, o WaitOptions) error {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	deps, err := project.Dependencies(p)
	if err != nil {
		return err
	}
	oneShot := oneShotServices(deps)
	want := map[string]bool{}
	for _, s := range o.Services {
		want[s] = true
	}
	for {
		pending, err := e.waitPass(p, want, oneShot)
		if err != nil || pending == "" {
			return err
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("--wait: application not healthy after %s: %s", o.Timeout, pending)
			}
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// oneShotServices are the services another depends on with
// service_completed_successfully.
func oneShotServices(deps map[string][]project.Dependency) map[string]bool {
	oneShot := map[string]bool{}
	for _, ds := range deps {
		for _, d := range ds {
			if d.Condition == types.ServiceConditionCompletedSuccessfully {
				oneShot[d.On] = true
			}
		}
	}
	return oneShot
}

// waitPass looks once at the project's containers (of the wanted
// services, all when none): it says what one of them still waits for
// ("" when all are there), or fails on one that cannot get there.
func (e *Engine) waitPass(p *types.Project, want, oneShot map[string]bool) (pending string, err error) {
	recs, err := e.store.List(p.Name)
	if err != nil {
		return "", err
	}
	for _, c := range recs {
		if c.Oneoff || (len(want) > 0 && !want[c.Service]) {
			continue
		}
		if _, ok := p.Services[c.Service]; !ok {
			continue
		}
		st, err := e.store.GetState(c.ID)
		if err != nil {
			return "", err
		}
		switch w, why := waitState(c, st, oneShot[c.Service]); w {
		case waitExited:
			return "", fmt.Errorf("service %q: container %s exited with code %d\n%s", c.Service, c.Name, st.ExitCode, e.logTail(c, 10))
		case waitUnhealthy:
			return "", fmt.Errorf("service %q: container %s is unhealthy", c.Service, c.Name)
		case waitPending:
			pending = why
		}
	}
	return pending, nil
}

// waitStatus is where one container stands for --wait.
type waitStatus int

const (
	waitDone      waitStatus = iota // running (and healthy), or a one-shot done
	waitPending                     // not there yet
	waitExited                      // exited and will not restart: a failure
	waitUnhealthy                   // a failure
)

// waitState is where container c in state st stands; oneShot says its
// service is one others wait to complete. With waitPending comes what it
// waits for.
func waitState(c *state.Container, st *state.RuntimeState, oneShot bool) (waitStatus, string) {
	switch {
	case oneShot && st.Status == state.StatusExited && st.ExitCode == 0:
		// done, beyond Compose: a completed one-shot is not a failure
		return waitDone, ""
	case st.Status == state.StatusExited && !restarts(c, st):
		return waitExited, ""
	case st.Health == "unhealthy":
		return waitUnhealthy, ""
	case st.Status != state.StatusRunning:
		return waitPending, c.Name + " is " + string(st.Status)
	case c.Health != nil && st.Health != "healthy":
		return waitPending, c.Name + " is not healthy yet"
	}
	return waitDone, ""
}
