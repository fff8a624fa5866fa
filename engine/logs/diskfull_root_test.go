package logs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tmpfsDir mounts a tmpfs of size bytes on a new dir under the test's temp
// dir (unmounted when the test ends).
func tmpfsDir(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mounts a tmpfs)")
	}
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := bytes.Repeat([]byte("x"), 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// TestDiskFullRoot (issue 11 item 12): with the log's file system full, the
// copier keeps draining the container's pipe (the container never gets
// EPIPE/SIGPIPE nor blocks), drops whole lines only, and logs again, with a
// note of how many lines were lost, once there is room.
func TestDiskFullRoot(t *testing.T) {
	dir := tmpfsDir(t, 1<<20)
	path := filepath.Join(dir, "c-json.log")
	w, err := NewWriter(path, Options{MaxSize: 4 << 20, MaxFiles: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetReporter(func(m string) { t.Log(m) })
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		// as the supervisor does: the read end is closed once Copy returns
		done <- w.Copy("stdout", r)
		r.Close()
	}()
	defer pw.Close()
	writeLines := func(prefix string, n int) {
		t.Helper()
		for i := range n {
			if _, err := fmt.Fprintf(pw, "%s %d %s\n", prefix, i, strings.Repeat("y", 100)); err != nil {
				t.Fatalf("the container's write of %s line %d: %v", prefix, i, err)
			}
		}
	}
	writeLines("before", 10)
	fill(t, filepath.Join(dir, "filler"))
	pw.SetWriteDeadline(time.Now().Add(30 * time.Second))
	writeLines("full", 2000) // ~230 KiB: more than a pipe holds
	select {
	case err := <-done:
		t.Fatalf("the copier stopped while the disk was full: %v", err)
	default:
	}
	os.Remove(filepath.Join(dir, "filler"))
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		writeLines(fmt.Sprintf("after%d", i), 1)
		data, _ := os.ReadFile(path)
		if bytes.Contains(data, []byte("after")) && bytes.Contains(data, []byte("lines dropped")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logging did not resume once space returned:\n%s", tailOf(data))
		}
		time.Sleep(20 * time.Millisecond)
	}
	data, _ := os.ReadFile(path)
	for i, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var e Entry
		if err := json.Unmarshal(l, &e); err != nil {
			t.Errorf("line %d of the log is not a whole JSON entry: %q", i+1, l)
		}
	}
}

func tailOf(b []byte) string {
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return string(b)
}
