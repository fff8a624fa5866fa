package ociruntime

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// CLI drives an OCI runtime through its command line (runc, crun and
// youki share it). Its state lives under <stateRoot>/runtime/<name>, so
// that berth's containers (and each test's) are kept apart from others.
type CLI struct {
	name   string
	binary string
	root   string
	global []string
	// hide are mounts the runtime must not see (crun on a hybrid-cgroup
	// host: the cgroup2 mount); each invocation then starts in a mount
	// namespace of its own without them (startHidingMounts).
	hide []string
}

var _ Runtime = (*CLI)(nil)

// CLIOpt configures a CLI.
type CLIOpt func(*CLI)

// LookupBinary finds an OCI runtime binary by name or path, also in the
// sbin directories that a non-login PATH may miss (Debian's runc is /usr/sbin/runc).
func LookupBinary(nameOrPath string) (string, error) {
	if strings.Contains(nameOrPath, "/") {
		fi, err := os.Stat(nameOrPath)
		if err != nil {
			return "", fmt.Errorf("OCI runtime %s: %w", nameOrPath, err)
		}
		if fi.IsDir() || fi.Mode()&0o111 == 0 {
			return "", fmt.Errorf("OCI runtime %s: not an executable", nameOrPath)
		}
		return nameOrPath, nil
	}
	if p, err := exec.LookPath(nameOrPath); err == nil {
		return p, nil
	}
	for _, d := range searchDirs {
		p := filepath.Join(d, nameOrPath)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("OCI runtime %q: %w", nameOrPath, exec.ErrNotFound)
}

// searchDirs are looked at after PATH.
var searchDirs = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// NewCLI returns the driver of the runtime binary (a name looked up on PATH
// and in the sbin directories, or a path), keeping its state under
// <stateRoot>/runtime/<name>.
func NewCLI(stateRoot, binary string, opts ...CLIOpt) (*CLI, error) {
	bin, err := LookupBinary(binary)
	if err != nil {
		return nil, err
	}
	c := &CLI{name: filepath.Base(bin), binary: bin}
	if c.name == "crun" {
		c.hide = hybridCgroup2Mounts()
	}
	c.root = filepath.Join(stateRoot, "runtime", c.name)
	if err := os.MkdirAll(c.root, 0o700); err != nil {
		return nil, fmt.Errorf("OCI runtime %s: state dir: %w", c.name, err)
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Name is the runtime's binary name.
func (c *CLI) Name() string { return c.name }

// Binary is the path of the runtime's binary.
func (c *CLI) Binary() string { return c.binary }

// Root is the directory given to the runtime as --root.
func (c *CLI) Root() string { return c.root }

// CommandError is a failed runtime invocation, with the runtime's own message.
type CommandError struct {
	Runtime, Op, ID string
	Msg             string // the runtime's last error message, if any
	Err             error  // the exec error (exit status)
}

func (e *CommandError) Error() string {
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("%s %s %s: %s", e.Runtime, e.Op, e.ID, msg)
}

// Unwrap gives the exec error and, for a missing container, ErrNotFound.
func (e *CommandError) Unwrap() []error {
	errs := []error{e.Err}
	if isNotFound(e.Msg) {
		errs = append(errs, ErrNotFound)
	}
	return errs
}

func isNotFound(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "does not exist") || strings.Contains(m, "container not found") ||
		(strings.Contains(m, "no such file or directory") && strings.Contains(m, "status"))
}

// call is one runtime invocation with its own JSON log file, from which the
// error message is taken (the runtime's stderr may be the container's).
type call struct {
	c   *CLI
	op  string
	id  string
	log string
	cmd *exec.Cmd
	// stderr collects the runtime's stderr when the caller does not take it.
	stderr *bytes.Buffer
}

func (c *CLI) newCall(ctx context.Context, op, id string, args ...string) (*call, error) {
	f, err := os.CreateTemp(c.root, "log-*.json")
	if err != nil {
		return nil, fmt.Errorf("%s %s %s: log file: %w", c.name, op, id, err)
	}
	f.Close()
	full := append([]string{"--root", c.root, "--log", f.Name(), "--log-format", "json"}, c.global...)
	full = append(full, op)
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, c.binary, full...)
	// Its own process group: a Ctrl-C at the terminal must not kill the
	// runtime halfway through an operation.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return &call{c: c, op: op, id: id, log: f.Name(), cmd: cmd}, nil
}

// captureStderr sends the runtime's stderr to a buffer used in errors.
func (k *call) captureStderr() {
	k.stderr = &bytes.Buffer{}
	k.cmd.Stderr = k.stderr
}

func (k *call) done() { os.Remove(k.log) }

// start starts the runtime process.
func (k *call) start() error {
	if len(k.c.hide) > 0 {
		return startHidingMounts(k.cmd, k.c.hide)
	}
	return k.cmd.Start()
}

// runToEnd starts the runtime process and waits for it.
func (k *call) runToEnd() error {
	if err := k.start(); err != nil {
		return err
	}
	return k.cmd.Wait()
}

// fail wraps err with the runtime's message.
func (k *call) fail(err error) error {
	msg := lastLogError(k.log)
	if msg == "" && k.stderr != nil {
		msg = strings.TrimSpace(lastLine(k.stderr.String()))
	}
	return &CommandError{Runtime: k.c.name, Op: k.op, ID: k.id, Msg: msg, Err: err}
}

// run runs the call to completion and returns its stdout.
func (k *call) run() ([]byte, error) {
	defer k.done()
	var out bytes.Buffer
	k.cmd.Stdout = &out
	k.captureStderr()
	if err := k.runToEnd(); err != nil {
		return nil, k.fail(err)
	}
	return out.Bytes(), nil
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// lastLogError returns the message of the last error-level line of a
// runtime's JSON log (runc and crun: {"level":"error","msg":"..."}).
func lastLogError(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var msg string
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		var l struct{ Level, Msg string }
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			if t := strings.TrimSpace(sc.Text()); t != "" {
				msg = t
			}
			continue
		}
		switch strings.ToLower(l.Level) {
		case "error", "fatal", "panic":
			msg = l.Msg
		}
	}
	return msg
}

