package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/events"
	"github.com/berth-dev/berth/engine/logs"
	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/internal/layout"
	"github.com/berth-dev/berth/network/dns"
)

// Config configures a supervisor.
type Config struct {
	Project string
	Root    string // berth state root
	RunDir  string
	// RuntimeFor returns the OCI runtime a container record names.
	RuntimeFor func(ctx context.Context, name string) (ociruntime.Runtime, error)
	// IdleExit is how long the supervisor lingers with no running
	// container before it exits (default 1s).
	IdleExit time.Duration
	// Logf reports what the supervisor does (to its log file).
	Logf func(format string, args ...any)
	// AutoRemove, when set, is called (in its own goroutine) for a
	// container labelled LabelAutoRemove once it exits for good (docker
	// run --rm -d); it must not wait for the supervisor.
	AutoRemove func(id string)
}

// LabelAutoRemove marks a container to be removed when it exits and its
// restart policy does not run it again (docker run --rm).
const LabelAutoRemove = "dev.berth.autoremove"

// Server is a running supervisor.
type Server struct {
	cfg   Config
	paths Paths
	store *state.Store

	mu     sync.Mutex
	reapMu sync.Mutex // one reap at a time: two wait4 on one pid give one ECHILD
	// starting is read-held from a runtime's create until the init is
	// registered: meanwhile the init may already be a zombie here that
	// reapOrphans must not take for a stray, so it skips a round then.
	starting   sync.RWMutex
	containers map[string]*managed // by container ID
	byPid      map[int]*managed
	idle       *time.Timer
	trim       *time.Timer
	ln         net.Listener
	inflight   int

	dnsTable  *dns.Table
	dnsServer *dns.Server
	events    *events.Log

	// onHealth, when set, is called on each health status change (see
	// health.go).
	onHealth func(m *managed, status string)
}

type managed struct {
	id string
	// op serializes start/stop/remove of one container.
	op sync.Mutex

	rec     *state.Container
	st      *state.RuntimeState
	rt      ociruntime.Runtime
	pid     int
	started time.Time
	exited  chan struct{} // closed when the current run ends
	copiers sync.WaitGroup
	logw    *logs.Writer
	stdin   *os.File // held open for stdin_open
	backoff Backoff
	removed bool
	deleted bool          // the runtime's record is gone already (stop deleted it)
	dns     *dns.Listener // the resolver in its netns
	health  *prober       // the running healthcheck (health.go); under Server.mu
}

// Run serves until the project has had no running container for
// IdleExit, or ctx is done.
func Run(ctx context.Context, cfg Config) error {
	s := newServer(cfg)
	cfg = s.cfg
	if err := privateDir(s.paths.Dir); err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	lock, err := fsutil.Acquire(lctx, s.paths.Lock)
	cancel()
	if err != nil {
		return fmt.Errorf("another supervisor holds project %s: %w", cfg.Project, err)
	}
	defer lock.Release()

	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become child subreaper: %w", err)
	}
	protectFromOOM(cfg.Logf)
	sigchld := make(chan os.Signal, 16)
	signal.Notify(sigchld, syscall.SIGCHLD)
	defer signal.Stop(sigchld)

	s.adoptLeftovers(ctx)

	ln, unlisten, err := s.listen()
	if err != nil {
		return err
	}
	defer unlisten()
	cfg.Logf("supervisor for project %s serving on %s", cfg.Project, s.paths.Socket)

	go s.reapOnSIGCHLD(ctx, sigchld, ln)
	s.mu.Lock()
	s.armIdleLocked()
	s.mu.Unlock()
	return s.accept(ctx, ln)
}

