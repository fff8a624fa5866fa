package volumes

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/safepath"
)

func bindVol(src, target string, bind *types.ServiceVolumeBind) types.ServiceVolumeConfig {
	return types.ServiceVolumeConfig{Type: types.VolumeTypeBind, Source: src, Target: target, Bind: bind}
}

func request(t *testing.T, vols ...types.ServiceVolumeConfig) Request {
	return Request{Project: "proj", WorkingDir: t.TempDir(), Service: "web", Container: "proj-web-1", Volumes: vols}
}

func onlyMount(t *testing.T, mounts []specs.Mount) specs.Mount {
	t.Helper()
	if len(mounts) != 1 {
		t.Fatalf("mounts = %+v, want one", mounts)
	}
	return mounts[0]
}

func TestBindCreateHostPath(t *testing.T) {
	m, _ := newTestManager(t)
	req := request(t, bindVol("", "/data", &types.ServiceVolumeBind{CreateHostPath: true}))
	src := filepath.Join(req.WorkingDir, "made", "here")
	req.Volumes[0].Source = src
	mounts, used, err := m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		t.Fatalf("source not created: %v", err)
	}
	want := specs.Mount{Destination: "/data", Type: "bind", Source: src, Options: []string{"rbind", "rprivate"}}
	if got := onlyMount(t, mounts); !mountEqual(got, want) {
		t.Fatalf("mount = %+v, want %+v", got, want)
	}
	if len(used) != 0 {
		t.Fatalf("used = %v, want no volume", used)
	}
}

func TestBindMissingWithoutCreateHostPath(t *testing.T) {
	m, _ := newTestManager(t)
	for _, bind := range []*types.ServiceVolumeBind{nil, {CreateHostPath: false}} {
		req := request(t, bindVol("", "/srv/data", bind))
		req.Volumes[0].Source = filepath.Join(req.WorkingDir, "missing")
		_, _, err := m.Mounts(t.Context(), req)
		if err == nil {
			t.Fatal("missing bind source accepted")
		}
		for _, want := range []string{`service "web"`, req.Volumes[0].Source, "/srv/data", "create_host_path"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %s", err, want)
			}
		}
		if _, err := os.Stat(req.Volumes[0].Source); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("source was created: %v", err)
		}
	}
}

func TestBindOptions(t *testing.T) {
	m, _ := newTestManager(t)
	dir := t.TempDir()
	tests := []struct {
		name string
		vol  types.ServiceVolumeConfig
		want []string
	}{
		{"rw", bindVol(dir, "/a", nil), []string{"rbind", "rprivate"}},
		{"ro", types.ServiceVolumeConfig{Type: "bind", Source: dir, Target: "/a", ReadOnly: true}, []string{"rbind", "ro", "rprivate"}},
		{"consistency ignored", types.ServiceVolumeConfig{Type: "bind", Source: dir, Target: "/a", Consistency: "cached"}, []string{"rbind", "rprivate"}},
		{"selinux ignored", bindVol(dir, "/a", &types.ServiceVolumeBind{SELinux: "z"}), []string{"rbind", "rprivate"}},
		{"non-recursive", bindVol(dir, "/a", &types.ServiceVolumeBind{Recursive: "disabled"}), []string{"bind", "rprivate"}},
	}
	for _, p := range []string{"rprivate", "private", "rshared", "shared", "rslave", "slave"} {
		tests = append(tests, struct {
			name string
			vol  types.ServiceVolumeConfig
			want []string
		}{p, bindVol(dir, "/a", &types.ServiceVolumeBind{Propagation: p}), []string{"rbind", p}})
	}
	for _, tt := range tests {
		mounts, _, err := m.Mounts(t.Context(), request(t, tt.vol))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := onlyMount(t, mounts); !slices.Equal(got.Options, tt.want) || got.Source != dir {
			t.Errorf("%s: mount = %+v, want options %v", tt.name, got, tt.want)
		}
	}
	_, _, err := m.Mounts(t.Context(), request(t, bindVol(dir, "/a", &types.ServiceVolumeBind{Propagation: "sideways"})))
	if err == nil || !strings.Contains(err.Error(), "sideways") || !strings.Contains(err.Error(), dir) {
		t.Errorf("bad propagation: %v", err)
	}
}

