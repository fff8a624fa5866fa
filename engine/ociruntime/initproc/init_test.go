package initproc_test

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/ociruntime/initproc"
)

// TestMain turns the test binary into the init when BERTH_TEST_INIT=1.
func TestMain(m *testing.M) {
	if os.Getenv("BERTH_TEST_INIT") == "1" {
		os.Exit(initproc.Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func initCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BERTH_TEST_INIT=1")
	cmd.Stderr = os.Stderr
	t.Cleanup(func() {
		if cmd.Process != nil && cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("wait: %v", err)
	}
	return ee.ExitCode()
}

func TestExitCodePassedThrough(t *testing.T) {
	for _, tc := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 7", 7},
		{"kill -KILL $$", 137},
		{"kill -TERM $$", 143},
	} {
		cmd := initCmd(t, "sh", "-c", tc.script)
		if got := exitCode(t, cmd.Run()); got != tc.want {
			t.Errorf("%q: exit code %d, want %d", tc.script, got, tc.want)
		}
	}
}

func TestMissingCommand(t *testing.T) {
	cmd := initCmd(t, "/nonexistent/berth-no-such-binary")
	cmd.Stderr = nil
	if got := exitCode(t, cmd.Run()); got != 127 {
		t.Errorf("exit code %d, want 127", got)
	}
	if got := exitCode(t, initCmd(t).Run()); got != 127 {
		t.Errorf("no args: exit code %d, want 127", got)
	}
}

// waitLine reads one line from the child's stdout, failing after a while.
func waitLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		l, _ := r.ReadString('\n')
		ch <- strings.TrimSpace(l)
	}()
	select {
	case l := <-ch:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the child's output")
		return ""
	}
}

func TestSignalsForwarded(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2} {
		cmd := initCmd(t, "sh", "-c", `trap 'exit 42' `+sigName(sig)+`; echo ready; while :; do sleep 0.05; done`)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if l := waitLine(t, bufio.NewReader(out)); l != "ready" {
			t.Fatalf("got %q, want ready", l)
		}
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if got := exitCode(t, cmd.Wait()); got != 42 {
			t.Errorf("%v: exit code %d, want 42 (the child's trap)", sig, got)
		}
	}
}

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGUSR1:
		return "USR1"
	case syscall.SIGUSR2:
		return "USR2"
	}
	return ""
}

// TestReapsOrphans: a grandchild orphaned by the child comes to the init,
// which must reap it (no zombie left in /proc) while the child still runs.
func TestReapsOrphans(t *testing.T) {
	script := `sh -c 'sleep 0.2 & echo $!' ; sleep 1.5; echo done`
	cmd := initCmd(t, "sh", "-c", script)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	orphan := waitLine(t, r)
	if orphan == "" {
		t.Fatal("no orphan pid")
	}
	time.Sleep(800 * time.Millisecond) // the orphan has exited by now, the child not yet
	stat, err := os.ReadFile("/proc/" + orphan + "/stat")
	if err == nil {
		fields := strings.Fields(string(stat))
		if len(fields) > 2 && fields[2] == "Z" {
			t.Errorf("orphan %s is a zombie: the init did not reap it", orphan)
		}
	}
	if l := waitLine(t, r); l != "done" {
		t.Errorf("got %q, want done", l)
	}
	if got := exitCode(t, cmd.Wait()); got != 0 {
		t.Errorf("exit code %d, want 0", got)
	}
}
