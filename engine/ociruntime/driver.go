package ociruntime

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Runtime drives an OCI runtime (runc, crun, youki, ...). It never assumes
// it is the parent of the containers it creates: a container's init is
// re-parented to the nearest child subreaper once the runtime's create
// returns, and exit codes come from that subreaper's wait4, not from State.
//
// A detached container's life:
//
//	pid, err := rt.Create(ctx, id, bundle, CreateOpts{Stdout: w, Stderr: w})
//	err = rt.Start(ctx, id)
//	// ... wait4(pid) in the subreaper gives the exit status ...
//	err = rt.Delete(ctx, id, false)
type Runtime interface {
	// Name is the runtime's short name ("runc", "crun").
	Name() string
	// Create creates the container from bundle/config.json and returns its
	// init's pid; the process waits for Start.
	Create(ctx context.Context, id, bundle string, o CreateOpts) (pid int, err error)
	Start(ctx context.Context, id string) error
	State(ctx context.Context, id string) (State, error)
	Kill(ctx context.Context, id string, sig syscall.Signal, all bool) error
	// Delete removes the container's runtime state; force kills it first.
	// Deleting a container that does not exist with force is not an error.
	Delete(ctx context.Context, id string, force bool) error
	// Exec runs p in the running container (see ExecOpts).
	Exec(ctx context.Context, id string, p specs.Process, o ExecOpts) (*Execution, error)
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	// Ps lists the host pids of the container's processes.
	Ps(ctx context.Context, id string) ([]int, error)
	// Run runs the container in the foreground (create, start, wait, delete)
	// and returns its exit code (128+signal when killed). Canceling ctx kills it.
	Run(ctx context.Context, id, bundle string, stdio Stdio) (exitCode int, err error)
}

// CreateStarter is implemented by runtimes that can create and start a
// container in one call; callers fall back to Create then Start.
type CreateStarter interface {
	CreateStarted(ctx context.Context, id, bundle string, o CreateOpts) (pid int, err error)
}

// Stdio is the standard streams handed to a container. For Create they
// must be real files (os.Pipe ends, files, /dev/null; nil = /dev/null): the
// runtime passes them on to the container and returns at once.
type Stdio struct {
	Stdin          *os.File
	Stdout, Stderr *os.File
}

// CreateOpts are the options of Create.
type CreateOpts struct {
	Stdio
	// ConsoleSocket is the path of a unix socket on which the runtime sends
	// the pty master of a `terminal: true` container; Stdio is then unused.
	ConsoleSocket string
	// PidFile, when set, is where the runtime writes the init's pid.
	PidFile string
}

// ExecOpts are the options of Exec.
type ExecOpts struct {
	// Stdin, Stdout, Stderr of an attached exec may be any reader/writer;
	// a detached exec needs files (or nil for /dev/null).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ConsoleSocket receives the pty master when p.Terminal is set.
	ConsoleSocket string
	// Detach returns once the process runs; it is then re-parented to the
	// subreaper, which reaps it. Execution.Pid is its host pid.
	Detach bool
	// PidFile, when set, is where the runtime writes the process's pid.
	PidFile string
}

// Status is the runtime's view of a container.
type Status string

// Statuses of the OCI runtime spec.
const (
	StatusCreating Status = "creating"
	StatusCreated  Status = "created"
	StatusRunning  Status = "running"
	StatusPaused   Status = "paused"
	StatusStopped  Status = "stopped"
)

// State is what `<runtime> state` reports.
type State struct {
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Errors a driver's errors wrap.
var (
	// ErrNotFound: the runtime has no such container.
	ErrNotFound = errors.New("container does not exist")
	// ErrNoRuntime: no usable OCI runtime is installed.
	ErrNoRuntime = errors.New("no OCI runtime found: install runc (apt-get install runc) or crun")
)

// Execution is a process started by Exec.
type Execution struct {
	// Pid is the host pid of the exec'd process when detached, else the pid
	// of the runtime process that waits for it.
	Pid  int
	wait func() (int, error)
}

// Wait waits for an attached exec and returns its exit code (128+signal
// when it was killed). For a detached exec it returns 0 at once: its exit
// status goes to the subreaper.
func (e *Execution) Wait() (int, error) {
	if e.wait == nil {
		return 0, nil
	}
	return e.wait()
}
