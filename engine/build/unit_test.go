package build

import (
	"archive/tar"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestParseDockerfileErrorsNameTheLine(t *testing.T) {
	cases := []struct{ df, want string }{
		{"FROM busybox\nRUN true\nNOPE x\n", "line 3"},
		{"FROM busybox\n\n\nCOPY one\n", "line 4"},
		{"FROM busybox\nHEALTHCHECK --interval=bad CMD true\n", "line 2"},
		{"ENV X=1\nFROM busybox\n", "before the first FROM"},
		{"", "no instructions"},
	}
	for _, c := range cases {
		_, err := parseDockerfile("my/Dockerfile", []byte(c.df))
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "my/Dockerfile") {
			t.Errorf("%q: %v, want ErrSyntax naming my/Dockerfile and %q", c.df, err, c.want)
		}
	}
	df, err := parseDockerfile("Dockerfile", []byte("# escape=`\nARG A=1\nFROM busybox AS Build\nFROM build\n"))
	if err != nil {
		t.Fatal(err)
	}
	if df.escape != '`' || len(df.metaArgs) != 1 || len(df.stages) != 2 {
		t.Errorf("escape %q meta %d stages %d", df.escape, len(df.metaArgs), len(df.stages))
	}
	if i, ok := df.stageIndex("BUILD", 1); !ok || i != 0 {
		t.Errorf("stage names are case-insensitive: %d %v", i, ok)
	}
	if _, ok := df.stageIndex("build", 0); ok {
		t.Errorf("a stage is visible to itself")
	}
	if i, ok := df.stageIndex("0", 1); !ok || i != 0 {
		t.Errorf("stage by number: %d %v", i, ok)
	}
	if _, err := df.target("nope"); !errors.Is(err, ErrUnknownStage) || !strings.Contains(err.Error(), "build") {
		t.Errorf("unknown target: %v", err)
	}
}

