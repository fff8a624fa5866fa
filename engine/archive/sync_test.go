package archive

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// ltree is tree with symlinks shown as name->target, never followed.
func ltree(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+"->"+target)
		case fi.IsDir():
			out = append(out, rel+"/")
		default:
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func mustWrite(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSyncWritesRemovesAndKeepsLinks: files and directories arrive with
// their content and mode, a second sync of unchanged files writes
// nothing, a removed host file is removed, a host symlink arrives as a
// symlink (its target not followed), a directory replaces a file.
func TestSyncWritesRemovesAndKeepsLinks(t *testing.T) {
	host, ctr := t.TempDir(), t.TempDir()
	root := openRoot(t, ctr)
	mustWrite(t, filepath.Join(host, "a.txt"), "one")
	mustWrite(t, filepath.Join(host, "sub/deep/b.txt"), "two")
	os.Chmod(filepath.Join(host, "sub/deep/b.txt"), 0o751)
	if err := os.Symlink("/etc/passwd", filepath.Join(host, "link")); err != nil {
		t.Fatal(err)
	}
	entries := []SyncEntry{
		{Host: filepath.Join(host, "a.txt"), Target: "/www", Rel: "a.txt"},
		{Host: filepath.Join(host, "sub/deep/b.txt"), Target: "/www", Rel: "sub/deep/b.txt"},
		{Host: filepath.Join(host, "link"), Target: "/www", Rel: "link"},
	}
	st, err := Sync(t.Context(), root, entries, SyncOptions{UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	if st.Written != 2 || st.Links != 1 {
		t.Errorf("stats %+v, want 2 written and 1 link", st)
	}
	if got := ltree(t, filepath.Join(ctr, "www")); got != "a.txt=one link->/etc/passwd sub/ sub/deep/ sub/deep/b.txt=two" {
		t.Errorf("container tree: %s", got)
	}
	if fi, _ := os.Stat(filepath.Join(ctr, "www/sub/deep/b.txt")); fi.Mode().Perm() != 0o751 {
		t.Errorf("mode %v, want 0751", fi.Mode())
	}
	if target, err := os.Readlink(filepath.Join(ctr, "www/link")); err != nil || target != "/etc/passwd" {
		t.Errorf("link: %q %v, want a symlink to /etc/passwd", target, err)
	}
	st, err = Sync(t.Context(), root, entries, SyncOptions{UID: -1, GID: -1})
	if err != nil || st.Written != 0 || st.Unchanged != 3 {
		t.Errorf("second sync: %+v %v, want all unchanged", st, err)
	}
	os.Remove(filepath.Join(host, "a.txt"))
	os.RemoveAll(filepath.Join(host, "sub"))
	if _, err := Sync(t.Context(), root, []SyncEntry{
		{Host: filepath.Join(host, "a.txt"), Target: "/www", Rel: "a.txt"},
		{Host: filepath.Join(host, "sub"), Target: "/www", Rel: "sub"},
	}, SyncOptions{UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	if got := ltree(t, filepath.Join(ctr, "www")); got != "link->/etc/passwd" {
		t.Errorf("after removals: %s", got)
	}
}

// TestSyncNeverFollowsContainerLinks: symlinks the container planted
// where the host has a directory or a file — absolute, relative, to
// /proc — are replaced, and nothing is written outside the container's
// root.
func TestSyncNeverFollowsContainerLinks(t *testing.T) {
	host, ctr, outside := t.TempDir(), t.TempDir(), t.TempDir()
	root := openRoot(t, ctr)
	os.MkdirAll(filepath.Join(ctr, "www"), 0o755)
	for name, target := range map[string]string{
		"abs":  outside,
		"rel":  "../../../../../../" + outside,
		"proc": "/proc/self/root" + outside,
		"file": filepath.Join(outside, "victim"),
	} {
		if err := os.Symlink(target, filepath.Join(ctr, "www", name)); err != nil {
			t.Fatal(err)
		}
	}
	mustWrite(t, filepath.Join(outside, "victim"), "untouched")
	var entries []SyncEntry
	for _, rel := range []string{"abs/x", "rel/x", "proc/x", "file"} {
		mustWrite(t, filepath.Join(host, rel), "evil")
		entries = append(entries, SyncEntry{Host: filepath.Join(host, rel), Target: "/www", Rel: rel})
	}
	if _, err := Sync(t.Context(), root, entries, SyncOptions{UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	if got := ltree(t, outside); got != "victim=untouched" {
		t.Errorf("outside the root: %s", got)
	}
	if got := ltree(t, filepath.Join(ctr, "www")); got != "abs/ abs/x=evil file=evil proc/ proc/x=evil rel/ rel/x=evil" {
		t.Errorf("container: %s", got)
	}
	// a target that is itself a symlink is resolved inside the root
	os.Mkdir(filepath.Join(ctr, "elsewhere"), 0o755)
	os.Symlink("/elsewhere", filepath.Join(ctr, "app"))
	if _, err := Sync(t.Context(), root, []SyncEntry{{Host: filepath.Join(host, "file"), Target: "/app", Rel: "f"}}, SyncOptions{UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(ctr, "elsewhere/f")); err != nil || string(b) != "evil" {
		t.Errorf("target through the image's symlink: %q %v", b, err)
	}
}
