package runtimetest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/ociruntime"
)

// BusyboxPath is the static busybox the test rootfs is made of (Debian's busybox-static).
const BusyboxPath = "/bin/busybox"

var applets = []string{
	"sh", "sleep", "echo", "true", "false", "id", "ls", "mount", "cat", "touch",
	"ps", "kill", "hostname", "env", "pwd", "mkdir", "grep", "wc", "head",
}

// BusyboxRootfs makes a rootfs in a temp dir of tb with the host's static
// busybox and its applets under /bin, an /etc/passwd with root and
// app (1000:1000, also in group staff 50), and empty /tmp, /mnt, /proc,
// /sys, /dev. It skips tb when busybox is missing.
func BusyboxRootfs(tb testing.TB) string {
	tb.Helper()
	src, err := os.Open(BusyboxPath)
	if err != nil {
		tb.Skipf("skipped: %v (apt-get install busybox-static)", err)
	}
	defer src.Close()
	root := filepath.Join(tb.TempDir(), "rootfs")
	for _, d := range []string{"bin", "etc", "tmp", "mnt", "proc", "sys", "dev", "root", "home/app"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		tb.Fatal(err)
	}
	dst, err := os.OpenFile(filepath.Join(root, "bin", "busybox"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		tb.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		tb.Fatal(err)
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			tb.Fatal(err)
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\nstaff:x:50:app\napp:x:1000:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return root
}

// ID returns a container ID unique to this run (64 hex, as berth's).
func ID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Bundle generates the spec of svc (an image with no config: svc gives the
// command) over rootfs for container id of project, writes it into a new
// bundle dir of tb and returns the dir.
func Bundle(tb testing.TB, rootfs, project, id string, svc types.ServiceConfig) string {
	tb.Helper()
	if svc.Name == "" {
		svc.Name = "test"
	}
	s, _, err := ociruntime.Generate(&v1.ConfigFile{}, &svc, ociruntime.Container{
		ID: id, Project: project, Rootfs: rootfs,
	})
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(tb.TempDir(), "bundle")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := ociruntime.WriteBundle(dir, s); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ociruntime.RemoveCgroup(s.Linux.CgroupsPath, "/berth") })
	return dir
}

var subreaper sync.Once

// BecomeSubreaper makes the test process a child subreaper, so that
// containers' init processes are re-parented to it and it can wait4 them.
func BecomeSubreaper(tb testing.TB) {
	tb.Helper()
	var err error
	subreaper.Do(func() { err = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) })
	if err != nil {
		tb.Fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}
}

// ErrTimeout is returned by Wait when the process did not exit in time.
var ErrTimeout = errors.New("timed out waiting for the process to exit")

// Wait waits (wait4) for pid, a child of the test process (see
// BecomeSubreaper), and returns its exit code, 128+signal when killed.
func Wait(pid int, timeout time.Duration) (int, error) {
	type result struct {
		code int
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		for {
			var ws unix.WaitStatus
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				ch <- result{-1, err}
				return
			}
			if ws.Signaled() {
				ch <- result{128 + int(ws.Signal()), nil}
			} else {
				ch <- result{ws.ExitStatus(), nil}
			}
			return
		}
	}()
	select {
	case r := <-ch:
		return r.code, r.err
	case <-time.After(timeout):
		return -1, ErrTimeout
	}
}
