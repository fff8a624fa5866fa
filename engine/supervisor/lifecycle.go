package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/events"
	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/safepath"
)

// start creates and starts a container through its runtime, with this
// process holding its stdio, and returns once it runs.
func (s *Server) start(ctx context.Context, id string) error {
	m, err := s.get(id)
	if err != nil {
		return err
	}
	m.op.Lock()
	defer m.op.Unlock()
	s.mu.Lock()
	m.st.StoppedByUser = false
	running := m.pid != 0
	s.mu.Unlock()
	if running {
		return nil
	}
	return s.run(ctx, m)
}

// run starts one incarnation of the container; m.op is held.
func (s *Server) run(ctx context.Context, m *managed) error {
	rec, err := s.store.Get(m.id) // the record may have been rewritten since
	if err != nil {
		return err
	}
	m.rec = rec
	if m.rt == nil {
		if m.rt, err = s.cfg.RuntimeFor(ctx, rec.Runtime); err != nil {
			return err
		}
	}
	// Volume subpaths are bound here, before every create (a restart by
	// policy too), from paths opened afresh without following symlinks;
	// the runtime holds its own copy once it runs, so they go on return.
	unstage, err := safepath.StageDir(rec.Bundle)
	if err != nil {
		return fmt.Errorf("start container %s: %w", rec.Name, err)
	}
	defer unstage()

	logw, err := s.logWriter(m)
	if err != nil {
		return err
	}
	var opts ociruntime.CreateOpts
	opts.PidFile = filepath.Join(s.store.Dir(m.id), "init.pid")
	var sio *stdio
	if rec.Tty {
		sio, err = s.ttyStdio(m, &opts)
	} else {
		sio, err = s.pipeStdio(m, &opts)
	}
	if err != nil {
		return err
	}
	defer sio.release()

	// The resolver listens in the netns before the process starts: a
	// container that looks a name up at once must not be refused.
	s.serveDNS(m)
	s.starting.RLock()
	started := sync.OnceFunc(s.starting.RUnlock) // at registration, or on failure
	defer started()
	pid, oneCall, err := createInit(ctx, m.rt, m.id, rec.Bundle, opts)
	closeFiles(sio.closeAfter)
	if err != nil {
		for _, r := range sio.readers {
			r.f.Close()
		}
		s.unpublishDNS(m)
		return fmt.Errorf("create container %s: %w", rec.Name, err)
	}
	if rec.Tty {
		sio.awaitConsole(10 * time.Second)
	}

	s.register(m, pid)
	started()
	for _, r := range sio.readers {
		s.startCopier(m, logw, r.name, r.f)
	}

	if !oneCall {
		if err := m.rt.Start(ctx, m.id); err != nil {
			m.rt.Delete(context.Background(), m.id, true)
			s.unpublishDNS(m)
			s.reap()
			return fmt.Errorf("start container %s: %w", rec.Name, err)
		}
	}
	s.markRunning(m, pid)
	s.emit(events.ActionStart, m)
	s.startHealth(m) // health.go
	// The init may have exited before it was registered.
	s.reap()
	return nil
}

// stream is one output of a container's init that a copier drains into
// its log.
type stream struct {
	name string // "stdout" or "stderr"
	f    *os.File
}

// stdio is this process's side of one create's standard streams.
type stdio struct {
	// closeAfter are the container's ends, closed once create returns.
	closeAfter []*os.File
	// readers are drained into the log once the init is registered.
	readers []stream
	// console and consoleCh are the console socket of a tty container
	// and the pty master received on it (nil on failure).
	console   interface{ Close() error }
	consoleCh chan *os.File
	// release undoes what outlives the create (the console socket).
	release func()
}

// ttyStdio listens on a console socket for the pty master the runtime
// sends for a tty container, and receives it in the background.
func (s *Server) ttyStdio(m *managed, opts *ociruntime.CreateOpts) (*stdio, error) {
	path, ln, err := s.consoleSocket(m.id)
	if err != nil {
		return nil, err
	}
	sio := &stdio{
		console:   ln,
		consoleCh: make(chan *os.File, 1),
		release: func() {
			ln.Close()
			os.Remove(path)
		},
	}
	opts.ConsoleSocket = path
	name := m.rec.Name
	go func() {
		f, err := receiveConsole(ln)
		if err != nil {
			s.cfg.Logf("container %s: %v", name, err)
		}
		sio.consoleCh <- f
	}()
	return sio, nil
}