func TestBindRelativeAndHome(t *testing.T) {
	m, _ := newTestManager(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	req := request(t,
		bindVol("./conf", "/conf", &types.ServiceVolumeBind{CreateHostPath: true}),
		bindVol("~/cache", "/cache", &types.ServiceVolumeBind{CreateHostPath: true}))
	mounts, _, err := m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if mounts[0].Source != filepath.Join(req.WorkingDir, "conf") || mounts[1].Source != filepath.Join(home, "cache") {
		t.Fatalf("sources = %s, %s", mounts[0].Source, mounts[1].Source)
	}
}

func namedVol(src, target string) types.ServiceVolumeConfig {
	return types.ServiceVolumeConfig{Type: types.VolumeTypeVolume, Source: src, Target: target}
}

func TestNamedVolumeCreatedWithLabelsAndReused(t *testing.T) {
	m, _ := newTestManager(t)
	req := request(t, namedVol("data", "/var/lib/data"))
	req.ProjectVolumes = types.Volumes{"data": {Name: "proj_data", Labels: types.Labels{"tier": "db"}}}
	mounts, used, err := m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	v := mustGet(t, m, "proj_data")
	if v.Labels[LabelProject] != "proj" || v.Labels[LabelVolume] != "data" || v.Labels["tier"] != "db" || v.Anonymous {
		t.Fatalf("volume = %+v", v)
	}
	want := specs.Mount{Destination: "/var/lib/data", Type: "bind", Source: v.Mountpoint, Options: []string{"rbind", "rprivate"}}
	if got := onlyMount(t, mounts); !mountEqual(got, want) {
		t.Fatalf("mount = %+v, want %+v", got, want)
	}
	if len(used) != 1 || used[0] != (Used{Name: "proj_data", Target: "/var/lib/data"}) {
		t.Fatalf("used = %+v", used)
	}
	if err := os.WriteFile(filepath.Join(v.Mountpoint, "keep"), []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}
	req.Volumes[0].ReadOnly = true
	mounts, _, err = m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := onlyMount(t, mounts); got.Source != v.Mountpoint || !slices.Contains(got.Options, "ro") {
		t.Fatalf("second mount = %+v", got)
	}
	if _, err := os.Stat(filepath.Join(v.Mountpoint, "keep")); err != nil {
		t.Fatalf("data lost on reuse: %v", err)
	}
	// Another project's volume of the same name is refused.
	other := req
	other.Project = "other"
	if _, _, err := m.Mounts(t.Context(), other); !errors.Is(err, ErrConflict) {
		t.Fatalf("other project: %v", err)
	}
}

func TestNamedVolumeErrors(t *testing.T) {
	m, _ := newTestManager(t)
	req := request(t, namedVol("db", "/db"))
	_, _, err := m.Mounts(t.Context(), req)
	if err == nil || !strings.Contains(err.Error(), "not declared") || !strings.Contains(err.Error(), "db:/db") {
		t.Errorf("undeclared: %v", err)
	}
	req.ProjectVolumes = types.Volumes{"db": {Name: "shared-db", External: true}}
	_, _, err = m.Mounts(t.Context(), req)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "berth volume create shared-db") || !strings.Contains(err.Error(), `service "web"`) {
		t.Errorf("external: %v", err)
	}
	req.ProjectVolumes = types.Volumes{"db": {Name: "proj_db", Driver: "rexray"}}
	_, _, err = m.Mounts(t.Context(), req)
	if !errors.Is(err, ErrDriver) {
		t.Errorf("driver: %v", err)
	}
}

func TestBindDriverOptsVolumeMountsDevice(t *testing.T) {
	m, _ := newTestManager(t)
	dev := t.TempDir()
	req := request(t, namedVol("host", "/h"))
	req.ProjectVolumes = types.Volumes{"host": {Name: "proj_host", Driver: "local", DriverOpts: types.Options{"type": "none", "o": "bind,ro", "device": dev}}}
	mounts, _, err := m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := onlyMount(t, mounts); got.Source != dev || !slices.Contains(got.Options, "ro") {
		t.Fatalf("mount = %+v", got)
	}
	if err := os.Remove(dev); err != nil {
		t.Fatal(err)
	}
	_, _, err = m.Mounts(t.Context(), req)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), dev) {
		t.Fatalf("missing device: %v", err)
	}
}

