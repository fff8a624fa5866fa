package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
)

// Health statuses, with Docker's names (RuntimeState.Health).
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Docker's healthcheck defaults, used for the fields a record leaves zero.
const (
	DefaultHealthInterval      = 30 * time.Second
	DefaultHealthTimeout       = 30 * time.Second
	DefaultHealthStartInterval = 5 * time.Second
	DefaultHealthRetries       = 3
)

// Docker keeps the last 5 results, each with at most 4 KiB of output.
const (
	healthLogLen    = 5
	healthOutputMax = 4096
)

// After a probe's process is killed, how long its runtime gets to report
// the exit before it is killed too, and how long the output is drained.
const (
	probeKillGrace = 2 * time.Second
	probeDrain     = 500 * time.Millisecond
)

// prober is the healthcheck loop of one run of a container.
type prober struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the loop has returned
}

// startHealth starts probing a container that has just started, when its
// record has a healthcheck; its status becomes "starting". It replaces a
// loop left from an earlier run. Called with m.op held, not s.mu.
func (s *Server) startHealth(m *managed) {
	s.stopHealth(m)
	s.mu.Lock()
	hc := m.rec.Health
	pid := m.pid
	if hc == nil || pid == 0 || m.removed {
		if hc == nil && m.st.Health != "" {
			m.st.Health, m.st.FailingStreak = "", 0
			s.putState(m)
		}
		s.mu.Unlock()
		return
	}
	cfg := healthDefaults(*hc)
	changed := m.st.Health != HealthStarting
	m.st.Health, m.st.FailingStreak = HealthStarting, 0
	s.putState(m)
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{cancel: cancel, done: make(chan struct{})}
	m.health = p
	run := probeRun{pid: pid, started: m.started, bundle: m.rec.Bundle, rt: m.rt}
	s.mu.Unlock()

	go s.probeLoop(ctx, m, p, cfg, run)
	if changed {
		s.healthChanged(m, HealthStarting)
	}
}

// stopHealth stops a container's healthcheck loop and waits (a bounded
// time) until it has returned: no probe result is recorded after it.
// Called without s.mu.
func (s *Server) stopHealth(m *managed) {
	s.mu.Lock()
	p := m.health
	m.health = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	p.cancel()
	select {
	case <-p.done:
	case <-time.After(probeKillGrace + probeDrain + time.Second):
		s.cfg.Logf("container %s: healthcheck did not stop", m.rec.Name)
	}
}

// healthChanged calls the onHealth hook, without s.mu held. The hook must
// not block: it runs on the probe loop (or, for "starting", on the
// container's start with m.op held), so work that stops or starts the
// container belongs in a goroutine of its own.
func (s *Server) healthChanged(m *managed, status string) {
	if s.onHealth != nil {
		s.onHealth(m, status)
	}
}

func healthDefaults(hc state.HealthConfig) state.HealthConfig {
	if hc.Interval <= 0 {
		hc.Interval = DefaultHealthInterval
	}
	if hc.Timeout <= 0 {
		hc.Timeout = DefaultHealthTimeout
	}
	if hc.StartInterval <= 0 {
		hc.StartInterval = DefaultHealthStartInterval
	}
	if hc.StartPeriod < 0 {
		hc.StartPeriod = 0
	}
	if hc.Retries <= 0 {
		hc.Retries = DefaultHealthRetries
	}
	return hc
}

// probeRun is the run of a container a probe loop is for.
type probeRun struct {
	pid     int // its init
	started time.Time
	bundle  string
	rt      ociruntime.Runtime
}