// pipeStdio makes the FIFOs of stdout and stderr and, for a container
// with stdin open, the pipe of its stdin, whose write end m keeps.
// FIFOs, not pipes: they outlive a killed supervisor (fifo.go).
func (s *Server) pipeStdio(m *managed, opts *ociruntime.CreateOpts) (*stdio, error) {
	outR, outW, err := makeFIFO(s.fifoPath(m.id, "stdout"))
	if err != nil {
		return nil, err
	}
	errR, errW, err := makeFIFO(s.fifoPath(m.id, "stderr"))
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	opts.Stdout, opts.Stderr = outW, errW
	sio := &stdio{
		closeAfter: []*os.File{outW, errW},
		readers:    []stream{{"stdout", outR}, {"stderr", errR}},
		release:    func() {},
	}
	if m.rec.StdinOpen {
		inR, inW, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		opts.Stdin = inR
		sio.closeAfter = append(sio.closeAfter, inR)
		if m.stdin != nil {
			m.stdin.Close()
		}
		m.stdin = inW
	}
	return sio, nil
}

// awaitConsole adds the pty master of a tty container to the readers once
// the runtime has sent it, or gives up on it after wait.
func (sio *stdio) awaitConsole(wait time.Duration) {
	select {
	case f := <-sio.consoleCh:
		if f != nil {
			sio.readers = append(sio.readers, stream{"stdout", f})
		}
	case <-time.After(wait):
		sio.console.Close()
	}
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// createInit creates the container's init through rt, started already
// when rt can do both in one call (oneCall). A run interrupted between
// create and start (a killed supervisor) leaves the runtime's record: on
// failure it is cleared and the create tried once more. Every other exit
// path deletes it already, which saves a runtime call per start.
func createInit(ctx context.Context, rt ociruntime.Runtime, id, bundle string, opts ociruntime.CreateOpts) (pid int, oneCall bool, err error) {
	create := rt.Create
	cs, oneCall := rt.(ociruntime.CreateStarter)
	if oneCall {
		create = cs.CreateStarted
	}
	pid, err = create(ctx, id, bundle, opts)
	if err != nil {
		if derr := rt.Delete(ctx, id, true); derr == nil {
			pid, err = create(ctx, id, bundle, opts)
		}
	}
	return pid, oneCall, err
}

// register makes pid the container's running init, whose exit reap
// collects, and stops the idle timer.
func (s *Server) register(m *managed, pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.pid = pid
	m.exited = make(chan struct{})
	s.byPid[pid] = m
	if s.idle != nil {
		s.idle.Stop()
	}
}

// markRunning records the container as running with init pid, unless
// that init has been reaped already.
func (s *Server) markRunning(m *managed, pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().UTC()
	m.started = now
	if m.pid == pid { // not already reaped
		m.st.Status = state.StatusRunning
		m.st.Pid = pid
		m.st.StartedAt = now
		m.st.Error = ""
		s.putState(m)
	}
}

// reap collects the exit of every container init that has ended.
func (s *Server) reap() {
	s.reapMu.Lock()
	defer s.reapMu.Unlock()
	s.mu.Lock()
	pids := make([]int, 0, len(s.byPid))
	for pid := range s.byPid {
		pids = append(pids, pid)
	}
	s.mu.Unlock()
	for _, pid := range pids {
		code, done := waitInit(pid)
		if !done {
			continue
		}
		s.mu.Lock()
		m := s.byPid[pid]
		delete(s.byPid, pid)
		s.mu.Unlock()
		if m != nil {
			go s.exited(m, pid, code)
		}
	}
	// Not while an init may be made and not registered yet (starting):
	// the zombies left are reaped at a later SIGCHLD.
	if !s.starting.TryLock() {
		return
	}
	defer s.starting.Unlock()
	reapOrphans(func(pid int) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, ok := s.byPid[pid]
		return ok
	})
}

// waitInit collects the exit of a container init, if it has ended: its
// code (the shell's: 128+signal when killed), or 255 when it is gone
// without a status for us. An init that is not (yet) our child is left
// alone: crun's `create` returns before its helper process, the init's
// parent until then, has exited, and only then is the init reparented to
// us, the subreaper (its exit, or its end as a zombie, sends SIGCHLD).
func waitInit(pid int) (code int, done bool) {
	defer func() {
		if done {
			notOursSince.Delete(pid)
		}
	}()
	var ws unix.WaitStatus
	got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	switch {
	case errors.Is(err, unix.ECHILD):
		if unix.Kill(pid, 0) != unix.ESRCH {
			// alive, another's child for now; not forever: a process
			// that never comes to us is recorded gone, as before
			first, _ := notOursSince.LoadOrStore(pid, time.Now())
			if time.Since(first.(time.Time)) < notOursGrace {
				return 0, false
			}
		}
		return 255, true // gone, reaped by another: no code to be had
	case err != nil || got != pid:
		return 0, false
	case ws.Exited(), ws.Signaled():
		return exitCode(ws), true // keeper.go
	}
	return 0, false
}

