package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
)

func unpackEntries(t *testing.T, dir string, entries ...ent) error {
	t.Helper()
	_, err := Unpack(t.Context(), bytes.NewReader(tarBytes(t, entries...)), dir)
	return err
}

func TestUnpackEntries(t *testing.T) {
	root := t.TempDir()
	xattrFile := file("etc/attrs", "a")
	xattrFile.xattrs = map[string]string{"user.berth": "yes"}
	owned := file("home/u/owned", "mine")
	owned.uid, owned.gid = 1234, 5678
	entries := []ent{
		{name: "./", typ: tar.TypeDir, mode: 0o755},
		dir("etc/"),
		file("etc/hello", "hello world\n"),
		file("etc/dup", "first"),
		file("etc/dup", "second"),
		xattrFile,
		{name: "bin/su", body: "#!", mode: 0o4755},
		{name: "shared/", typ: tar.TypeDir, mode: 0o2775},
		{name: "tmp/", typ: tar.TypeDir, mode: 0o1777},
		symlink("bin/sh", "su"),
		symlink("etc/localtime", "/usr/share/zoneinfo/UTC"),
		hardlink("etc/hello-link", "etc/hello"),
		{name: "run/fifo", typ: tar.TypeFifo, mode: 0o600},
		owned,
		file("deep/er/path/f", "parents made on the way"),
	}
	if os.Geteuid() == 0 {
		entries = append(entries, ent{name: "dev/null", typ: tar.TypeChar, mode: 0o666, major: 1, minor: 3})
	}
	if err := unpackEntries(t, root, entries...); err != nil {
		t.Fatal(err)
	}
	p := func(n string) string { return filepath.Join(root, n) }
	if got := readFile(t, p("etc/hello")); got != "hello world\n" {
		t.Errorf("etc/hello = %q", got)
	}
	if got := readFile(t, p("etc/dup")); got != "second" {
		t.Errorf("duplicate entry: etc/dup = %q, want the last one", got)
	}
	modes := map[string]os.FileMode{
		"bin/su": 0o755 | os.ModeSetuid, "shared": 0o775 | os.ModeSetgid | os.ModeDir,
		"tmp": 0o777 | os.ModeSticky | os.ModeDir, "etc/hello": 0o644, "run/fifo": 0o600 | os.ModeNamedPipe,
	}
	for n, want := range modes {
		fi, err := os.Lstat(p(n))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s mode = %v, want %v", n, fi.Mode(), want)
		}
	}
	if l, _ := os.Readlink(p("bin/sh")); l != "su" {
		t.Errorf("bin/sh -> %q", l)
	}
	if l, _ := os.Readlink(p("etc/localtime")); l != "/usr/share/zoneinfo/UTC" {
		t.Errorf("absolute symlink kept as is: etc/localtime -> %q", l)
	}
	a, _ := os.Stat(p("etc/hello"))
	b, _ := os.Stat(p("etc/hello-link"))
	if !os.SameFile(a, b) {
		t.Error("etc/hello-link is not a hardlink of etc/hello")
	}
	for _, n := range []string{"etc", "etc/hello", "bin/sh", "shared", "."} {
		fi, err := os.Lstat(p(n))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(testTime) {
			t.Errorf("%s mtime = %v, want %v", n, fi.ModTime(), testTime)
		}
	}
	buf := make([]byte, 16)
	if n, err := unix.Getxattr(p("etc/attrs"), "user.berth", buf); err != nil || string(buf[:n]) != "yes" {
		if !errors.Is(err, unix.ENOTSUP) {
			t.Errorf("xattr user.berth = %q, %v", buf[:n], err)
		}
	}
	if os.Geteuid() == 0 {
		fi, _ := os.Lstat(p("home/u/owned"))
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != 1234 || st.Gid != 5678 {
			t.Errorf("owner = %d:%d, want 1234:5678", st.Uid, st.Gid)
		}
		fi, _ = os.Lstat(p("dev/null"))
		st = fi.Sys().(*syscall.Stat_t)
		if fi.Mode()&os.ModeCharDevice == 0 || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
			t.Errorf("dev/null = %v rdev %d:%d", fi.Mode(), unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
	}
}