// newServer makes the server of cfg's project, with cfg's defaults
// filled in: an idle exit after a second, logs dropped.
func newServer(cfg Config) *Server {
	if cfg.IdleExit == 0 {
		cfg.IdleExit = time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Server{
		cfg:        cfg,
		paths:      PathsFor(cfg.RunDir, cfg.Project),
		store:      state.NewStore(layout.Layout{Root: cfg.Root}.Containers()),
		containers: map[string]*managed{},
		byPid:      map[int]*managed{},
		events:     events.New(layout.Layout{Root: cfg.Root}.Events()),
	}
	s.onHealth = func(m *managed, status string) {
		if status != HealthStarting {
			s.emit(events.ActionHealthStatus, m, events.AttrHealthStatus, status)
		}
	}
	return s
}

// listen serves the project's socket (mode 0600 whatever the umask; the
// directory is 0700 already) and writes the pid file; unlisten removes
// both.
func (s *Server) listen() (ln net.Listener, unlisten func(), err error) {
	os.Remove(s.paths.Socket)
	ln, err = net.Listen("unix", s.paths.Socket)
	if err != nil {
		return nil, nil, err
	}
	s.ln = ln
	if err := os.Chmod(s.paths.Socket, 0o600); err != nil {
		os.Remove(s.paths.Socket)
		return nil, nil, err
	}
	if err := fsutil.WriteFile(s.paths.Pid, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		os.Remove(s.paths.Socket)
		return nil, nil, err
	}
	return ln, func() {
		os.Remove(s.paths.Pid)
		os.Remove(s.paths.Socket)
	}, nil
}

// reapOnSIGCHLD reaps on every SIGCHLD until ctx is done, then closes ln
// to end accept.
func (s *Server) reapOnSIGCHLD(ctx context.Context, sigchld <-chan os.Signal, ln net.Listener) {
	for {
		select {
		case <-sigchld:
			s.reap()
		case <-ctx.Done():
			ln.Close()
			return
		}
	}
}

// accept serves each authorized connection on ln until ln is closed; an
// open connection holds off the idle exit.
func (s *Server) accept(ctx context.Context, ln net.Listener) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if err := authorize(conn); err != nil {
			s.cfg.Logf("supervisor socket: %v", err)
			conn.Close()
			continue
		}
		s.mu.Lock()
		s.inflight++
		if s.idle != nil {
			s.idle.Stop()
		}
		s.mu.Unlock()
		go s.serve(ctx, conn)
	}
}

func (s *Server) serve(ctx context.Context, conn net.Conn) {
	defer func() {
		conn.Close()
		s.mu.Lock()
		s.inflight--
		s.armIdleLocked()
		s.armTrimLocked()
		s.mu.Unlock()
	}()
	var req Request
	dec := json.NewDecoder(conn)
	if err := dec.Decode(&req); err != nil {
		return
	}
	if req.Op == OpStdin {
		s.serveStdin(conn, dec, req) // a stream, not one answer (stdin.go)
		return
	}
	resp := s.handle(ctx, req)
	json.NewEncoder(conn).Encode(resp)
	if req.Op == OpExit && resp.Error == "" {
		s.mu.Lock()
		// not while another request is served: the idle timer will do
		if s.inflight == 1 && s.runningLocked() == 0 {
			s.closeLocked()
		}
		s.mu.Unlock()
	}
}

// closeLocked stops serving, so Run returns and the process exits. The
// socket goes first so a new client starts a fresh supervisor instead of
// reaching this one.
func (s *Server) closeLocked() {
	if s.ln == nil {
		return
	}
	os.Remove(s.paths.Socket)
	s.ln.Close()
}

func (s *Server) handle(ctx context.Context, req Request) *Response {
	var err error
	resp := &Response{}
	switch req.Op {
	case OpPing:
		resp.Pid = os.Getpid()
	case OpStart:
		err = s.start(ctx, req.ID)
	case OpStop:
		err = s.stop(ctx, req.ID, req.Signal, req.Timeout)
	case OpKill:
		err = s.kill(ctx, req.ID, req.Signal)
	case OpRestart:
		if err = s.stop(ctx, req.ID, "", req.Timeout); err == nil {
			err = s.start(ctx, req.ID)
		}
	case OpRemove:
		err = s.remove(ctx, req.ID)
	case OpPause, OpResume:
		err = s.pause(ctx, req.ID, req.Op == OpPause)
	case OpServeDNS:
		var m *managed
		if m, err = s.get(req.ID); err == nil {
			s.serveDNS(m)
		}
	case OpUnserveDNS:
		err = s.unserveDNS(req.ID)
	case OpExit:
		s.mu.Lock()
		if n := s.runningLocked(); n > 0 {
			err = fmt.Errorf("%d containers of project %s still run or are served", n, s.cfg.Project)
		}
		s.mu.Unlock()
	case OpList:
		resp.States = s.list()
	default:
		err = fmt.Errorf("unknown op %q", req.Op)
	}
	if err != nil {
		resp.Error = err.Error()
	}
	return resp
}

