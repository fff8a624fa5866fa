package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/berth-dev/berth/internal/fsutil"
)

// Client talks to one project's supervisor.
type Client struct {
	Project string
	paths   Paths
	// Command starts a supervisor process for the project; nil means this
	// executable with `__supervise --project NAME`.
	Command func(project string) *exec.Cmd
}

// NewClient returns a client for a project's supervisor under runDir.
func NewClient(runDir, project string) *Client {
	return &Client{Project: project, paths: PathsFor(runDir, project)}
}

// ErrNotRunning says no supervisor answers for the project.
var ErrNotRunning = errors.New("supervisor not running")

// Call sends one request to a running supervisor.
func (c *Client) Call(ctx context.Context, req Request) (*Response, error) {
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "unix", c.paths.Socket)
	if err != nil {
		return nil, fmt.Errorf("project %s: %w (%v)", c.Project, ErrNotRunning, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return nil, fmt.Errorf("project %s supervisor: %w", c.Project, err)
	}
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("project %s supervisor: no answer: %w", c.Project, err)
	}
	if resp.Error != "" {
		return &resp, errors.New(resp.Error)
	}
	return &resp, nil
}

// Alive reports whether a supervisor answers.
func (c *Client) Alive(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := c.Call(ctx, Request{Op: OpPing})
	return err == nil
}

// Ensure makes sure a supervisor runs for the project, starting one when
// none answers, and returns once it answers.
func (c *Client) Ensure(ctx context.Context) error {
	if c.Alive(ctx) {
		return nil
	}
	if err := privateDir(c.paths.Dir); err != nil {
		return fmt.Errorf("project %s supervisor: %w", c.Project, err)
	}
	lock, err := fsutil.Acquire(ctx, c.paths.Spawn)
	if err != nil {
		return err
	}
	defer lock.Release()
	if c.Alive(ctx) {
		return nil
	}
	cmd := c.command()
	logf, err := os.OpenFile(c.paths.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start supervisor for project %s: %w", c.Project, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		if c.Alive(ctx) {
			// The supervisor outlives this command; its exit status is
			// collected by whoever adopts it.
			return nil
		}
		select {
		case err := <-exited:
			if err == nil && c.Alive(ctx) {
				// a keeper that found another keeper starting one
				return nil
			}
			return fmt.Errorf("supervisor for project %s exited at start (%v): %s", c.Project, err, tail(c.paths.Log))
		case <-deadline.C:
			return fmt.Errorf("supervisor for project %s did not answer within 10s: %s", c.Project, tail(c.paths.Log))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Exit makes the project's supervisor and its keeper exit now, when no
// container is left to watch, and returns once both are gone (their
// locks free), or ctx is done. No supervisor is not an error.
func (c *Client) Exit(ctx context.Context) error {
	if _, err := c.Call(ctx, Request{Op: OpExit}); err != nil && !errors.Is(err, ErrNotRunning) {
		return err
	}
	for _, path := range []string{c.paths.Lock, c.paths.Keeper} {
		if _, err := os.Stat(path); err != nil {
			continue // never made: no such process ever ran
		}
		l, err := fsutil.Acquire(ctx, path)
		if err != nil {
			return fmt.Errorf("project %s: waiting for the supervisor to exit: %w", c.Project, err)
		}
		l.Release()
	}
	return nil
}

func (c *Client) command() *exec.Cmd {
	if c.Command != nil {
		return c.Command(c.Project)
	}
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	return exec.Command(self, "__supervise", "--project", c.Project)
}

func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no supervisor log)"
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, "; ")
}
