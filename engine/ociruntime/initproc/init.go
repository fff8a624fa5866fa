package initproc

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// Forwarded are the signals passed on to the child (as Docker's tini does for the common ones).
var Forwarded = []os.Signal{
	unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH,
}

// Main runs args[0] (looked up on PATH) with args[1:] as a child with the
// same stdio, forwards Forwarded signals to it, reaps every process that
// ends up its child (it is PID 1, or a child subreaper when it is not), and
// returns the child's exit code, or 128+signal when the child was killed.
// It is the whole of a process's main: it writes its own failures to stderr.
func Main(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "berth-init: no command given")
		return 127
	}
	if os.Getpid() != 1 {
		// Outside a pid namespace, orphans of the child still come to us.
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, append([]os.Signal{unix.SIGCHLD}, Forwarded...)...)
	defer signal.Stop(sigs)

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "berth-init: %v\n", err)
		if os.IsPermission(err) {
			return 126
		}
		return 127
	}
	// cmd.Wait is never called: every child, this one included, is reaped
	// by the wait4(-1) loop below.
	child := cmd.Process.Pid
	for s := range sigs {
		if s != unix.SIGCHLD {
			_ = unix.Kill(child, s.(syscall.Signal))
			continue
		}
		if code, done := reap(child); done {
			reap(-1) // leave no zombie behind
			return code
		}
	}
	return 0
}

// reap collects every exited child without blocking and reports whether
// child was among them, with its exit code.
func reap(child int) (code int, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if pid <= 0 || err != nil {
			return code, done
		}
		if pid == child {
			done = true
			switch {
			case ws.Exited():
				code = ws.ExitStatus()
			case ws.Signaled():
				code = 128 + int(ws.Signal())
			}
		}
	}
}
