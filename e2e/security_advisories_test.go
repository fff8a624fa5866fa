package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// Issue 11, the advisories list (docs/security.md): runc's and moby's past
// escapes tried against berth's own paths.

// TestSecurityWorkdirFdLeak is CVE-2024-21626: a working directory of
// /proc/self/fd/N names a host directory that leaked into the container
// process as fd N, and `..` from there walks the host's root. Whether the
// start is refused or the directory is the container's own, the host's
// canary file must not be readable, at `up`/`run` and at `exec -w`.
func TestSecurityWorkdirFdLeak(t *testing.T) {
	e := NewEnv(t)
	victim := CanaryPath("readonly.txt")
	climb := strings.Repeat("../", 12) + strings.TrimPrefix(victim, "/")
	var svcs strings.Builder
	svcs.WriteString("services:\n  idle:\n    image: busybox\n    network_mode: none\n    init: true\n    command: [\"sleep\", \"300\"]\n")
	for fd := 3; fd <= 9; fd++ {
		fmt.Fprintf(&svcs, "  fd%d:\n    image: busybox\n    network_mode: none\n    working_dir: /proc/self/fd/%d\n    command: [\"cat\", %q]\n", fd, fd, climb)
	}
	e.Compose(t, svcs.String())
	for fd := 3; fd <= 9; fd++ {
		r := e.Berth(t, "run", "--rm", fmt.Sprintf("fd%d", fd))
		t.Logf("fd %d: %s", fd, r)
		if strings.Contains(r.Stdout+r.Stderr, "never changed") {
			t.Errorf("working_dir /proc/self/fd/%d: the container read the host's %s:\n%s", fd, victim, r)
		}
	}
	e.MustBerth(t, "up", "-d", "idle")
	for fd := 3; fd <= 9; fd++ {
		r := e.Berth(t, "exec", "-w", fmt.Sprintf("/proc/self/fd/%d", fd), "idle", "cat", climb)
		if strings.Contains(r.Stdout+r.Stderr, "never changed") {
			t.Errorf("exec -w /proc/self/fd/%d: the process read the host's %s:\n%s", fd, victim, r)
		}
	}
}

// TestSecurityNoFdLeak: no descriptor berth (or the runtime) holds reaches
// a container's process — only stdin, stdout and stderr are open, with and
// without `init: true`, and in `exec`; the init holds no directory.
func TestSecurityNoFdLeak(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  plain:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "ls /proc/$$$$/fd; sleep 300"]
  withinit:
    image: busybox
    network_mode: none
    init: true
    command: ["sh", "-c", "ls /proc/$$$$/fd; for f in /proc/1/fd/*; do [ -d $$f ] && echo init-dir:$${f##*/}:$$(readlink $$f); done; echo init-checked; sleep 300"]
`)
	e.MustBerth(t, "up", "-d")
	for _, svc := range []string{"plain", "withinit"} {
		var lines []string
		Eventually(t, 30*time.Second, func() error {
			lines = serviceLines(t, e, svc)
			if len(lines) < 3 || (svc == "withinit" && lines[len(lines)-1] != "init-checked") {
				return fmt.Errorf("%s: logs so far %q", svc, lines)
			}
			return nil
		})
		// The container's process has only its stdio; berth's init keeps
		// its own (Go runtime: epoll, eventfd, pidfd, its cgroup's cpu
		// files) but no directory, which `..` could climb out of.
		for _, l := range lines {
			if l != "0" && l != "1" && l != "2" && l != "init-checked" {
				t.Errorf("%s: %q open in the container (%q)", svc, l, lines)
			}
		}
		r := e.MustBerth(t, "exec", "-T", svc, "sh", "-c", "ls /proc/$$/fd; true")
		for _, fd := range nonEmptyLines(r.Stdout) {
			if fd != "0" && fd != "1" && fd != "2" {
				t.Errorf("%s: exec: fd %s open (%q)", svc, fd, r.Stdout)
			}
		}
	}
}

// TestSecurityInitBinaryReadOnly is the CVE-2019-5736 class for berth's own
// binary: with `init: true` the container's PID 1 is berth's init, and a
// root process in the container must not be able to overwrite it through
// /proc/1/exe or its mount point — the host's berth stays as it was.
func TestSecurityInitBinaryReadOnly(t *testing.T) {
	before, err := fileSum(suite.berth)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEnv(t)
	e.Compose(t, `services:
  a:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "300"]
`)
	e.MustBerth(t, "up", "-d")
	for _, target := range []string{"/proc/1/exe", "/.berth/init"} {
		r := e.Berth(t, "exec", "-T", "a", "sh", "-c", "echo pwned > "+target+" && echo WROTE; dd if=/dev/zero of="+target+" bs=1 count=1 conv=notrunc 2>/dev/null && echo WROTE")
		if strings.Contains(r.Stdout, "WROTE") {
			t.Errorf("wrote to %s from the container:\n%s", target, r)
		}
	}
	after, err := fileSum(suite.berth)
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Fatalf("the host's berth binary changed while a container ran under its init")
	}
}

func fileSum(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", sha256.Sum256(b)), nil
}