// notOursSince is when waitInit first found a live init not its child;
// notOursGrace bounds how long it waits for the init to come to it.
var notOursSince sync.Map

const notOursGrace = 2 * time.Second

// exited records a container's exit and applies its restart policy.
func (s *Server) exited(m *managed, pid, code int) {
	s.stopHealth(m) // health.go
	waitTimeout(&m.copiers, 2*time.Second)
	ctx := context.Background()
	s.mu.Lock()
	deleted := m.deleted
	m.deleted = false
	s.mu.Unlock()
	if m.rt != nil && !deleted {
		m.rt.Delete(ctx, m.id, true)
	}
	s.mu.Lock()
	if m.pid != pid {
		s.mu.Unlock()
		return
	}
	ran := time.Since(m.started)
	s.mu.Unlock()
	s.unpublishDNS(m)
	s.mu.Lock()
	if m.pid != pid {
		s.mu.Unlock()
		return
	}
	m.pid = 0
	m.st.Pid = 0
	m.st.ExitCode = code
	m.st.FinishedAt = time.Now().UTC()
	m.st.Status = state.StatusExited
	policy, _ := ParsePolicy(m.rec.Restart)
	restart := !m.removed && policy.ShouldRestart(code, m.st.RestartCount, m.st.StoppedByUser)
	if restart {
		m.st.Status = state.StatusRestarting
	}
	s.putState(m)
	s.emit(events.ActionDie, m, events.AttrExitCode, strconv.Itoa(code))
	close(m.exited)
	s.armIdleLocked()
	s.mu.Unlock()
	s.cfg.Logf("container %s exited with code %d", m.rec.Name, code)
	if !restart {
		if m.rec.Labels[LabelAutoRemove] == "true" && !m.removed && s.cfg.AutoRemove != nil {
			go s.cfg.AutoRemove(m.id)
		}
		return
	}
	delay := m.backoff.Next(ran)
	time.AfterFunc(delay, func() {
		m.op.Lock()
		defer m.op.Unlock()
		s.mu.Lock()
		stillWanted := !m.removed && !m.st.StoppedByUser && m.pid == 0
		if stillWanted {
			m.st.RestartCount++
		}
		s.mu.Unlock()
		if !stillWanted {
			s.mu.Lock()
			if m.st.Status == state.StatusRestarting {
				m.st.Status = state.StatusExited
				s.putState(m)
			}
			s.armIdleLocked()
			s.mu.Unlock()
			return
		}
		if err := s.run(ctx, m); err != nil {
			s.cfg.Logf("container %s: restart: %v", m.rec.Name, err)
			s.mu.Lock()
			m.st.Status = state.StatusExited
			m.st.Error = err.Error()
			s.putState(m)
			s.armIdleLocked()
			s.mu.Unlock()
		}
	})
}

