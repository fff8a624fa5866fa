package archive

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A temp dir stands for the container's root: the copy logic only ever
// sees an open directory, so no container is needed.

func openRoot(t *testing.T, dir string) *os.File {
	t.Helper()
	f, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Errorf("read %s: %v", p, err)
	}
	return string(b)
}

// bounded runs fn and fails the test if it has not returned in 10s (a
// copy that opened a FIFO would block for ever).
func bounded(t *testing.T, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the copy did not finish (did it open a FIFO?)")
		return nil
	}
}

// TestCopyOutReplacesPlantedSymlink: a symlink a first copy left on the
// host is replaced by the directory the container now has, never written
// through.
func TestCopyOutReplacesPlantedSymlink(t *testing.T) {
	ctr, host, victim := t.TempDir(), t.TempDir(), t.TempDir()
	write(t, filepath.Join(ctr, "data", "x", "evil"), "pwned")
	if err := os.MkdirAll(filepath.Join(host, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(host, "data", "x")); err != nil {
		t.Fatal(err)
	}
	if err := CopyOut(t.Context(), openRoot(t, ctr), "/data", host, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(victim, "evil")); err == nil {
		t.Fatal("the copy wrote through the symlink into the victim dir")
	}
	if got := read(t, filepath.Join(host, "data", "x", "evil")); got != "pwned" {
		t.Errorf("host data/x/evil = %q", got)
	}
}

// TestCopyOutReplacesFileSymlink: an existing host symlink where a file
// lands is replaced, not written through.
func TestCopyOutReplacesFileSymlink(t *testing.T) {
	ctr, host := t.TempDir(), t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	write(t, victim, "keep")
	write(t, filepath.Join(ctr, "d", "f"), "new")
	if err := os.MkdirAll(filepath.Join(host, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(host, "d", "f")); err != nil {
		t.Fatal(err)
	}
	if err := CopyOut(t.Context(), openRoot(t, ctr), "/d", host, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, victim); got != "keep" {
		t.Errorf("victim = %q: written through a symlink", got)
	}
	if fi, err := os.Lstat(filepath.Join(host, "d", "f")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("host d/f = %v, %v; want a regular file", fi, err)
	}
}

// TestCopyOutRootKeepsDotfiles: / copied out keeps .zz and zz apart.
func TestCopyOutRootKeepsDotfiles(t *testing.T) {
	ctr := t.TempDir()
	write(t, filepath.Join(ctr, ".zz"), "dot")
	write(t, filepath.Join(ctr, "zz"), "plain")
	out := filepath.Join(t.TempDir(), "out")
	if err := CopyOut(t.Context(), openRoot(t, ctr), "/", out, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(out, ".zz")); got != "dot" {
		t.Errorf(".zz = %q", got)
	}
	if got := read(t, filepath.Join(out, "zz")); got != "plain" {
		t.Errorf("zz = %q", got)
	}
}

// TestCopyInSymlinksStayInRoot: absolute and relative symlinks in the
// container resolve against its root, never the host's.
func TestCopyInSymlinksStayInRoot(t *testing.T) {
	ctr, hostDir := t.TempDir(), t.TempDir()
	src := filepath.Join(t.TempDir(), "f")
	write(t, src, "x")
	for _, l := range [][2]string{{hostDir, "abs"}, {"../../../..", "up"}, {"/", "slash"}} {
		if err := os.Symlink(l[0], filepath.Join(ctr, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(ctr, hostDir), 0o755); err != nil {
		t.Fatal(err)
	}
	root := openRoot(t, ctr)
	for dst, want := range map[string]string{
		"/abs/a":                 filepath.Join(ctr, hostDir, "a"),
		"up/b":                   filepath.Join(ctr, "b"),
		"/slash/../../slash/c":   filepath.Join(ctr, "c"),
		"../../../../../../../d": filepath.Join(ctr, "d"),
	} {
		if err := CopyIn(t.Context(), root, src, dst, Options{}); err != nil {
			t.Errorf("CopyIn %s: %v", dst, err)
			continue
		}
		if got := read(t, want); got != "x" {
			t.Errorf("CopyIn %s: %s = %q", dst, want, got)
		}
	}
	if ents, _ := os.ReadDir(hostDir); len(ents) != 0 {
		t.Errorf("the copy wrote on the host: %v", ents)
	}
}

// TestCopyOutFollowLinkInRoot: -L follows an absolute link against the
// container's root and names the copy after the link; without -L the
// link itself is copied.
func TestCopyOutFollowLinkInRoot(t *testing.T) {
	ctr, host := t.TempDir(), t.TempDir()
	write(t, filepath.Join(ctr, "usr", "zone"), "UTC")
	if err := os.MkdirAll(filepath.Join(ctr, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/usr/zone", filepath.Join(ctr, "etc", "localtime")); err != nil {
		t.Fatal(err)
	}
	root := openRoot(t, ctr)
	if err := CopyOut(t.Context(), root, "/etc/localtime", host, Options{FollowLink: true}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(host, "localtime")); got != "UTC" {
		t.Errorf("-L: localtime = %q", got)
	}
	if err := CopyOut(t.Context(), root, "/etc/localtime", filepath.Join(host, "link"), Options{}); err != nil {
		t.Fatal(err)
	}
	if l, err := os.Readlink(filepath.Join(host, "link")); err != nil || l != "/usr/zone" {
		t.Errorf("without -L: link = %q, %v; want the symlink as is", l, err)
	}
}

// TestCopyInRefusesSpecialDestination: a FIFO (or device) destination is
// refused, not opened, and the copy returns.
func TestCopyInRefusesSpecialDestination(t *testing.T) {
	ctr := t.TempDir()
	if err := unix.Mkfifo(filepath.Join(ctr, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "f")
	write(t, src, "x")
	err := bounded(t, func() error { return CopyIn(t.Context(), openRoot(t, ctr), src, "/fifo", Options{}) })
	if !errors.Is(err, ErrNotDirOrFile) {
		t.Errorf("CopyIn onto a FIFO: %v; want ErrNotDirOrFile", err)
	}
}

// TestCopySpecialFilesRecreated: FIFOs in a copied tree are recreated in
// both directions, never opened.
func TestCopySpecialFilesRecreated(t *testing.T) {
	ctr, host := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(ctr, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(ctr, "d", "fifo"), 0o640); err != nil {
		t.Fatal(err)
	}
	root := openRoot(t, ctr)
	if err := bounded(t, func() error { return CopyOut(t.Context(), root, "/d", host, Options{}) }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(host, "d", "fifo")); err != nil || fi.Mode().Type() != os.ModeNamedPipe || fi.Mode().Perm() != 0o640 {
		t.Errorf("out: fifo = %v, %v; want a FIFO 0640", fi, err)
	}
	if err := bounded(t, func() error { return CopyIn(t.Context(), root, filepath.Join(host, "d"), "/e", Options{}) }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(ctr, "e", "fifo")); err != nil || fi.Mode().Type() != os.ModeNamedPipe {
		t.Errorf("in: fifo = %v, %v; want a FIFO", fi, err)
	}
}

// TestCopyOutDeviceLeftToRoot (root only): a device node copied out is
// recreated with its numbers, not opened, and only root may open it.
func TestCopyOutDeviceLeftToRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod needs root")
	}
	ctr, host := t.TempDir(), t.TempDir()
	if err := unix.Mknod(filepath.Join(ctr, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	if err := CopyOut(t.Context(), openRoot(t, ctr), "/null", host, Options{KeepOwner: true}); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(host, "null"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) || st.Mode&0o777 != 0o600 || st.Uid != 0 {
		t.Errorf("host null: mode %o rdev %d uid %d; want char 1:3, 0600, root's", st.Mode, st.Rdev, st.Uid)
	}
}

// TestCopyOutDropsSetuid: setuid/setgid bits a container chose do not
// reach the host.
func TestCopyOutDropsSetuid(t *testing.T) {
	ctr, host := t.TempDir(), t.TempDir()
	write(t, filepath.Join(ctr, "sh"), "#!")
	if err := os.Chmod(filepath.Join(ctr, "sh"), 0o755|os.ModeSetuid|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	if err := CopyOut(t.Context(), openRoot(t, ctr), "/sh", host, Options{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(host, "sh")); err != nil || fi.Mode() != 0o755 {
		t.Errorf("host sh = %v, %v; want 0755 without setuid/setgid", fi.Mode(), err)
	}
}

// TestCopyCanceled: a canceled context stops the copy.
func TestCopyCanceled(t *testing.T) {
	ctr := t.TempDir()
	write(t, filepath.Join(ctr, "d", "f"), "x")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := CopyOut(ctx, openRoot(t, ctr), "/d", filepath.Join(t.TempDir(), "o"), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v; want context.Canceled", err)
	}
}

// TestCopyOutSkipsPseudoFS: beneath the source, nothing on /proc (or the
// like) is read: the copy of a proc directory's contents holds no file.
func TestCopyOutSkipsPseudoFS(t *testing.T) {
	host := t.TempDir()
	for _, src := range []string{"/.", "/"} {
		out := filepath.Join(host, "o"+filepath.Base(src))
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := CopyOut(t.Context(), openRoot(t, "/proc/self"), src, out, Options{}); err != nil {
			t.Fatal(err)
		}
		_ = filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				t.Errorf("copy of %s copied %s from /proc", src, p)
			}
			return nil
		})
	}
}

// TestCopyInOwner (root only): entries copied in belong to root unless
// -a keeps the source's uid and gid.
func TestCopyInOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	ctr, src := t.TempDir(), filepath.Join(t.TempDir(), "f")
	write(t, src, "x")
	if err := os.Chown(src, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	root := openRoot(t, ctr)
	for dst, want := range map[string][2]uint32{"/plain": {0, 0}, "/kept": {1234, 5678}} {
		if err := CopyIn(t.Context(), root, src, dst, Options{KeepOwner: dst == "/kept"}); err != nil {
			t.Fatal(err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(ctr, dst), &st); err != nil {
			t.Fatal(err)
		}
		if [2]uint32{st.Uid, st.Gid} != want {
			t.Errorf("%s owned by %d:%d; want %d:%d", dst, st.Uid, st.Gid, want[0], want[1])
		}
	}
}
