package safepath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
)

// tree makes a root with a dir, a file, and symlinks of every kind.
func tree(t *testing.T) (root, outside string) {
	t.Helper()
	root, outside = t.TempDir(), t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "a", "b"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "a", "file"), []byte("in"), 0o644))
	must(t, os.WriteFile(filepath.Join(outside, "canary"), []byte("host"), 0o644))
	must(t, os.Symlink("/", filepath.Join(root, "abs")))
	must(t, os.Symlink(outside, filepath.Join(root, "out")))
	must(t, os.Symlink("a", filepath.Join(root, "inside")))
	must(t, os.Symlink("../../..", filepath.Join(root, "a", "up")))
	must(t, syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	return root, outside
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpen(t *testing.T) {
	root, _ := tree(t)
	for _, tt := range []struct {
		rel    string
		dir    bool
		errIs  error
		errHas string
	}{
		{rel: "a/b", dir: true},
		{rel: "./a//b/", dir: true},
		{rel: "a/file"},
		{rel: "abs", errIs: ErrSymlink},
		{rel: "abs/etc", errIs: ErrSymlink, errHas: `"abs" is a symlink`},
		{rel: "out/canary", errIs: ErrSymlink},
		{rel: "inside", errIs: ErrSymlink}, // even one that stays inside
		{rel: "inside/b", errIs: ErrSymlink},
		{rel: "a/up", errIs: ErrSymlink},
		{rel: "a/up/etc", errIs: ErrSymlink},
		{rel: "../x", errIs: ErrNotBeneath},
		{rel: "a/../../x", errIs: ErrNotBeneath},
		{rel: "/etc", errIs: ErrNotBeneath},
		{rel: "fifo", errIs: ErrKind},
		{rel: "a/file/x", errHas: "not a directory"},
		{rel: "missing", errIs: fs.ErrNotExist},
	} {
		f, err := Open(root, tt.rel, false)
		if tt.errIs != nil || tt.errHas != "" {
			if err == nil {
				f.Close()
				t.Errorf("Open(%q) succeeded, want an error", tt.rel)
				continue
			}
			if tt.errIs != nil && !errors.Is(err, tt.errIs) {
				t.Errorf("Open(%q) = %v, want %v", tt.rel, err, tt.errIs)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("Open(%q) = %v, want it to say %q", tt.rel, err, tt.errHas)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tt.rel, err)
			continue
		}
		fi, err := os.Stat(filepath.Join("/proc/self/fd", strconv.Itoa(int(f.Fd()))))
		f.Close()
		if err != nil || fi.IsDir() != tt.dir {
			t.Errorf("Open(%q): is dir %v (%v), want %v", tt.rel, fi != nil && fi.IsDir(), err, tt.dir)
		}
	}
}

// TestOpenCreate: a missing path is made, as directories of mode 0755
// whatever the umask, but never through a symlink.
func TestOpenCreate(t *testing.T) {
	root, outside := tree(t)
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	f, err := Open(root, "new/deep", true)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, p := range []string{"new", "new/deep"} {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v, %v; want a 0755 dir", p, fi.Mode(), err)
		}
	}
	if _, err := Open(root, "out/made", true); !errors.Is(err, ErrSymlink) {
		t.Errorf("create through a symlink: %v, want ErrSymlink", err)
	}
	if _, err := os.Lstat(filepath.Join(outside, "made")); err == nil {
		t.Error("create went through the symlink to the host")
	}
}