func waitTimeout(wg interface{ Wait() }, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// stop sends the stop signal, waits up to timeout for the exit, then
// kills. A stopped container is not restarted by its policy.
func (s *Server) stop(ctx context.Context, id, signal string, timeout time.Duration) error {
	m, err := s.get(id)
	if err != nil {
		return err
	}
	m.op.Lock()
	defer m.op.Unlock()
	return s.stopLocked(ctx, m, signal, timeout)
}

func (s *Server) stopLocked(ctx context.Context, m *managed, signal string, timeout time.Duration) error {
	s.mu.Lock()
	m.st.StoppedByUser = true
	pid, exited := m.pid, m.exited
	if pid == 0 && m.st.Status == state.StatusRestarting {
		m.st.Status = state.StatusExited
	}
	s.putState(m)
	s.mu.Unlock()
	if pid == 0 {
		return nil
	}
	sig, timeout, err := stopSettings(m.rec, signal, timeout)
	if err != nil {
		return err
	}
	if m.st.Status == state.StatusPaused {
		m.rt.Resume(ctx, m.id)
	}
	defer s.emit(events.ActionStop, m)
	// Signals go straight to the container's init (what `runc kill`
	// without --all does, without a runtime process per signal); killing
	// the init of a pid namespace ends everything in it.
	if timeout > 0 {
		if done, err := s.signalAndWait(ctx, m, pid, sig, timeout, exited); done {
			return err
		}
	}
	return s.killAndWait(ctx, m, pid, exited)
}

// stopSettings resolves the signal and grace period of a stop: the ones
// asked for, else the container's stop_signal and stop_grace_period, else
// SIGTERM (ParseSignal of "") and 10 seconds. A negative timeout means
// none was asked for; zero means kill at once.
func stopSettings(rec *state.Container, signal string, timeout time.Duration) (syscall.Signal, time.Duration, error) {
	if signal == "" {
		signal = rec.StopSignal
	}
	sig, err := ParseSignal(signal)
	if err != nil {
		return 0, 0, err
	}
	if timeout < 0 {
		timeout = rec.StopTimeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
	}
	return sig, timeout, nil
}

// signalAndWait sends sig to the init and waits up to timeout for it to
// exit. done says the stop is over, with err the result.
func (s *Server) signalAndWait(ctx context.Context, m *managed, pid int, sig syscall.Signal, timeout time.Duration, exited <-chan struct{}) (done bool, err error) {
	s.emit(events.ActionKill, m, events.AttrSignal, strconv.Itoa(int(sig)))
	if err := syscall.Kill(pid, sig); err != nil {
		s.cfg.Logf("container %s: kill %v: %v", m.rec.Name, sig, err)
	}
	select {
	case <-exited:
		return true, nil
	case <-time.After(timeout):
		return false, nil
	case <-ctx.Done():
		return true, ctx.Err()
	}
}

// killAndWait kills the init and waits for its exit; after a second it
// kills everything in the container's cgroup too: a container sharing
// the host's pid namespace outlives its init's death.
func (s *Server) killAndWait(ctx context.Context, m *managed, pid int, exited <-chan struct{}) error {
	syscall.Kill(pid, syscall.SIGKILL)
	select {
	case <-exited:
		return nil
	case <-time.After(time.Second):
		if err := m.rt.Kill(ctx, m.id, syscall.SIGKILL, true); err != nil && !errors.Is(err, ociruntime.ErrNotFound) {
			s.cfg.Logf("container %s: kill --all: %v", m.rec.Name, err)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("container %s did not exit after SIGKILL", m.rec.Name)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kill sends a signal; by default SIGKILL, which also counts as a stop.
func (s *Server) kill(ctx context.Context, id, signal string) error {
	m, err := s.get(id)
	if err != nil {
		return err
	}
	if signal == "" {
		signal = "SIGKILL"
	}
	sig, err := ParseSignal(signal)
	if err != nil {
		return err
	}
	s.mu.Lock()
	pid := m.pid
	if sig == syscall.SIGKILL {
		m.st.StoppedByUser = true
		s.putState(m)
	}
	s.mu.Unlock()
	if pid == 0 {
		return fmt.Errorf("container %s is not running", m.rec.Name)
	}
	if err := m.rt.Kill(ctx, m.id, sig, false); err != nil {
		return err
	}
	s.emit(events.ActionKill, m, events.AttrSignal, strconv.Itoa(int(sig)))
	return nil
}

// remove stops a container (at once) and forgets it.
func (s *Server) remove(ctx context.Context, id string) error {
	m, err := s.get(id)
	if err != nil {
		return err
	}
	m.op.Lock()
	defer m.op.Unlock()
	s.stopHealth(m) // health.go
	if err := s.stopLocked(ctx, m, "SIGKILL", 0); err != nil {
		return err
	}
	// exited() deleted the runtime's record already (and a container
	// never started has none).
	s.unpublishDNS(m)
	s.closeDNS(m)
	s.mu.Lock()
	m.removed = true
	if m.logw != nil {
		m.logw.Close()
	}
	if m.stdin != nil {
		m.stdin.Close()
	}
	delete(s.containers, id)
	s.mu.Unlock()
	s.removeFIFOs(id)
	return nil
}

func (s *Server) pause(ctx context.Context, id string, pause bool) error {
	m, err := s.get(id)
	if err != nil {
		return err
	}
	m.op.Lock()
	defer m.op.Unlock()
	if m.pid == 0 {
		return fmt.Errorf("container %s is not running", m.rec.Name)
	}
	if pause {
		err = m.rt.Pause(ctx, m.id)
	} else {
		err = m.rt.Resume(ctx, m.id)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	if pause {
		m.st.Status = state.StatusPaused
	} else {
		m.st.Status = state.StatusRunning
	}
	s.putState(m)
	s.mu.Unlock()
	if pause {
		s.emit(events.ActionPause, m)
	} else {
		s.emit(events.ActionUnpause, m)
	}
	return nil
}