// probeLoop probes one run of a container until ctx is done or that run
// has ended. Probes never overlap: the next wait starts when a probe has
// finished. During the start period and until the first success, probes
// come every StartInterval, then every Interval.
func (s *Server) probeLoop(ctx context.Context, m *managed, p *prober, hc state.HealthConfig, run probeRun) {
	defer close(p.done)
	defer p.cancel()
	var base *specs.Process
	for {
		s.mu.Lock()
		health := m.st.Health
		s.mu.Unlock()
		wait := hc.Interval
		if health == HealthStarting && hc.StartPeriod > 0 && time.Since(run.started) < hc.StartPeriod {
			wait = hc.StartInterval
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		s.mu.Lock()
		paused := m.st.Status == state.StatusPaused
		s.mu.Unlock()
		if paused {
			// An exec in a frozen container would only time out.
			continue
		}
		if base == nil {
			spec, err := ociruntime.ReadBundle(run.bundle)
			if err == nil && spec.Process != nil {
				base = spec.Process
			} else if err == nil {
				err = errors.New("bundle has no process")
			}
			if err != nil {
				now := time.Now()
				res := state.HealthResult{Start: now, End: now, ExitCode: -1, Output: err.Error()}
				if !s.recordHealth(ctx, m, p, hc, run, res) {
					return
				}
				continue
			}
		}
		res := s.probe(ctx, m.id, run.rt, base, hc)
		if !s.recordHealth(ctx, m, p, hc, run, res) {
			return
		}
	}
}

// recordHealth applies one probe result as Docker does: a success makes
// the container healthy and resets the failing streak; a failure adds to
// the streak (not while still starting within the start period) and
// makes it unhealthy once the streak reaches Retries. It reports false,
// recording nothing, when the loop is to end: stopped, or the run it
// probes is over.
func (s *Server) recordHealth(ctx context.Context, m *managed, p *prober, hc state.HealthConfig, run probeRun, res state.HealthResult) bool {
	s.mu.Lock()
	if ctx.Err() != nil || m.removed || m.pid != run.pid || m.health != p {
		s.mu.Unlock()
		return false
	}
	st := m.st
	old := st.Health
	if len(res.Output) > healthOutputMax {
		res.Output = res.Output[:healthOutputMax]
	}
	st.HealthLog = append(st.HealthLog, res)
	if n := len(st.HealthLog); n > healthLogLen {
		st.HealthLog = append([]state.HealthResult(nil), st.HealthLog[n-healthLogLen:]...)
	}
	if res.ExitCode == 0 {
		st.FailingStreak = 0
		st.Health = HealthHealthy
	} else if st.Health != HealthStarting || res.Start.Sub(run.started) >= hc.StartPeriod {
		st.FailingStreak++
		if st.FailingStreak >= hc.Retries {
			st.Health = HealthUnhealthy
		}
	}
	status := st.Health
	s.putState(m)
	s.mu.Unlock()
	if status != old {
		s.cfg.Logf("container %s: health %s", m.rec.Name, status)
		s.healthChanged(m, status)
	}
	return true
}

// probeArgs turns a healthcheck test into the argv to exec.
func probeArgs(test []string) ([]string, error) {
	if len(test) >= 2 {
		switch test[0] {
		case "CMD":
			return test[1:], nil
		case "CMD-SHELL":
			return []string{"/bin/sh", "-c", test[1]}, nil
		}
	}
	return nil, fmt.Errorf("healthcheck test %q: want [CMD args...] or [CMD-SHELL command]", test)
}

// probe runs the test once in the container, as its own process runs
// (env, user, cwd, capabilities), with stdout and stderr combined. A
// probe that outlives Timeout is killed and counts as a failure.
func (s *Server) probe(ctx context.Context, id string, rt ociruntime.Runtime, base *specs.Process, hc state.HealthConfig) state.HealthResult {
	res := state.HealthResult{Start: time.Now()}
	fail := func(err error) state.HealthResult {
		res.End, res.ExitCode, res.Output = time.Now(), -1, err.Error()
		return res
	}
	args, err := probeArgs(hc.Test)
	if err != nil {
		return fail(err)
	}
	proc := ociruntime.ExecProcess(base, args, nil, "", false)

	po, err := captureProbeOutput()
	if err != nil {
		return fail(err)
	}
	defer po.r.Close()

	pidFile := filepath.Join(s.store.Dir(id), "health-probe.pid")
	os.Remove(pidFile)
	defer os.Remove(pidFile)
	// tctx ends at the probe's deadline or when probing stops. The runtime
	// is killed only after the probe's own process (below), so that it
	// still reaps that process; only an exec that has not even started by
	// then is cut short at once.
	tctx, cancelT := context.WithTimeout(ctx, hc.Timeout)
	defer cancelT()
	execCtx, cancelExec := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelExec()
	stopCut := context.AfterFunc(tctx, cancelExec)
	ex, err := rt.Exec(execCtx, id, proc, ociruntime.ExecOpts{Stdout: po.w, Stderr: po.w, PidFile: pidFile})
	stopCut()
	po.w.Close()
	if err != nil {
		if tctx.Err() != nil {
			return probeCut(ctx, res, hc)
		}
		return fail(fmt.Errorf("healthcheck exec: %w", err))
	}
	exited := make(chan probeExit, 1)
	go func() {
		code, err := ex.Wait()
		exited <- probeExit{code, err}
	}()
	select {
	case e := <-exited:
		select {
		case <-po.drained:
		case <-time.After(probeDrain):
		}
		return probeDone(res, e, po.out.String())
	case <-tctx.Done():
	}
	killProbe(pidFile, exited, cancelExec)
	return probeCut(ctx, res, hc)
}

// probeOutput captures a probe's output through a pipe, not a buffer: a
// process the probe leaves behind that holds stdout must not keep the
// runtime's Wait from returning.
type probeOutput struct {
	r, w    *os.File
	out     *capped
	drained chan struct{} // closed once r is at its end
}

// captureProbeOutput makes the pipe and copies what comes out of it into
// a buffer of at most healthOutputMax bytes.
func captureProbeOutput() (*probeOutput, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	po := &probeOutput{r: r, w: w, out: &capped{max: healthOutputMax}, drained: make(chan struct{})}
	go func() {
		defer close(po.drained)
		io.Copy(po.out, r)
	}()
	return po, nil
}

// probeExit is how a probe's exec ended.
type probeExit struct {
	code int
	err  error
}

// probeDone is the result of a probe that ran to its end: its exit code
// and output, or -1 and the error when its exit could not be waited for.
func probeDone(res state.HealthResult, e probeExit, output string) state.HealthResult {
	res.End, res.ExitCode = time.Now(), e.code
	res.Output = output
	if e.err != nil {
		res.ExitCode = -1
		res.Output = e.err.Error()
	}
	return res
}

// killProbe ends a probe that timed out or was stopped: it kills the
// probe's process in the container, gives the runtime a moment to see it
// go, then kills the runtime (cancelExec).
func killProbe(pidFile string, exited <-chan probeExit, cancelExec func()) {
	if pid, ok := awaitPid(pidFile, exited, probeKillGrace/2); ok {
		unix.Kill(pid, unix.SIGKILL)
	} else {
		cancelExec()
	}
	select {
	case <-exited:
	case <-time.After(probeKillGrace):
		cancelExec()
		select {
		case <-exited:
		case <-time.After(probeKillGrace):
		}
	}
}

// awaitPid reads the probe's pid file, waiting up to grace while the
// runtime (slow to start the process on a loaded host) has not written it
// yet: killing the runtime then would leave its process, or the runtime's
// own stage that was to become it, in the container until the container
// ends. It gives up at once when the runtime has exited (exited holds its
// result, left for the caller).
func awaitPid(pidFile string, exited <-chan probeExit, grace time.Duration) (int, bool) {
	deadline := time.Now().Add(grace)
	for {
		if pid, err := readPid(pidFile); err == nil {
			return pid, true
		}
		if len(exited) > 0 || time.Now().After(deadline) {
			return 0, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// probeCut is the result of a probe that was cut short.
func probeCut(ctx context.Context, res state.HealthResult, hc state.HealthConfig) state.HealthResult {
	res.End, res.ExitCode = time.Now(), -1
	res.Output = fmt.Sprintf("Health check exceeded timeout (%v)", hc.Timeout)
	if ctx.Err() != nil {
		res.Output = "health check stopped"
	}
	return res
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: bad content %q", path, b)
	}
	return pid, nil
}

// capped keeps the first max bytes written to it and discards the rest
// (still consuming it, so the writer never blocks).
type capped struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}