// TestMountSwap (root): a bind is mounted from what was opened; the path
// swapped for a symlink to the host afterwards changes nothing mounted,
// and the next start refuses it, naming it, and leaves no mount.
func TestMountSwap(t *testing.T) {
	testutil.RequiresRoot(t)
	root, outside := tree(t)
	must(t, os.MkdirAll(filepath.Join(root, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "sub", "mine"), []byte("volume"), 0o644))
	stage := filepath.Join(t.TempDir(), "stage")
	b := Bind{Root: root, Path: "sub", Target: filepath.Join(stage, "0"), What: `service "a": volume "data"`}
	must(t, Save(stage, []Bind{b}))
	unstage, err := StageDir(stage)
	must(t, err)
	t.Cleanup(unstage)
	if fi, err := os.Stat(stage); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("staging dir mode %v (%v), want 0700", fi.Mode(), err)
	}
	// The container's swap, while the bind is mounted.
	must(t, os.Rename(filepath.Join(root, "sub"), filepath.Join(root, "sub.old")))
	must(t, os.Symlink(outside, filepath.Join(root, "sub")))
	if got, err := os.ReadFile(filepath.Join(b.Target, "mine")); err != nil || string(got) != "volume" {
		t.Errorf("the staged bind changed with the swap: %q, %v", got, err)
	}
	unstage()
	_, err = StageDir(stage)
	if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), `service "a": volume "data": subpath "sub": is a symlink`) {
		t.Fatalf("restage after the swap: %v", err)
	}
	if _, err := os.ReadFile(filepath.Join(b.Target, "canary")); err == nil {
		t.Error("the host dir is mounted on the staging path")
	}
	if isMount(t, b.Target) {
		t.Error("a refused start left a mount")
	}
}

// TestMountFile (root): a file subpath stages as a file; restaging after
// the file became a dir replaces the mount point; UnstageDir clears all.
func TestMountFile(t *testing.T) {
	testutil.RequiresRoot(t)
	root, _ := tree(t)
	stage := filepath.Join(t.TempDir(), "stage")
	b := Bind{Root: root, Path: "a/file", Target: filepath.Join(stage, "0")}
	unstage, err := Stage([]Bind{b})
	must(t, err)
	if got, err := os.ReadFile(b.Target); err != nil || string(got) != "in" {
		t.Errorf("staged file: %q, %v", got, err)
	}
	unstage()
	must(t, os.Remove(filepath.Join(root, "a", "file")))
	must(t, os.Mkdir(filepath.Join(root, "a", "file"), 0o755))
	must(t, Save(stage, []Bind{b}))
	_, err = StageDir(stage)
	must(t, err)
	if fi, err := os.Stat(b.Target); err != nil || !fi.IsDir() {
		t.Errorf("restaged as a dir: %v, %v", fi, err)
	}
	must(t, UnstageDir(stage))
	if isMount(t, b.Target) {
		t.Error("UnstageDir left a mount")
	}
	must(t, UnstageDir(stage)) // again: nothing to do
}

func isMount(t *testing.T, p string) bool {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(p))
	must(t, err)
	return len(ms) > 0
}

// TestWriteFile: a file written beneath a root replaces a symlink at its
// name instead of writing through it, refuses a symlinked parent, and
// gets its mode whatever the umask.
func TestWriteFile(t *testing.T) {
	root, outside := tree(t)
	old := unix.Umask(0o077)
	defer unix.Umask(old)
	must(t, os.Symlink(filepath.Join(outside, "canary"), filepath.Join(root, "a", "planted")))
	must(t, WriteFile(root, "a/planted", []byte("secret"), 0o444, -1, -1))
	if got, _ := os.ReadFile(filepath.Join(outside, "canary")); string(got) != "host" {
		t.Errorf("wrote through the planted symlink: host file now %q", got)
	}
	fi, err := os.Lstat(filepath.Join(root, "a", "planted"))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o444 {
		t.Errorf("written file: %v, %v; want a regular 0444 file", fi.Mode(), err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "a", "planted")); string(got) != "secret" {
		t.Errorf("content %q", got)
	}
	if err := WriteFile(root, "out/x", []byte("x"), 0o444, -1, -1); !errors.Is(err, ErrSymlink) {
		t.Errorf("write under a symlinked dir: %v, want ErrSymlink", err)
	}
	for _, rel := range []string{"../x", "a/..", "/etc/x"} {
		if err := WriteFile(root, rel, nil, 0o444, -1, -1); !errors.Is(err, ErrNotBeneath) {
			t.Errorf("WriteFile(%q) = %v, want ErrNotBeneath", rel, err)
		}
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Errorf("outside gained entries: %v", entries)
	}
}
