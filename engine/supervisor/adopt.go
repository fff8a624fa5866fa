package supervisor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/logs"
	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
)

// adoptLeftovers takes over the containers of the project that a previous
// supervisor left when it was killed (its keeper starts this one at once,
// keeper.go). A container still running is watched again: its exit is
// seen through a pidfd and its code read from what the keeper, which
// reaped it, recorded; its logs are read again from its FIFOs; its health
// check and DNS resume. One that ended meanwhile, or that was waiting for a
// restart, has its exit recorded and its restart policy applied.
func (s *Server) adoptLeftovers(ctx context.Context) {
	recs, err := s.store.List(s.cfg.Project)
	if err != nil {
		s.cfg.Logf("adopt: list containers: %v", err)
		return
	}
	for _, rec := range recs {
		st, err := s.store.GetState(rec.ID)
		if err != nil || (st.Status != state.StatusRunning && st.Status != state.StatusPaused && st.Status != state.StatusRestarting) {
			continue
		}
		m, err := s.get(rec.ID)
		if err == nil {
			m.rt, err = s.cfg.RuntimeFor(ctx, m.rec.Runtime)
		}
		if err != nil {
			s.cfg.Logf("container %s: adopt: %v", rec.Name, err)
			continue
		}
		s.adopt(ctx, m)
	}
}

// adopt watches one left container again, or records that it ended.
func (s *Server) adopt(ctx context.Context, m *managed) {
	pid := m.st.Pid
	s.mu.Lock()
	m.exited = make(chan struct{})
	m.started = m.st.StartedAt
	m.pid = pid
	s.mu.Unlock()
	if pid > 0 {
		if pidfd, ok := s.stillRunning(ctx, m, pid); ok {
			s.cfg.Logf("container %s: adopted (pid %d)", m.rec.Name, pid)
			s.watchAdopted(m, pid, pidfd)
			return
		}
	}
	code := m.st.ExitCode
	if pid > 0 {
		code = s.awaitExit(pid, time.Second)
	}
	s.cfg.Logf("container %s: ended while no supervisor ran (code %d)", m.rec.Name, code)
	go s.exited(m, pid, code) // records it, applies the restart policy
}

// stillRunning returns a pidfd on pid when pid is still the container's
// init. The pidfd is taken first and the runtime (which checks the
// process's start time) asked second, so the pidfd cannot be a recycled
// pid's.
func (s *Server) stillRunning(ctx context.Context, m *managed, pid int) (int, bool) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return -1, false
	}
	st, err := m.rt.State(ctx, m.id)
	if err != nil || st.Pid != pid || (st.Status != ociruntime.StatusRunning && st.Status != ociruntime.StatusPaused) {
		unix.Close(fd)
		return -1, false
	}
	return fd, true
}

// watchAdopted resumes logs, DNS and health checks of an adopted
// container and waits for its exit. It is no child of this process, so
// reap() does not see it (m is not in byPid).
func (s *Server) watchAdopted(m *managed, pid, pidfd int) {
	os.Remove(s.exitPath(pid)) // the process lives: any record is stale
	if logw, err := s.logWriter(m); err != nil {
		s.cfg.Logf("container %s: %v", m.rec.Name, err)
	} else {
		for _, stream := range []string{"stdout", "stderr"} {
			f, err := openFIFOReader(s.fifoPath(m.id, stream))
			if err != nil { // a tty container, or one from before FIFOs
				continue
			}
			s.startCopier(m, logw, stream, f)
		}
	}
	s.serveDNS(m)
	s.startHealth(m) // health.go
	go func() {
		waitPidfd(pidfd)
		s.exited(m, pid, s.awaitExit(pid, 3*time.Second))
	}()
}

// startCopier copies one stream of a container into its log.
func (s *Server) startCopier(m *managed, logw *logs.Writer, stream string, f *os.File) {
	m.copiers.Add(1)
	go func() {
		defer m.copiers.Done()
		defer f.Close()
		if err := logw.Copy(stream, f); err != nil && !errors.Is(err, os.ErrClosed) && !errors.Is(err, syscall.EIO) {
			s.cfg.Logf("container %s: log copy: %v", m.rec.Name, err)
		}
	}()
}

// waitPidfd returns once the process behind pidfd has exited.
func waitPidfd(pidfd int) {
	ready := func(fd int) bool {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
		return err == nil && n > 0
	}
	f := os.NewFile(uintptr(pidfd), "pidfd") // pollable: it is non-blocking
	defer f.Close()
	if rc, err := f.SyscallConn(); err == nil {
		if rc.Read(func(fd uintptr) bool { return ready(int(fd)) }) == nil {
			return
		}
	}
	for { // not pollable by Go: block a thread instead
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLIN}}, -1)
		if n > 0 || (err != nil && err != unix.EINTR) {
			return
		}
	}
}

func (s *Server) exitPath(pid int) string {
	return filepath.Join(s.paths.Exits, strconv.Itoa(pid))
}

// awaitExit returns the exit code the keeper recorded for pid, waiting
// up to d for it (the keeper reaps the orphan an instant after it dies);
// 255 when none comes (the keeper itself was killed).
func (s *Server) awaitExit(pid int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		if b, err := os.ReadFile(s.exitPath(pid)); err == nil {
			os.Remove(s.exitPath(pid))
			if code, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return code
			}
		}
		if time.Now().After(deadline) {
			return 255
		}
		time.Sleep(10 * time.Millisecond)
	}
}