// Create runs `<runtime> create`; the container's stdio are o's files.
func (c *CLI) Create(ctx context.Context, id, bundle string, o CreateOpts) (int, error) {
	return c.create(ctx, "create", id, bundle, o)
}

// CreateStarted creates and starts the container in one runtime call
// (`run --detach`): one process instead of two, for the common path.
func (c *CLI) CreateStarted(ctx context.Context, id, bundle string, o CreateOpts) (int, error) {
	return c.create(ctx, "run", id, bundle, o)
}

func (c *CLI) create(ctx context.Context, op, id, bundle string, o CreateOpts) (int, error) {
	pidFile := o.PidFile
	if pidFile == "" {
		pidFile = filepath.Join(c.root, id+".pid")
		defer os.Remove(pidFile)
	}
	args := []string{"--bundle", bundle, "--pid-file", pidFile}
	if op == "run" {
		args = append(args, "--detach")
	}
	if o.ConsoleSocket != "" {
		args = append(args, "--console-socket", o.ConsoleSocket)
	}
	k, err := c.newCall(ctx, op, id, append(args, id)...)
	if err != nil {
		return 0, err
	}
	defer k.done()
	if o.ConsoleSocket == "" {
		setStdio(k.cmd, o.Stdio)
	}
	if err := k.runToEnd(); err != nil {
		return 0, k.fail(err)
	}
	pid, err := readPidFile(pidFile)
	if err != nil {
		return 0, fmt.Errorf("%s create %s: %w", c.name, id, err)
	}
	return pid, nil
}

// setStdio hands files to the runtime as is; nil ones become /dev/null.
// (An *os.File typed as nil interface matters: exec copies through a pipe
// and a goroutine for anything that is not a file.)
func setStdio(cmd *exec.Cmd, s Stdio) {
	if s.Stdin != nil {
		cmd.Stdin = s.Stdin
	}
	if s.Stdout != nil {
		cmd.Stdout = s.Stdout
	}
	if s.Stderr != nil {
		cmd.Stderr = s.Stderr
	}
}

func readPidFile(p string) (int, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: bad content %q", p, b)
	}
	return pid, nil
}

// Start runs `<runtime> start`.
func (c *CLI) Start(ctx context.Context, id string) error {
	return c.simple(ctx, "start", id, id)
}

// State runs `<runtime> state`.
func (c *CLI) State(ctx context.Context, id string) (State, error) {
	k, err := c.newCall(ctx, "state", id, id)
	if err != nil {
		return State{}, err
	}
	out, err := k.run()
	if err != nil {
		return State{}, err
	}
	var st State
	if err := json.Unmarshal(out, &st); err != nil {
		return State{}, fmt.Errorf("%s state %s: decode: %w", c.name, id, err)
	}
	return st, nil
}

// Kill sends sig to the container's init (all: to every process of it).
func (c *CLI) Kill(ctx context.Context, id string, sig syscall.Signal, all bool) error {
	args := []string{}
	if all {
		args = append(args, "--all")
	}
	args = append(args, id, strconv.Itoa(int(sig)))
	return c.simple(ctx, "kill", id, args...)
}

