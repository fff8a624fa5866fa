package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAttach: `berth attach` streams stdin to a stdin_open container and
// shows its output from then on; with --sig-proxy=false Ctrl-C detaches
// and leaves it running; with the default, Ctrl-C reaches the container
// and attach returns its exit code.
func TestAttach(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  echo:
    image: busybox
    stdin_open: true
    command: ["sh", "-c", "echo before-attach; trap 'echo got-int; exit 3' INT; exec 3<&0; while read l <&3; do echo \"got $$l\"; done & wait"]
`)
	e.MustBerth(t, "up", "-d")
	waitStates(t, e, 30*time.Second, map[string]string{"echo": "running"})
	Eventually(t, 20*time.Second, func() error {
		if r := e.Berth(t, "logs", "echo"); !strings.Contains(r.Stdout, "before-attach") {
			return fmt.Errorf("no output yet: %s", r)
		}
		return nil
	})

	attach := func(args ...string) (*watchProc, io.WriteCloser, <-chan error, func()) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := e.Cmd(ctx, append([]string{"attach"}, args...)...)
		w := &watchProc{}
		cmd.Stdout, cmd.Stderr = w, w
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		exited := make(chan struct{})
		go func() { done <- cmd.Wait(); cancel(); close(exited) }()
		t.Cleanup(func() { cmd.Process.Kill(); <-exited })
		return w, in, done, func() { cmd.Process.Signal(syscall.SIGINT) }
	}

	w, in, done, interrupt := attach("--sig-proxy=false", "echo")
	time.Sleep(500 * time.Millisecond)
	fmt.Fprintln(in, "hello")
	fmt.Fprintln(in, "world")
	w.waitCount(t, "got world", 1, 30*time.Second)
	if w.count("before-attach") != 0 {
		t.Errorf("attach printed output from before it attached:\n%s", w.String())
	}
	interrupt()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Ctrl-C with --sig-proxy=false did not detach")
	}
	waitStates(t, e, 10*time.Second, map[string]string{"echo": "running"})

	w, in, done, interrupt = attach("echo")
	time.Sleep(500 * time.Millisecond)
	fmt.Fprintln(in, "again")
	w.waitCount(t, "got again", 1, 30*time.Second)
	interrupt()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Ctrl-C did not end the attach")
	}
	w.waitCount(t, "got-int", 1, 10*time.Second)
	if code := exitCode(err); code != 3 {
		t.Errorf("attach exit code %d, want the container's 3:\n%s", code, w.String())
	}
}

// exitCode is the exit code a command's Wait error carries (0 for nil).
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}
