package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Attacks on berth's own processes and files, and faults they must survive.

// worldRun gives e a run dir that every local user can traverse (as
// /run/berth is), so that only berth's own modes keep others out of the
// supervisor's socket. The suite's temp dir is 0700, which would hide the
// hole this tests for.
func worldRun(t *testing.T, e *Env) {
	t.Helper()
	dir, err := os.MkdirTemp("", "brun")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{e.Run, filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.Run = dir
	suite.mu.Lock()
	suite.roots = append(suite.roots, dir)
	suite.mu.Unlock()
	// NewEnv's cleanup brings the project down, then removes e.Run.
}

// berthUmask runs berth with umask 000, the way a careless root shell or
// a service manager with UMask=0000 would.
func berthUmask(t *testing.T, e *Env, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), DefaultTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", append([]string{"-c", `umask 000; exec "$0" "$@"`, suite.berth}, args...)...)
	cmd.Dir, cmd.Env = e.Dir, e.Environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String(), Code: cmd.ProcessState.ExitCode()}
	if err != nil && r.Code == 0 {
		r.Code = -1
	}
	return r
}

// unprivilegedDial connects to a unix socket as uid/gid 65534 (nobody),
// sends one JSON request and returns what came back (or the error).
func unprivilegedDial(t *testing.T, sock, req string) string {
	t.Helper()
	const client = `import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
    s.sendall(sys.argv[2].encode() + b"\n")
    print("answer:", s.recv(65536).decode())
except Exception as e:
    print("refused:", e)
`
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"/usr/bin/python3", "-c", client, sock, req).CombinedOutput()
	if err != nil {
		t.Fatalf("unprivileged client: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestSupervisorSocketPrivate (issue 11 item 9): under umask 000 the
// supervisor's socket and its directory still belong to root alone, and a
// connection from another user is refused even where the path is reachable.
func TestSupervisorSocketPrivate(t *testing.T) {
	for _, tool := range []string{"setpriv", "/usr/bin/python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
	}
	e := NewEnv(t)
	worldRun(t, e)
	e.Compose(t, `services:
  a:
    image: busybox
    network_mode: none
    command: `+longRunning("a-up")+`
`)
	if r := berthUmask(t, e, "up", "-d"); r.Code != 0 {
		t.Fatalf("umask 000 berth up -d: %s", r)
	}
	dir := filepath.Join(e.Run, "projects", e.Project)
	sock := filepath.Join(dir, "supervisor.sock")
	for path, want := range map[string]os.FileMode{dir: 0o700, sock: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v under umask 000, want %v", path, got, want)
		}
	}

	// Even with the directory opened up (by an admin, a backup restore…),
	// the supervisor serves no one but root.
	for _, d := range []string{e.Run, filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(sock, 0o777); err != nil {
		t.Fatal(err)
	}
	got := unprivilegedDial(t, sock, `{"op":"list"}`)
	if strings.Contains(got, "states") || strings.Contains(got, `"pid"`) {
		t.Errorf("user nobody was served by the supervisor: %s", got)
	}
	t.Logf("user nobody got: %s", got)
	Eventually(t, 5*time.Second, func() error {
		if b, _ := os.ReadFile(filepath.Join(dir, "supervisor.log")); !strings.Contains(string(b), "uid 65534") {
			return fmt.Errorf("the supervisor log does not record the refused uid 65534:\n%s", b)
		}
		return nil
	})
	// root still is.
	if ps := mustPs(t, e); len(ps) != 1 || ps[0].State != "running" {
		t.Errorf("ps after the refused connection = %+v; want a running", ps)
	}
	e.MustBerth(t, "down")
}