func TestGlobalArgs(t *testing.T) {
	df, err := parseDockerfile("Dockerfile", []byte("ARG REG=docker.io\nARG IMG=${REG}/busybox\nARG TAG\nARG TARGETARCH\nFROM ${IMG}:${TAG:-latest}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := newArgScope(df.escape, map[string]*string{"TAG": ptr("1.36"), "OTHER": ptr("x")})
	if err := a.declareGlobal(df.metaArgs); err != nil {
		t.Fatal(err)
	}
	got, err := a.expandGlobal(df.stages[0].BaseName)
	if err != nil || got != "docker.io/busybox:1.36" {
		t.Errorf("FROM expands to %q (%v)", got, err)
	}
	if a.global["TARGETARCH"] != "amd64" {
		t.Errorf("TARGETARCH = %q", a.global["TARGETARCH"])
	}
	a = newArgScope(df.escape, nil)
	_ = a.declareGlobal(df.metaArgs)
	if got, _ := a.expandGlobal(df.stages[0].BaseName); got != "docker.io/busybox:latest" {
		t.Errorf("FROM without --build-arg: %q", got)
	}
	if !slices.Equal(newArgScope('\\', map[string]*string{"B": ptr(""), "A": ptr("")}).unused(), []string{"A", "B"}) {
		t.Errorf("unused not sorted")
	}
}

func TestPlanBuildsOnlyNeededStages(t *testing.T) {
	df, err := parseDockerfile("Dockerfile", []byte(`FROM busybox AS base
FROM base AS deps
RUN true
FROM busybox AS unused
RUN true
FROM busybox AS tool
FROM deps AS final
COPY --from=tool /x /x
COPY --from=busybox:latest /bin/sh /sh
`))
	if err != nil {
		t.Fatal(err)
	}
	r := &run{df: df, args: newArgScope(df.escape, nil)}
	got, err := r.plan(4)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("plan = %v, want %v", got, want)
	}
	// 4 stages + RUN + 2 COPY
	if r.total != 7 {
		t.Errorf("total steps = %d, want 7", r.total)
	}
	got, _ = r.plan(2)
	if !slices.Equal(got, []int{2}) {
		t.Errorf("plan of unused = %v", got)
	}
}

func TestDestPath(t *testing.T) {
	cases := []struct{ dest, wd, want string }{
		{"/a", "", "/a"},
		{"/a/", "", "/a/"},
		{"/a/.", "", "/a/"},
		{"/a/./b", "", "/a/b"},
		{".", "", "/"},
		{".", "/w", "/w/"},
		{"./", "/w", "/w/"},
		{"rel", "/w", "/w/rel"},
		{"rel/", "/w", "/w/rel/"},
		{"../up", "/w/x", "/w/up"},
		{"/", "/w", "/"},
	}
	for _, c := range cases {
		if got := destPath(c.dest, c.wd); got != c.want {
			t.Errorf("destPath(%q, %q) = %q, want %q", c.dest, c.wd, got, c.want)
		}
	}
}

func TestCleanSource(t *testing.T) {
	for in, want := range map[string]string{".": "", "./a/b": "a/b", "/abs/x": "abs/x", "a/../b": "b", "a/": "a"} {
		got, err := cleanSource(in)
		if err != nil || got != want {
			t.Errorf("cleanSource(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"..", "../x", "a/../../x"} {
		if _, err := cleanSource(in); !errors.Is(err, ErrNotInContext) {
			t.Errorf("cleanSource(%q): %v, want ErrNotInContext", in, err)
		}
	}
}

func TestCollectAndHash(t *testing.T) {
	dir := writeContext(t, map[string]string{
		".dockerignore": "*.secret\nbuild/\n!build/keep\n",
		"a.txt":         "a", "b.secret": "s", "src/x.go": "x", "src/y.secret": "s", "build/out": "o", "build/keep": "k",
	})
	c, err := openContext(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	pm, _ := c.matcher()
	srcs, err := collect(root, []string{"."}, pm, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	for _, e := range srcs[0].entries {
		dests = append(dests, e.dest)
	}
	// root-level *.secret is ignored; src/y.secret is not (patterns are
	// anchored at the context root); build/ is kept only for build/keep.
	want := []string{".dockerignore", "a.txt", "build", "build/keep", "src", "src/x.go", "src/y.secret"}
	if !slices.Equal(dests, want) {
		t.Errorf("entries = %q, want %q", dests, want)
	}
	if _, err := collect(root, []string{"b.secret"}, pm, nil, ""); !errors.Is(err, ErrNotInContext) || !strings.Contains(err.Error(), ".dockerignore") {
		t.Errorf("ignored file named: %v", err)
	}
	if _, err := collect(root, []string{"nope.txt"}, pm, nil, " (context X)"); !errors.Is(err, ErrNotInContext) || !strings.Contains(err.Error(), "nope.txt") {
		t.Errorf("missing file: %v", err)
	}
	h1, err := hashSources(root, srcs)
	if err != nil {
		t.Fatal(err)
	}
	// content, mode and a new file change the hash; an ignored file does not
	rehash := func() string {
		t.Helper()
		s, err := collect(root, []string{"."}, pm, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		h, err := hashSources(root, s)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if rehash() != h1 {
		t.Fatal("hash not stable")
	}
	writeFiles(t, dir, map[string]string{"b.secret": "changed", "build/out": "changed"})
	if rehash() != h1 {
		t.Errorf("changing ignored files changed the hash")
	}
	writeFiles(t, dir, map[string]string{"a.txt": "b"})
	h2 := rehash()
	if h2 == h1 {
		t.Errorf("content change kept the hash")
	}
	os.Chmod(filepath.Join(dir, "a.txt"), 0o600)
	h3 := rehash()
	if h3 == h2 {
		t.Errorf("mode change kept the hash")
	}
	writeFiles(t, dir, map[string]string{"src/new": ""})
	if rehash() == h3 {
		t.Errorf("a new file kept the hash")
	}
}

type fakeInfo struct {
	name string
	mode fs.FileMode
	size int64
}

func (f fakeInfo) Name() string       { return f.name }
func (f fakeInfo) Size() int64        { return f.size }
func (f fakeInfo) Mode() fs.FileMode  { return f.mode }
func (f fakeInfo) ModTime() time.Time { return time.Unix(1700000000, 123456789) }
func (f fakeInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fakeInfo) Sys() any           { return nil }

func TestLayerHeaders(t *testing.T) {
	hs := headers(node{rel: "etc/gone", fi: fakeInfo{mode: fs.ModeDevice | fs.ModeCharDevice}, whiteout: true})
	if len(hs) != 1 || hs[0].Name != "etc/.wh.gone" || hs[0].Typeflag != tar.TypeReg || hs[0].Size != 0 {
		t.Errorf("whiteout: %+v", hs)
	}
	hs = headers(node{rel: "top", fi: fakeInfo{mode: fs.ModeDir | 0o755}, whiteout: true})
	if len(hs) != 1 || hs[0].Name != ".wh.top" {
		t.Errorf("whiteout at root: %+v", hs)
	}
	hs = headers(node{rel: "d", fi: fakeInfo{mode: fs.ModeDir | 0o750}, opaque: true, uid: 5, gid: 6,
		xattrs: map[string]string{"trusted.overlay.opaque": "y", "trusted.overlay.origin": "x", "user.keep": "v"}})
	if len(hs) != 2 || hs[0].Name != "d/" || hs[0].Typeflag != tar.TypeDir || hs[1].Name != "d/"+opaqueMarker {
		t.Fatalf("opaque dir: %+v", hs)
	}
	if hs[0].Uid != 5 || hs[0].Gid != 6 || hs[0].Mode != 0o750 || !hs[0].ModTime.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("dir header: %+v", hs[0])
	}
	if len(hs[0].PAXRecords) != 1 || hs[0].PAXRecords["SCHILY.xattr.user.keep"] != "v" {
		t.Errorf("xattrs: %v (overlay's must be dropped)", hs[0].PAXRecords)
	}
	hs = headers(node{rel: "b", fi: fakeInfo{mode: 0o644, size: 10}, hardlink: "a"})
	if hs[0].Typeflag != tar.TypeLink || hs[0].Linkname != "a" || hs[0].Size != 0 {
		t.Errorf("hard link: %+v", hs[0])
	}
	hs = headers(node{rel: "s", fi: fakeInfo{mode: fs.ModeSymlink | 0o777}, link: "../t"})
	if hs[0].Typeflag != tar.TypeSymlink || hs[0].Linkname != "../t" {
		t.Errorf("symlink: %+v", hs[0])
	}
	hs = headers(node{rel: "x", fi: fakeInfo{mode: 0o755 | fs.ModeSetuid | fs.ModeSticky, size: 3}})
	if hs[0].Typeflag != tar.TypeReg || hs[0].Size != 3 || hs[0].Mode != 0o5755 {
		t.Errorf("file: %+v mode %o", hs[0], hs[0].Mode)
	}
	if hs := headers(node{rel: "sock", fi: fakeInfo{mode: fs.ModeSocket}}); hs != nil {
		t.Errorf("socket archived: %+v", hs)
	}
	if fileMode(0o4755) != 0o755|fs.ModeSetuid || fileMode(0o1777) != 0o777|fs.ModeSticky {
		t.Errorf("fileMode")
	}
}

func TestStepText(t *testing.T) {
	s := Step{ID: 3, Stage: "builder", Index: 2, Total: 5, Instruction: "RUN make", Status: StatusStarted}
	if s.String() != "#3 [builder 2/5] RUN make" {
		t.Errorf("%q", s.String())
	}
	s.Stage = ""
	if s.Title() != "[2/5] RUN make" {
		t.Errorf("%q", s.Title())
	}
	s.Status = StatusCached
	if s.String() != "#3 CACHED" {
		t.Errorf("%q", s.String())
	}
	s.Status, s.Err = StatusError, errors.New("boom")
	if s.String() != "#3 ERROR: boom" {
		t.Errorf("%q", s.String())
	}
	if got := oneLine("RUN a \\\n    b"); got != "RUN a \\ b" {
		t.Errorf("oneLine = %q", got)
	}
	if got := oneLine(strings.Repeat("x", 300)); len(got) != 200 {
		t.Errorf("oneLine long: %d", len(got))
	}
}

func TestHashKeyChains(t *testing.T) {
	if hashKey("p", "a", "b") == hashKey("p", "ab") || hashKey("p", "a") == hashKey("q", "a") {
		t.Error("hashKey collides")
	}
	if a, b := hashKey("p", "a"), hashKey("p", "a"); a != b {
		t.Error("hashKey unstable")
	}
}

func TestRunErrorText(t *testing.T) {
	err := error(&RunError{Command: "RUN false", ExitCode: 1, Output: []string{"oops"}})
	if !errors.Is(err, ErrStepFailed) || !strings.Contains(err.Error(), "exit code 1") || !strings.Contains(err.Error(), "oops") {
		t.Errorf("%v", err)
	}
}

func TestHostFiles(t *testing.T) {
	dir := t.TempDir()
	hosts, resolv, err := hostFiles(dir, "none", []string{"db:10.0.0.5", "v6=::1"})
	if err != nil {
		t.Fatal(err)
	}
	if resolv != "" {
		t.Errorf("network none got a resolv.conf")
	}
	data, _ := os.ReadFile(hosts)
	if !strings.Contains(string(data), "10.0.0.5\tdb\n") || !strings.Contains(string(data), "::1\tv6\n") {
		t.Errorf("hosts:\n%s", data)
	}
	if _, _, err := hostFiles(dir, "none", []string{"bad"}); err == nil {
		t.Errorf("bad extra host accepted")
	}
}

func TestServiceOptions(t *testing.T) {
	p := &types.Project{Name: "proj", WorkingDir: "/srv/proj"}
	v := "1"
	svc := types.ServiceConfig{Name: "web"}
	svc.Build = &types.BuildConfig{
		Context: "app", Dockerfile: "Dockerfile.dev", Args: types.MappingWithEquals{"A": &v, "NIL": nil},
		Target: "final", Labels: types.Labels{"l": "v"}, NoCache: true, Tags: []string{"extra:1"}, Network: "none",
		ExtraHosts: types.HostsList{"db": []string{"10.0.0.2"}},
	}
	o, err := ServiceOptions(p, svc, false, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.ContextDir != "/srv/proj/app" || o.Dockerfile != "Dockerfile.dev" || o.Target != "final" || !o.NoCache || !o.Pull || o.Network != "none" {
		t.Errorf("options: %+v", o)
	}
	if !slices.Equal(o.Tags, []string{"proj-web", "extra:1"}) {
		t.Errorf("tags %v", o.Tags)
	}
	if _, ok := o.Args["NIL"]; ok || *o.Args["A"] != "1" {
		t.Errorf("args %v", o.Args)
	}
	if !slices.Equal(o.ExtraHosts, []string{"db:10.0.0.2"}) {
		t.Errorf("extra hosts %v", o.ExtraHosts)
	}
	svc.Image = "myimg:2"
	if o, _ := ServiceOptions(p, svc, false, false, nil); o.Tags[0] != "myimg:2" {
		t.Errorf("tags %v", o.Tags)
	}
	svc.Build.Platforms = []string{"linux/arm64"}
	if _, err := ServiceOptions(p, svc, false, false, nil); !errors.Is(err, ErrPlatform) || !strings.Contains(err.Error(), "web") {
		t.Errorf("platform: %v", err)
	}
	svc.Build = nil
	if _, err := ServiceOptions(p, svc, false, false, nil); err == nil || !strings.Contains(err.Error(), "web") {
		t.Errorf("no build: %v", err)
	}
}

func TestResolveIn(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"real/sub", "usr/lib"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	links := map[string]string{"abs": "/real", "rel": "real", "lib": "usr/lib", "up": "../../real", "l1": "/l2", "l2": "l1", "flink": "/real/file"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	cases := []struct {
		in         string
		followLast bool
		want       string
	}{
		{"abs/sub/x", true, "real/sub/x"},
		{"rel/sub", true, "real/sub"},
		{"lib/libc.so", true, "usr/lib/libc.so"},
		{"real/sub/../../up/sub", true, "real/sub"},
		{"missing/abs", true, "missing/abs"},
		{"abs", false, "abs"},
		{"abs/sub/../../abs", false, "abs"},
		{"flink", true, "real/file"},
		{"", true, ""},
	}
	for _, c := range cases {
		got, err := resolveIn(root, c.in, c.followLast)
		if err != nil || got != c.want {
			t.Errorf("resolveIn(%q, %v) = %q, %v; want %q", c.in, c.followLast, got, err, c.want)
		}
	}
	if _, err := resolveIn(root, "l1/x", true); err == nil {
		t.Errorf("symlink loop resolved")
	}
}