// Delete runs `<runtime> delete [--force]`.
func (c *CLI) Delete(ctx context.Context, id string, force bool) error {
	args := []string{}
	if force {
		args = append(args, "--force")
	}
	err := c.simple(ctx, "delete", id, append(args, id)...)
	if err != nil && force && errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Pause freezes every process of the container.
func (c *CLI) Pause(ctx context.Context, id string) error { return c.simple(ctx, "pause", id, id) }

// Resume thaws a paused container.
func (c *CLI) Resume(ctx context.Context, id string) error { return c.simple(ctx, "resume", id, id) }

// Ps lists the container's host pids.
func (c *CLI) Ps(ctx context.Context, id string) ([]int, error) {
	k, err := c.newCall(ctx, "ps", id, "--format", "json", id)
	if err != nil {
		return nil, err
	}
	out, err := k.run()
	if err != nil {
		return nil, err
	}
	var pids []int
	if err := json.Unmarshal(out, &pids); err != nil {
		return nil, fmt.Errorf("%s ps %s: decode: %w", c.name, id, err)
	}
	return pids, nil
}

func (c *CLI) simple(ctx context.Context, op, id string, args ...string) error {
	k, err := c.newCall(ctx, op, id, args...)
	if err != nil {
		return err
	}
	_, err = k.run()
	return err
}

// Exec runs p inside the container with `<runtime> exec --process`.
func (c *CLI) Exec(ctx context.Context, id string, p specs.Process, o ExecOpts) (*Execution, error) {
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("%s exec %s: encode process: %w", c.name, id, err)
	}
	pf, err := os.CreateTemp(c.root, "process-*.json")
	if err != nil {
		return nil, fmt.Errorf("%s exec %s: %w", c.name, id, err)
	}
	_, werr := pf.Write(b)
	if cerr := pf.Close(); werr == nil {
		werr = cerr
	}
	procFile := pf.Name()
	if werr != nil {
		os.Remove(procFile)
		return nil, fmt.Errorf("%s exec %s: %w", c.name, id, werr)
	}
	args := []string{"--process", procFile}
	pidFile := o.PidFile
	if o.Detach {
		args = append(args, "--detach")
		if pidFile == "" {
			pidFile = procFile + ".pid"
			defer os.Remove(pidFile)
		}
	}
	if pidFile != "" {
		args = append(args, "--pid-file", pidFile)
	}
	if o.ConsoleSocket != "" {
		args = append(args, "--console-socket", o.ConsoleSocket)
	}
	k, err := c.newCall(ctx, "exec", id, append(args, id)...)
	if err != nil {
		os.Remove(procFile)
		return nil, err
	}
	cleanup := func() { k.done(); os.Remove(procFile) }
	if o.Stdin != nil {
		k.cmd.Stdin = o.Stdin
	}
	if o.Stdout != nil {
		k.cmd.Stdout = o.Stdout
	}
	if o.Stderr != nil {
		k.cmd.Stderr = o.Stderr
	}
	if o.Detach {
		defer cleanup()
		if o.Stderr == nil {
			k.captureStderr()
		}
		if err := k.runToEnd(); err != nil {
			return nil, k.fail(err)
		}
		pid, err := readPidFile(pidFile)
		if err != nil {
			return nil, fmt.Errorf("%s exec %s: %w", c.name, id, err)
		}
		return &Execution{Pid: pid}, nil
	}
	if err := k.start(); err != nil {
		cleanup()
		return nil, k.fail(err)
	}
	return &Execution{Pid: k.cmd.Process.Pid, wait: func() (int, error) {
		defer cleanup()
		return k.exitCode(k.cmd.Wait())
	}}, nil
}

// exitCode turns the runtime's exit into the container process's exit code:
// `run` and attached `exec` exit with the process's code (128+signal when
// it was killed); an error line in the runtime's log means the runtime
// itself failed.
func (k *call) exitCode(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return -1, k.fail(err)
	}
	if msg := lastLogError(k.log); msg != "" {
		return -1, k.fail(err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ee.ExitCode(), nil
}

// Run runs the bundle in the foreground with `<runtime> run` and returns
// the container's exit code. Canceling ctx kills the container.
func (c *CLI) Run(ctx context.Context, id, bundle string, stdio Stdio) (int, error) {
	// The runtime must outlive ctx: on cancel it is told to kill the
	// container and then exits with its status.
	k, err := c.newCall(context.WithoutCancel(ctx), "run", id, "--bundle", bundle, id)
	if err != nil {
		return -1, err
	}
	defer k.done()
	setStdio(k.cmd, stdio)
	if stdio.Stderr == nil {
		k.captureStderr()
	}
	if err := k.start(); err != nil {
		return -1, k.fail(err)
	}
	finished := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = c.Kill(context.Background(), id, syscall.SIGKILL, true)
		case <-finished:
		}
	}()
	werr := k.cmd.Wait()
	close(finished)
	code, err := k.exitCode(werr)
	if err == nil && ctx.Err() != nil {
		return code, ctx.Err()
	}
	return code, err
}
