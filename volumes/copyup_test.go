package volumes

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/internal/testutil"
)

func mkfile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

var old = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// imageTree builds a rootfs with /app holding a file, a nested dir, a
// symlink pointing out of the rootfs, a relative symlink and a hard link.
func imageTree(t *testing.T) string {
	t.Helper()
	rootfs := t.TempDir()
	app := filepath.Join(rootfs, "app")
	mkfile(t, filepath.Join(app, "config.ini"), "k=v\n", 0o640)
	mkfile(t, filepath.Join(app, "lib", "deep", "x.so"), "elf", 0o755)
	must(t, os.Chmod(filepath.Join(app, "lib"), 0o750))
	must(t, os.Symlink("/etc/passwd", filepath.Join(app, "passwd")))
	must(t, os.Symlink("../../../../outside", filepath.Join(app, "lib", "up")))
	must(t, os.Link(filepath.Join(app, "config.ini"), filepath.Join(app, "hard.ini")))
	for _, p := range []string{"config.ini", "lib/deep/x.so", "lib/deep", "lib", "."} {
		must(t, os.Chtimes(filepath.Join(app, p), old, old))
	}
	must(t, os.Chmod(app, 0o711))
	return rootfs
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCopyUpFillsNewVolume(t *testing.T) {
	m, _ := newTestManager(t)
	rootfs := imageTree(t)
	req := request(t, namedVol("app", "/app"))
	req.Rootfs = rootfs
	req.ProjectVolumes = types.Volumes{"app": {Name: "proj_app"}}
	if _, _, err := m.Mounts(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	data := mustGet(t, m, "proj_app").Mountpoint

	if b, err := os.ReadFile(filepath.Join(data, "config.ini")); err != nil || string(b) != "k=v\n" {
		t.Fatalf("config.ini = %q, %v", b, err)
	}
	for p, want := range map[string]os.FileMode{
		".": os.ModeDir | 0o711, "config.ini": 0o640, "lib": os.ModeDir | 0o750, "lib/deep/x.so": 0o755,
	} {
		fi, err := os.Lstat(filepath.Join(data, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
		if p != "." && !fi.ModTime().Equal(old) {
			t.Errorf("%s: mtime %v, want %v", p, fi.ModTime(), old)
		}
	}
	if fi, _ := os.Lstat(filepath.Join(data, ".")); !fi.ModTime().Equal(old) {
		t.Errorf("volume root mtime %v, want %v", fi.ModTime(), old)
	}
	for link, want := range map[string]string{"passwd": "/etc/passwd", "lib/up": "../../../../outside"} {
		fi, err := os.Lstat(filepath.Join(data, link))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("%s: not a symlink (%v, %v): it was followed", link, fi, err)
		}
		if got, _ := os.Readlink(filepath.Join(data, link)); got != want {
			t.Errorf("%s -> %s, want %s", link, got, want)
		}
	}
	a, _ := os.Stat(filepath.Join(data, "config.ini"))
	b, _ := os.Stat(filepath.Join(data, "hard.ini"))
	if !os.SameFile(a, b) {
		t.Error("hard link not kept")
	}

	// Emptied, the volume is not filled again.
	must(t, os.RemoveAll(data))
	must(t, os.Mkdir(data, 0o755))
	if _, _, err := m.Mounts(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if empty, _ := isEmptyDir(data); !empty {
		t.Fatal("an initialised volume was filled again")
	}
}

func TestCopyUpSkipsNonEmptyAndNocopy(t *testing.T) {
	m, _ := newTestManager(t)
	rootfs := imageTree(t)
	req := request(t, namedVol("app", "/app"))
	req.Rootfs = rootfs
	req.ProjectVolumes = types.Volumes{"app": {Name: "proj_app"}}
	req.Volumes[0].Volume = &types.ServiceVolumeVolume{NoCopy: true}
	if _, _, err := m.Mounts(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	data := mustGet(t, m, "proj_app").Mountpoint
	if empty, _ := isEmptyDir(data); !empty {
		t.Fatal("nocopy volume was filled")
	}
	// A volume with content already is not overwritten.
	mkfile(t, filepath.Join(data, "mine"), "x", 0o600)
	req.Volumes[0].Volume = nil
	if _, _, err := m.Mounts(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(data, "config.ini")); err == nil {
		t.Fatal("a volume with content was filled")
	}
}

func TestCopyUpFollowsSymlinksInsideRootfs(t *testing.T) {
	m, _ := newTestManager(t)
	rootfs := t.TempDir()
	mkfile(t, filepath.Join(rootfs, "run", "pidfile"), "1", 0o644)
	must(t, os.MkdirAll(filepath.Join(rootfs, "var"), 0o755))
	must(t, os.Symlink("/run", filepath.Join(rootfs, "var", "run")))
	// An escaping link at the target resolves inside the rootfs, not the host.
	must(t, os.Symlink("../../../../../etc", filepath.Join(rootfs, "hostetc")))
	req := request(t, namedVol("", "/var/run"), namedVol("", "/hostetc"))
	req.Rootfs = rootfs
	_, used, err := m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	run := mustGet(t, m, used[0].Name).Mountpoint
	if _, err := os.Stat(filepath.Join(run, "pidfile")); err != nil {
		t.Fatalf("/var/run -> /run not followed inside the rootfs: %v", err)
	}
	if empty, _ := isEmptyDir(mustGet(t, m, used[1].Name).Mountpoint); !empty {
		t.Fatal("copy-up escaped the rootfs")
	}
}

func TestResolveIn(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755))
	must(t, os.Symlink("/a", filepath.Join(dir, "abs")))
	must(t, os.Symlink("../../..", filepath.Join(dir, "a", "up")))
	must(t, os.Symlink("loop", filepath.Join(dir, "loop")))
	r, err := os.OpenRoot(dir)
	must(t, err)
	defer r.Close()
	for in, want := range map[string]string{
		"/": ".", "a/b": "a/b", "/abs/b": "a/b", "a/up/a": "a", "../../a": "a", "abs/missing/../b": "a/b",
	} {
		if got, err := resolveIn(r, in); err != nil || got != want {
			t.Errorf("resolveIn(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	if _, err := resolveIn(r, "loop/x"); err == nil {
		t.Error("symlink loop not detected")
	}
}

func TestCopyUpKeepsOwnership(t *testing.T) {
	testutil.RequiresRoot(t)
	m, _ := newTestManager(t)
	rootfs := t.TempDir()
	app := filepath.Join(rootfs, "srv")
	mkfile(t, filepath.Join(app, "owned"), "x", 0o644)
	mkfile(t, filepath.Join(app, "suid"), "x", 0o755)
	must(t, os.Symlink("owned", filepath.Join(app, "link")))
	must(t, os.Lchown(filepath.Join(app, "owned"), 1234, 5678))
	must(t, os.Lchown(filepath.Join(app, "suid"), 1234, 5678))
	must(t, os.Chmod(filepath.Join(app, "suid"), os.ModeSetuid|0o755))
	must(t, os.Lchown(filepath.Join(app, "link"), 42, 43))
	must(t, os.Lchown(app, 1000, 1000))
	req := request(t, namedVol("", "/srv"))
	req.Rootfs = rootfs
	_, used, err := m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	data := mustGet(t, m, used[0].Name).Mountpoint
	for p, want := range map[string][2]uint32{".": {1000, 1000}, "owned": {1234, 5678}, "suid": {1234, 5678}, "link": {42, 43}} {
		fi, err := os.Lstat(filepath.Join(data, p))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != want[0] || st.Gid != want[1] {
			t.Errorf("%s: owner %d:%d, want %d:%d", p, st.Uid, st.Gid, want[0], want[1])
		}
	}
	if fi, _ := os.Stat(filepath.Join(data, "suid")); fi.Mode() != os.ModeSetuid|0o755 {
		t.Errorf("suid: mode %v", fi.Mode())
	}
}

func TestTmpfsVolumeMountedAndRemoved(t *testing.T) {
	testutil.RequiresRoot(t)
	m := New(filepath.Join(t.TempDir(), "volumes"))
	data := filepath.Join(m.Root(), "scratch", "_data")
	t.Cleanup(func() { _ = SystemMounter{}.Unmount(data, true) })
	if _, err := m.Create(t.Context(), Spec{Name: "scratch", DriverOpts: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m,mode=0750"}}); err != nil {
		t.Fatal(err)
	}
	rootfs := t.TempDir()
	mkfile(t, filepath.Join(rootfs, "cache", "seed"), "s", 0o644)
	req := request(t, namedVol("s", "/cache"))
	req.Rootfs = rootfs
	req.ProjectVolumes = types.Volumes{"s": {Name: "scratch", External: true}}
	mounts, _, err := m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if onlyMount(t, mounts).Source != data {
		t.Fatalf("source = %s", mounts[0].Source)
	}
	if ok, err := (SystemMounter{}).Mounted(data); err != nil || !ok {
		t.Fatalf("not mounted: %v", err)
	}
	var fs syscall.Statfs_t
	must(t, syscall.Statfs(data, &fs))
	if fs.Type != 0x01021994 { // TMPFS_MAGIC
		t.Fatalf("filesystem type %#x, want tmpfs", fs.Type)
	}
	if _, err := os.Stat(filepath.Join(data, "seed")); err != nil {
		t.Fatalf("copy-up into tmpfs: %v", err)
	}
	if err := m.Remove(t.Context(), "scratch", false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.Root(), "scratch")); !os.IsNotExist(err) {
		t.Fatalf("volume dir left after remove: %v", err)
	}
}