// TestSubpath: a subpath is checked (and made when missing, as berth
// always has; Docker refuses a missing one) when the container is
// created, and mounted from a staging path that is bound afresh before
// each start (Used.Stage), never from a path into the volume.
func TestSubpath(t *testing.T) {
	m, _ := newTestManager(t)
	subReq := func(sp string) Request {
		req := request(t, namedVol("data", "/d"))
		req.ProjectVolumes = types.Volumes{"data": {Name: "proj_data"}}
		req.Volumes[0].Volume = &types.ServiceVolumeVolume{Subpath: sp}
		req.StageDir = filepath.Join(t.TempDir(), "subpath")
		return req
	}
	for _, sp := range []string{"../x", "a/../../x", "/abs"} {
		if _, _, err := m.Mounts(t.Context(), subReq(sp)); err == nil || !strings.Contains(err.Error(), "subpath") {
			t.Errorf("subpath %q: %v", sp, err)
		}
	}
	req := subReq("site/www")
	mounts, used, err := m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	data := mustGet(t, m, "proj_data").Mountpoint
	if fi, err := os.Stat(filepath.Join(data, "site", "www")); err != nil || !fi.IsDir() {
		t.Fatalf("missing subpath not made: %v", err)
	}
	stage := filepath.Join(req.StageDir, "1")
	if got := onlyMount(t, mounts); got.Source != stage {
		t.Fatalf("source = %s, want the staging path %s", got.Source, stage)
	}
	if len(used) != 1 || used[0].Stage == nil {
		t.Fatalf("used = %+v, want one with a stage", used)
	}
	want := safepath.Bind{Root: data, Path: "site/www", Target: stage, What: `service "web": volume "data"`, Create: true}
	if *used[0].Stage != want {
		t.Fatalf("stage = %+v, want %+v", *used[0].Stage, want)
	}
	// A file is a subpath too.
	mkfile(t, filepath.Join(data, "conf.ini"), "x", 0o644)
	if _, _, err := m.Mounts(t.Context(), subReq("conf.ini")); err != nil {
		t.Errorf("file subpath: %v", err)
	}
	// A symlink in the volume is refused, even one that stays inside it.
	for link, to := range map[string]string{"esc": "/etc", "in": "site", "up": "../../.."} {
		if err := os.Symlink(to, filepath.Join(data, link)); err != nil {
			t.Fatal(err)
		}
		for _, sp := range []string{link, link + "/www"} {
			_, _, err := m.Mounts(t.Context(), subReq(sp))
			if !errors.Is(err, safepath.ErrSymlink) || !strings.Contains(err.Error(), `service "web"`) || !strings.Contains(err.Error(), "subpath") {
				t.Errorf("symlinked subpath %q: %v", sp, err)
			}
		}
	}
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestImageVolumeBecomesAnonymous(t *testing.T) {
	m := New(filepath.Join(t.TempDir(), "volumes"), WithMounter(&fakeMounter{}))
	rootfs := t.TempDir()
	mkfile(t, filepath.Join(rootfs, "data", "seed.txt"), "seed", 0o644)
	req := request(t)
	req.Rootfs = rootfs
	req.ImageVolumes = map[string]struct{}{"/data": {}, "/covered/": {}}
	req.Volumes = []types.ServiceVolumeConfig{bindVol(t.TempDir(), "/covered", nil)}
	mounts, used, err := m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(used) != 1 || !used[0].Anonymous || used[0].Target != "/data" || !hex64.MatchString(used[0].Name) {
		t.Fatalf("used = %+v", used)
	}
	v := mustGet(t, m, used[0].Name)
	if !v.Anonymous || v.Labels[LabelProject] != "proj" || v.Labels[LabelContainer] != "proj-web-1" {
		t.Fatalf("anonymous volume = %+v", v)
	}
	if _, ok := v.Labels[LabelAnonymous]; !ok {
		t.Fatalf("no %s label: %v", LabelAnonymous, v.Labels)
	}
	if len(mounts) != 2 || mounts[1].Destination != "/data" || mounts[1].Source != v.Mountpoint {
		t.Fatalf("mounts = %+v", mounts)
	}
	if b, err := os.ReadFile(filepath.Join(v.Mountpoint, "seed.txt")); err != nil || string(b) != "seed" {
		t.Fatalf("copy-up: %q, %v", b, err)
	}
	// A recreated container keeps its anonymous volume.
	req.Anonymous = map[string]string{"/data": v.Name}
	_, again, err := m.Mounts(t.Context(), req)
	if err != nil || len(again) != 1 || again[0].Name != v.Name {
		t.Fatalf("reuse = %+v, %v", again, err)
	}
}

func TestServiceAnonymousVolumeAndRollback(t *testing.T) {
	m, _ := newTestManager(t)
	req := request(t, namedVol("", "/cache"))
	_, used, err := m.Mounts(t.Context(), req)
	if err != nil || len(used) != 1 || !used[0].Anonymous {
		t.Fatalf("used = %+v, %v", used, err)
	}
	if err := m.Remove(t.Context(), used[0].Name, false, nil); err != nil {
		t.Fatal(err)
	}
	// A later error removes the anonymous volume this call made.
	req.Volumes = append(req.Volumes, bindVol(filepath.Join(req.WorkingDir, "nope"), "/nope", nil))
	if _, _, err := m.Mounts(t.Context(), req); err == nil {
		t.Fatal("want an error")
	}
	if vols, _ := m.List(t.Context(), Filter{}); len(vols) != 0 {
		t.Fatalf("left behind: %s", names(vols))
	}
}

func TestTmpfsMounts(t *testing.T) {
	m, _ := newTestManager(t)
	req := request(t, types.ServiceVolumeConfig{Type: types.VolumeTypeTmpfs, Target: "/cache",
		Tmpfs: &types.ServiceVolumeTmpfs{Size: 64 << 20, Mode: 0o1777}})
	req.Tmpfs = []string{"/run:size=64m,mode=1777", "/tmp", "/bin-cache:exec,uid=1000"}
	mounts, _, err := m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"/cache":     {"noexec", "nosuid", "nodev", "rprivate", "size=64m", "mode=1777"},
		"/run":       {"noexec", "nosuid", "nodev", "rprivate", "size=64m", "mode=1777"},
		"/tmp":       {"noexec", "nosuid", "nodev", "rprivate"},
		"/bin-cache": {"nosuid", "nodev", "rprivate", "exec", "uid=1000"},
	}
	if len(mounts) != len(want) {
		t.Fatalf("mounts = %+v", mounts)
	}
	for _, mt := range mounts {
		if mt.Type != "tmpfs" || mt.Source != "tmpfs" || !slices.Equal(mt.Options, want[mt.Destination]) {
			t.Errorf("%s: %+v, want options %v", mt.Destination, mt, want[mt.Destination])
		}
	}
	req.Volumes, req.Tmpfs = nil, []string{"/run:bogus"}
	if _, _, err := m.Mounts(t.Context(), req); err == nil || !strings.Contains(err.Error(), "bogus") || !strings.Contains(err.Error(), "/run") {
		t.Errorf("bad option: %v", err)
	}
	req.Tmpfs = []string{"relative"}
	if _, _, err := m.Mounts(t.Context(), req); err == nil {
		t.Error("relative tmpfs path accepted")
	}
}

