package volumes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeMounter remembers what is mounted instead of calling mount(2).
type fakeMounter struct {
	mu      sync.Mutex
	mounted map[string]string // target → "fstype source options"
	mounts  int
}

func (f *fakeMounter) Mount(source, target, fstype, options string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mounted == nil {
		f.mounted = map[string]string{}
	}
	f.mounted[target] = fstype + " " + source + " " + options
	f.mounts++
	return nil
}

func (f *fakeMounter) Unmount(target string, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.mounted, target)
	return nil
}

func (f *fakeMounter) Mounted(target string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.mounted[target]
	return ok, nil
}

var testTime = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func newTestManager(t *testing.T) (*Manager, *fakeMounter) {
	t.Helper()
	fm := &fakeMounter{}
	n := 0
	ids := func() string {
		n++
		return strings.Repeat("0", 62) + string(rune('a'+n/10)) + string(rune('0'+n%10))
	}
	return New(filepath.Join(t.TempDir(), "volumes"), WithMounter(fm), WithClock(func() time.Time { return testTime }), WithIDs(ids)), fm
}

func projectLabels(p, v string) map[string]string {
	return map[string]string{LabelProject: p, LabelVolume: v}
}

func TestCreateWritesRecordAndIsIdempotent(t *testing.T) {
	m, _ := newTestManager(t)
	ctx := t.Context()
	v, err := m.Create(ctx, Spec{Name: "app_data", Labels: projectLabels("app", "data")})
	if err != nil {
		t.Fatal(err)
	}
	if v.Driver != DriverLocal || !v.CreatedAt.Equal(testTime) || v.Mountpoint != filepath.Join(m.Root(), "app_data", "_data") {
		t.Fatalf("volume = %+v", v)
	}
	if fi, err := os.Stat(v.Mountpoint); err != nil || !fi.IsDir() {
		t.Fatalf("data dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(m.Root(), "app_data", "volume.json")); err != nil {
		t.Fatalf("record: %v", err)
	}
	// Writing into it, then creating again, keeps it.
	if err := os.WriteFile(filepath.Join(v.Mountpoint, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := m.Create(ctx, Spec{Name: "app_data", Labels: projectLabels("app", "data")})
	if err != nil {
		t.Fatalf("second create: %v", err)
	}
	if again.Labels[LabelProject] != "app" {
		t.Fatalf("labels = %v", again.Labels)
	}
	if _, err := os.Stat(filepath.Join(v.Mountpoint, "f")); err != nil {
		t.Fatalf("data lost: %v", err)
	}
	got, err := m.Get(ctx, "app_data")
	if err != nil || got.Labels[LabelVolume] != "data" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

func TestCreateConflictNamesBothProjects(t *testing.T) {
	m, _ := newTestManager(t)
	if _, err := m.Create(t.Context(), Spec{Name: "shared", Labels: projectLabels("one", "shared")}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Create(t.Context(), Spec{Name: "shared", Labels: projectLabels("two", "shared")})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	for _, want := range []string{`"shared"`, `"one"`, `"two"`, "external: true"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	// External use by another project is fine.
	if _, err := m.Create(t.Context(), Spec{Name: "shared", External: true}); err != nil {
		t.Fatalf("external: %v", err)
	}
}

func TestCreateErrors(t *testing.T) {
	m, _ := newTestManager(t)
	tests := []struct {
		spec Spec
		is   error
		msg  string
	}{
		{Spec{Name: "ext", External: true}, ErrNotFound,
			`volume "ext" is external but does not exist: create it with 'berth volume create ext'`},
		{Spec{Name: "x1", Driver: "nfs-plugin"}, ErrDriver,
			`volume "x1": driver "nfs-plugin" is not supported (only local)`},
		{Spec{Name: "a"}, ErrInvalidName, `volume name "a"`},
		{Spec{Name: "../etc"}, ErrInvalidName, `volume name "../etc"`},
		{Spec{Name: "bad", DriverOpts: map[string]string{"colour": "red"}}, ErrInvalidOption, `"colour"`},
		{Spec{Name: "bad", DriverOpts: map[string]string{"type": "none", "device": "/tmp"}}, ErrInvalidOption, "o: bind"},
		{Spec{Name: "bad", DriverOpts: map[string]string{"type": "none", "o": "bind", "device": "/no/such/dir/berth"}}, os.ErrNotExist,
			`bind device "/no/such/dir/berth"`},
	}
	for _, tt := range tests {
		_, err := m.Create(t.Context(), tt.spec)
		if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Create(%+v) = %v, want %v containing %q", tt.spec, err, tt.is, tt.msg)
		}
	}
	if vols, _ := m.List(t.Context(), Filter{}); len(vols) != 0 {
		t.Errorf("failed creates left volumes: %v", vols)
	}
}

func TestBindDriverOpts(t *testing.T) {
	m, _ := newTestManager(t)
	dev := t.TempDir()
	v, err := m.Create(t.Context(), Spec{Name: "hostdir", DriverOpts: map[string]string{"type": "none", "o": "bind", "device": dev}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Mountpoint != dev {
		t.Fatalf("Mountpoint = %s, want the device %s", v.Mountpoint, dev)
	}
	if err := m.Remove(t.Context(), "hostdir", false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dev); err != nil {
		t.Fatalf("removing a bind volume touched its device: %v", err)
	}
}

func TestTmpfsDriverOptsMountedAtUseUnmountedAtRemove(t *testing.T) {
	m, fm := newTestManager(t)
	if _, err := m.Create(t.Context(), Spec{Name: "scratch", DriverOpts: map[string]string{"type": "tmpfs", "o": "size=1m"}}); err != nil {
		t.Fatal(err)
	}
	if len(fm.mounted) != 0 {
		t.Fatalf("mounted at create: %v", fm.mounted)
	}
	data := filepath.Join(m.Root(), "scratch", "_data")
	if _, err := m.prepare(t.Context(), mustGet(t, m, "scratch"), "", "/x", false, ""); err != nil {
		t.Fatal(err)
	}
	if got := fm.mounted[data]; got != "tmpfs tmpfs size=1m" {
		t.Fatalf("mounted = %v", fm.mounted)
	}
	if _, err := m.prepare(t.Context(), mustGet(t, m, "scratch"), "", "/x", false, ""); err != nil {
		t.Fatal(err)
	}
	if fm.mounts != 1 {
		t.Fatalf("mounted %d times, want once", fm.mounts)
	}
	if err := m.Remove(t.Context(), "scratch", false, nil); err != nil {
		t.Fatal(err)
	}
	if len(fm.mounted) != 0 {
		t.Fatalf("still mounted after remove: %v", fm.mounted)
	}
}

func mustGet(t *testing.T, m *Manager, name string) *Volume {
	t.Helper()
	v, err := m.Get(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRemove(t *testing.T) {
	m, _ := newTestManager(t)
	ctx := t.Context()
	if _, err := m.Create(ctx, Spec{Name: "busy"}); err != nil {
		t.Fatal(err)
	}
	inUse := func(n string) bool { return n == "busy" }
	for _, force := range []bool{false, true} {
		if err := m.Remove(ctx, "busy", force, inUse); !errors.Is(err, ErrInUse) {
			t.Fatalf("Remove(in use, force=%v) = %v, want ErrInUse", force, err)
		}
	}
	if err := m.Remove(ctx, "busy", false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.Root(), "busy")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("volume dir left: %v", err)
	}
	if err := m.Remove(ctx, "busy", false, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Remove(missing) = %v, want ErrNotFound", err)
	}
	if err := m.Remove(ctx, "busy", true, nil); err != nil {
		t.Fatalf("Remove(missing, force) = %v", err)
	}
}

func TestListAndPrune(t *testing.T) {
	m, _ := newTestManager(t)
	ctx := t.Context()
	for _, s := range []Spec{
		{Name: "a_data", Labels: projectLabels("a", "data")},
		{Name: "b_data", Labels: projectLabels("b", "data")},
		{Name: "anon1", Anonymous: true, Labels: map[string]string{LabelAnonymous: "", LabelProject: "a"}},
		{Name: "anon2", Anonymous: true, Labels: map[string]string{LabelAnonymous: ""}},
	} {
		if _, err := m.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	vols, err := m.List(ctx, Filter{Project: "a"})
	if err != nil || names(vols) != "a_data anon1" {
		t.Fatalf("List(project a) = %s, %v", names(vols), err)
	}
	yes := true
	if vols, _ := m.List(ctx, Filter{Anonymous: &yes}); names(vols) != "anon1 anon2" {
		t.Fatalf("List(anonymous) = %s", names(vols))
	}
	if vols, _ := m.List(ctx, Filter{Labels: map[string]string{LabelVolume: "data"}}); names(vols) != "a_data b_data" {
		t.Fatalf("List(label) = %s", names(vols))
	}
	if err := os.WriteFile(filepath.Join(m.Root(), "anon2", "_data", "f"), make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	inUse := func(n string) bool { return n == "anon1" || n == "a_data" }
	rep, err := m.Prune(ctx, false, inUse)
	if err != nil || strings.Join(rep.Removed, " ") != "anon2" || rep.Reclaimed != 1000 {
		t.Fatalf("Prune = %+v, %v", rep, err)
	}
	rep, err = m.Prune(ctx, true, inUse)
	if err != nil || strings.Join(rep.Removed, " ") != "b_data" {
		t.Fatalf("Prune(all) = %+v, %v", rep, err)
	}
	if vols, _ := m.List(ctx, Filter{}); names(vols) != "a_data anon1" {
		t.Fatalf("left = %s", names(vols))
	}
}

func names(vols []*Volume) string {
	var s []string
	for _, v := range vols {
		s = append(s, v.Name)
	}
	return strings.Join(s, " ")
}

func TestConcurrentCreateOneVolume(t *testing.T) {
	m, _ := newTestManager(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.Create(context.Background(), Spec{Name: "p_v", Labels: projectLabels("p", "v")})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestCreateVolumesDirPrivate: the volumes dir is made 0700 (tightened if an
// older berth left it 0755), so no other user reaches a setuid file a
// container leaves in a volume; umask 000 changes nothing.
func TestCreateVolumesDirPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	m, _ := newTestManager(t)
	if _, err := m.Create(t.Context(), Spec{Name: "one"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(m.Root())
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("volumes dir: %v %v, want 0700", fi.Mode(), err)
	}
	os.Chmod(m.Root(), 0o755)
	if _, err := m.Create(t.Context(), Spec{Name: "two"}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(m.Root()); fi.Mode().Perm() != 0o700 {
		t.Errorf("a 0755 volumes dir was left %v", fi.Mode())
	}
}