// armTrimLocked schedules trimResident for a moment after the last
// request: by then the CLI that sent it has exited, and the pages of the
// binary it shared are this process's alone, so they can be dropped.
func (s *Server) armTrimLocked() {
	if s.trim != nil {
		s.trim.Stop()
	}
	s.trim = time.AfterFunc(500*time.Millisecond, func() {
		trimResident()
		// once more, for pages a slow CLI still shared the first time
		time.AfterFunc(3*time.Second, trimResident)
	})
}

// armIdleLocked starts the idle-exit timer when nothing runs and no
// request is being served.
func (s *Server) armIdleLocked() {
	if s.inflight > 0 || s.runningLocked() > 0 {
		if s.idle != nil {
			s.idle.Stop()
		}
		return
	}
	if s.idle != nil {
		s.idle.Stop()
	}
	s.idle = time.AfterFunc(s.cfg.IdleExit, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.inflight == 0 && s.runningLocked() == 0 && s.ln != nil {
			s.cfg.Logf("no container running: exiting")
			s.closeLocked()
		}
	})
}

func (s *Server) runningLocked() int {
	n := 0
	for _, m := range s.containers {
		if m.pid != 0 || m.dns != nil || (m.st != nil && m.st.Status == state.StatusRestarting) {
			n++
		}
	}
	return n
}

func (s *Server) get(id string) (*managed, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.containers[id]; ok {
		return m, nil
	}
	rec, err := s.store.Get(id)
	if err != nil {
		return nil, err
	}
	if rec.Project != s.cfg.Project {
		return nil, fmt.Errorf("container %s belongs to project %s, not %s", rec.Name, rec.Project, s.cfg.Project)
	}
	st, err := s.store.GetState(id)
	if err != nil {
		return nil, err
	}
	m := &managed{id: id, rec: rec, st: st}
	s.containers[id] = m
	return m, nil
}

func (s *Server) list() map[string]*state.RuntimeState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]*state.RuntimeState{}
	for id, m := range s.containers {
		st := *m.st
		out[id] = &st
	}
	return out
}

func (s *Server) putState(m *managed) {
	if m.removed {
		return
	}
	if err := s.store.PutState(m.id, m.st); err != nil {
		s.cfg.Logf("container %s: write state: %v", m.rec.Name, err)
	}
}

func (s *Server) logWriter(m *managed) (*logs.Writer, error) {
	if m.logw != nil {
		return m.logw, nil
	}
	o, err := logs.ParseOptions(m.rec.LogOptions)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", m.rec.Service, err)
	}
	w, err := logs.NewWriter(s.store.LogPath(m.id), o)
	if err != nil {
		return nil, err
	}
	name := m.rec.Name
	w.SetReporter(func(msg string) { s.cfg.Logf("container %s: log: %s", name, msg) })
	m.logw = w
	return w, nil
}

// consoleSocket listens for the pty master a runtime sends for a
// `terminal: true` container.
func (s *Server) consoleSocket(id string) (string, *net.UnixListener, error) {
	path := filepath.Join(s.paths.Dir, "console-"+id[:12]+".sock")
	os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return "", nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return "", nil, err
	}
	return path, ln, nil
}

// receiveConsole accepts the runtime's connection and returns the pty
// master it passes with SCM_RIGHTS.
func receiveConsole(ln *net.UnixListener) (*os.File, error) {
	ln.SetDeadline(time.Now().Add(10 * time.Second))
	conn, err := ln.AcceptUnix()
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	defer conn.Close()
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return nil, fmt.Errorf("console socket: no pty master received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return nil, fmt.Errorf("console socket: no pty master received")
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// emit records a container event; the event log never holds up the
// supervisor's work.
func (s *Server) emit(action string, m *managed, attrs ...string) {
	if s.events == nil {
		return
	}
	if err := s.events.Emit(events.ForContainer(action, m.rec, attrs...)); err != nil {
		s.cfg.Logf("event %s %s: %v", action, m.rec.Name, err)
	}
}