func TestTmpfsSize(t *testing.T) {
	for n, want := range map[int64]string{1 << 30: "size=1g", 3 << 20: "size=3m", 3072: "size=3k", 1536: "size=1536", 1000: "size=1000"} {
		if got := tmpfsSize(n); got != want {
			t.Errorf("tmpfsSize(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestMountsOrderAndDuplicates(t *testing.T) {
	m, _ := newTestManager(t)
	dir := t.TempDir()
	req := request(t, bindVol(dir, "/srv/www/static", nil), bindVol(dir, "/srv", nil), bindVol(dir, "/srv/www", nil))
	req.Tmpfs = []string{"/srv/tmp"}
	mounts, _, err := m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mt := range mounts {
		got = append(got, mt.Destination)
	}
	if strings.Join(got, " ") != "/srv /srv/www /srv/tmp /srv/www/static" {
		t.Fatalf("order = %v", got)
	}
	req.Tmpfs = []string{"/srv/www/"}
	_, _, err = m.Mounts(t.Context(), req)
	if err == nil || !strings.Contains(err.Error(), "duplicate mount point") || !strings.Contains(err.Error(), "/srv/www") {
		t.Fatalf("duplicate: %v", err)
	}
}

func mountEqual(a, b specs.Mount) bool {
	return a.Destination == b.Destination && a.Type == b.Type && a.Source == b.Source && slices.Equal(a.Options, b.Options)
}

// The service volumes as compose-go hands them over: short syntax already
// in long form, relative sources resolved against the project dir.
func TestComposeLoadedProject(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(`
name: demo
services:
  web:
    image: busybox
    volumes:
      - ./html:/usr/share/html:ro
      - data:/data
      - /cache
    tmpfs:
      - /run:size=1m
  strict:
    image: busybox
    volumes:
      - type: bind
        source: ./must-exist
        target: /x
volumes:
  data: {}
`), 0o644))
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")}, cli.WithWorkingDirectory(dir))
	must(t, err)
	p, err := opts.LoadProject(t.Context())
	must(t, err)
	m, _ := newTestManager(t)
	web := p.Services["web"]
	req := Request{Project: p.Name, WorkingDir: p.WorkingDir, Service: "web", Volumes: web.Volumes, Tmpfs: web.Tmpfs, ProjectVolumes: p.Volumes}
	mounts, used, err := m.Mounts(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(mounts) != 4 || len(used) != 2 || used[0].Name != "demo_data" || !used[1].Anonymous {
		t.Fatalf("mounts = %+v, used = %+v", mounts, used)
	}
	if fi, err := os.Stat(filepath.Join(dir, "html")); err != nil || !fi.IsDir() {
		t.Fatalf("short syntax bind source not created: %v", err)
	}
	strict := p.Services["strict"]
	req = Request{Project: p.Name, WorkingDir: p.WorkingDir, Service: "strict", Volumes: strict.Volumes, ProjectVolumes: p.Volumes}
	if _, _, err := m.Mounts(t.Context(), req); err == nil || !strings.Contains(err.Error(), "must-exist") {
		t.Fatalf("long syntax bind to a missing path: %v", err)
	}
}