func TestUnpackWhiteouts(t *testing.T) {
	testutil.RequiresRoot(t) // 0/0 char devices and trusted.* xattrs
	root := t.TempDir()
	err := unpackEntries(t, root,
		dir("a/"),
		file("a/.wh.gone", ""),
		file(".wh.toplevel", ""),
		dir("opq/"),
		file("opq/.wh..wh..opq", ""),
		file("opq/new", "n"),
		file("b/.wh..wh.plnk", ""), // aufs bookkeeping: ignored
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a/gone", "toplevel"} {
		fi, err := os.Lstat(filepath.Join(root, n))
		if err != nil {
			t.Fatalf("whiteout %s: %v", n, err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode()&os.ModeCharDevice == 0 || st.Rdev != 0 {
			t.Errorf("whiteout %s = %v rdev %d, want char 0/0", n, fi.Mode(), st.Rdev)
		}
	}
	buf := make([]byte, 4)
	n, err := unix.Getxattr(filepath.Join(root, "opq"), opaqueXattr, buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("opq %s = %q, %v; want y", opaqueXattr, buf[:n], err)
	}
	for _, n := range []string{"a/.wh.gone", "opq/.wh..wh..opq", "b/.wh..wh.plnk"} {
		if _, err := os.Lstat(filepath.Join(root, n)); err == nil {
			t.Errorf("%s should not exist in the unpacked layer", n)
		}
	}
}

func TestUnpackRefusesEscapes(t *testing.T) {
	passwdBefore, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		bad     string // the entry the error must name
		entries func(outside string) []ent
	}{
		{"dotdot", "../escape", func(string) []ent { return []ent{file("../escape", "x")} }},
		{"dotdot inside", "a/../../escape", func(string) []ent { return []ent{file("a/../../escape", "x")} }},
		{"absolute symlink then write", "link/pwned", func(o string) []ent {
			return []ent{symlink("link", o), file("link/pwned", "x")}
		}},
		{"relative symlink then write", "up/pwned", func(string) []ent {
			return []ent{symlink("up", "../outside"), file("up/pwned", "x")}
		}},
		{"symlink chain", "a/pwned", func(string) []ent {
			return []ent{symlink("b", "../outside"), symlink("a", "b"), file("a/pwned", "x")}
		}},
		{"symlink chain through dirs", "x/y/pwned", func(string) []ent {
			return []ent{dir("x/"), symlink("x/y", "../z"), symlink("z", "../../outside"), file("x/y/pwned", "x")}
		}},
		{"hardlink to /etc/passwd", "passwd", func(string) []ent { return []ent{hardlink("passwd", "/etc/passwd")} }},
		{"hardlink dotdot", "passwd", func(string) []ent { return []ent{hardlink("passwd", "../../../../../../etc/passwd")} }},
		{"hardlink through symlink", "passwd", func(string) []ent {
			return []ent{symlink("etc", "/etc"), hardlink("passwd", "etc/passwd")}
		}},
		{"dir through symlink", "d/sub/", func(o string) []ent { return []ent{symlink("d", o), dir("d/sub/")} }},
		{"whiteout through symlink", "d/.wh.x", func(o string) []ent { return []ent{symlink("d", o), file("d/.wh.x", "")} }},
		{"device through symlink", "d/null", func(o string) []ent {
			return []ent{symlink("d", o), {name: "d/null", typ: tar.TypeFifo, mode: 0o644}}
		}},
		{"write through symlink to /", "l/f", func(o string) []ent {
			return []ent{symlink("l", "/"), file("l/f", "x")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
			os.Mkdir(root, 0o755)
			os.Mkdir(outside, 0o755)
			err := unpackEntries(t, root, tt.entries(outside)...)
			if !errors.Is(err, ErrUnsafeEntry) {
				t.Fatalf("unpack = %v, want ErrUnsafeEntry", err)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("error %q does not name entry %q", err, tt.bad)
			}
			ents, _ := os.ReadDir(outside)
			if len(ents) != 0 {
				t.Errorf("written outside the root: %v", ents)
			}
			top, _ := os.ReadDir(base)
			if len(top) != 2 {
				t.Errorf("written beside the root: %v", top)
			}
			if _, err := os.Lstat("/escape"); err == nil {
				t.Error("/escape exists")
			}
		})
	}
	// A regular file replacing a symlink to outside replaces the link; it
	// does not write through it.
	root := t.TempDir()
	if err := unpackEntries(t, root, symlink("s", "/etc/passwd"), file("s", "replaced")); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(root, "s")); got != "replaced" {
		t.Errorf("s = %q", got)
	}
	if after, _ := os.ReadFile("/etc/passwd"); !bytes.Equal(after, passwdBefore) {
		t.Fatal("/etc/passwd changed!")
	}
}

func TestNodeType(t *testing.T) {
	for flag, want := range map[byte]uint32{
		tar.TypeChar:  unix.S_IFCHR,
		tar.TypeBlock: unix.S_IFBLK,
		tar.TypeFifo:  unix.S_IFIFO,
	} {
		if got := nodeType(flag); got != want {
			t.Errorf("nodeType(%q) = %#o, want %#o", flag, got, want)
		}
	}
}
