package build

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/internal/testimages"
	"github.com/berth-dev/berth/internal/testutil"
)

// testEnv is a builder over its own image store (holding busybox:latest),
// build cache and run dir.
type testEnv struct {
	store    *image.Store
	b        *Builder
	cacheDir string
	runDir   string
}

// newEnv makes a root test's builder: a temp state root, busybox:latest
// imported into a fresh store, RUN on the detected OCI runtime.
func newEnv(t testing.TB, opts ...Opt) *testEnv {
	t.Helper()
	testutil.RequiresRoot(t)
	base := t.TempDir()
	root, runDir := filepath.Join(base, "root"), filepath.Join(base, "run")
	for _, d := range []string{root, runDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	store, err := image.NewStore(filepath.Join(root, "images"))
	if err != nil {
		t.Fatal(err)
	}
	bb, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Import(t.Context(), bb, image.ImportOptions{Tags: []string{testimages.BusyboxName}}); err != nil {
		t.Fatal(err)
	}
	rt := func(ctx context.Context) (ociruntime.Runtime, error) { return ociruntime.Detect(ctx, "", runDir) }
	cacheDir := filepath.Join(root, "build-cache")
	b, err := New(store, rt, cacheDir, append([]Opt{WithPuller(offlinePuller{})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{store: store, b: b, cacheDir: cacheDir, runDir: runDir}
	t.Cleanup(func() { e.checkNoLeaks(t) })
	return e
}

// checkNoLeaks fails when a work dir or an overlay mount of the cache is left.
func (e *testEnv) checkNoLeaks(t testing.TB) {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(e.cacheDir, "tmp"))
	for _, d := range ents {
		t.Errorf("work dir left in the build cache: %s", d.Name())
	}
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(e.cacheDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		t.Errorf("mount left: %s", m.Mountpoint)
		_ = unmountForce(m.Mountpoint) // so the temp dir can go
	}
}

// offlinePuller refuses every pull: tests build from the store only.
type offlinePuller struct{}

var errOffline = errors.New("offline test: no registry")

func (offlinePuller) Pull(ctx context.Context, ref string, o image.PullOptions) (*image.Image, error) {
	return nil, errOffline
}

// writeContext makes a build context dir from path → content ("/" ending
// names a dir).
func writeContext(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	return dir
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// recorder collects progress events.
type recorder struct {
	mu    sync.Mutex
	steps []Step
}

func (r *recorder) add(s Step) { r.mu.Lock(); r.steps = append(r.steps, s); r.mu.Unlock() }

// statuses maps each started step's instruction to its final status.
func (r *recorder) statuses() map[string]StepStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	byID := map[int]string{}
	out := map[string]StepStatus{}
	for _, s := range r.steps {
		if s.Status == StatusStarted {
			byID[s.ID] = s.Title()
			continue
		}
		if s.Status == StatusOutput {
			continue
		}
		out[byID[s.ID]] = s.Status
	}
	return out
}

// titles lists the started steps' titles in order.
func (r *recorder) titles() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.steps {
		if s.Status == StatusStarted {
			out = append(out, s.Title())
		}
	}
	return out
}

// count counts events of status st.
func (r *recorder) count(st StepStatus) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.steps {
		if s.Status == st {
			n++
		}
	}
	return n
}

func (r *recorder) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, s := range r.steps {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// build runs a build with an inline Dockerfile over ctxDir and records its progress.
func (e *testEnv) build(t testing.TB, ctxDir, dockerfile string, o Options) (*image.Image, *recorder, error) {
	t.Helper()
	rec := &recorder{}
	o.ContextDir = ctxDir
	if dockerfile != "" {
		o.DockerfileInline = dockerfile
	}
	o.Progress = rec.add
	img, err := e.b.Build(t.Context(), o)
	return img, rec, err
}

// mustBuild is build that fails the test on error.
func (e *testEnv) mustBuild(t testing.TB, ctxDir, dockerfile string, o Options) (*image.Image, *recorder) {
	t.Helper()
	img, rec, err := e.build(t, ctxDir, dockerfile, o)
	if err != nil {
		t.Fatalf("build: %v\nprogress:\n%s", err, rec.log())
	}
	return img, rec
}

// tarEntry is one entry of a layer or of an image's flattened filesystem.
type tarEntry struct {
	hdr  *tar.Header
	body []byte
}

func readTar(t testing.TB, r io.Reader) map[string]tarEntry {
	t.Helper()
	out := map[string]tarEntry{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = tarEntry{hdr: h, body: body}
	}
}

// layers reads every layer of img (from the store) as a map of entries.
func layers(t testing.TB, img *image.Image) []map[string]tarEntry {
	t.Helper()
	vi, err := img.V1Image()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := vi.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]tarEntry
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, readTar(t, rc))
		rc.Close()
	}
	return out
}

// flat is img's filesystem, layers applied (whiteouts honoured).
func flat(t testing.TB, img *image.Image) map[string]tarEntry {
	t.Helper()
	vi, err := img.V1Image()
	if err != nil {
		t.Fatal(err)
	}
	rc := mutate.Extract(vi)
	defer rc.Close()
	return readTar(t, rc)
}

// fileOf returns the content of p in the image, failing when absent.
func fileOf(t testing.TB, fs map[string]tarEntry, p string) string {
	t.Helper()
	e, ok := fs[strings.TrimPrefix(p, "/")]
	if !ok {
		t.Fatalf("%s not in the image", p)
	}
	return string(e.body)
}

// configOf is img's config as read back from the store's blob.
func configOf(t testing.TB, img *image.Image) *v1.ConfigFile {
	t.Helper()
	vi, err := img.V1Image()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := vi.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func unmountForce(p string) error { return unix.Unmount(p, unix.MNT_DETACH) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
