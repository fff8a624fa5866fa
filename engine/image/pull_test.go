package image

import (
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// appImage is a 3-layer image without whiteouts (no root needed to
// unpack it): gzip, gzip, zstd.
func appImage(t testing.TB) v1.Image {
	return imageOf(t,
		layerOf(t, "", dir("bin/"), file("bin/hello", "v1"), file("etc/os-release", "berth")),
		layerOf(t, "", file("bin/hello", "v2"), symlink("bin/hi", "hello")),
		layerOf(t, compression.ZStd, file("app/top", "from the top layer")),
	)
}

func TestPull(t *testing.T) {
	reg := newTestRegistry(t)
	s := newTestStore(t)
	want := appImage(t)
	ref := reg.push(t, "team/app:1", want)
	var events []Event
	var mu sync.Mutex
	img, err := newTestPuller(s).Pull(t.Context(), ref, PullOptions{Progress: func(e Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	wantDigest, _ := want.Digest()
	wantID, _ := want.ConfigName()
	if img.Digest() != wantDigest.String() || img.ID() != wantID.String() {
		t.Errorf("digest %s id %s, want %s %s", img.Digest(), img.ID(), wantDigest, wantID)
	}
	dirs := img.LayerDirs()
	if len(dirs) != 3 {
		t.Fatalf("LayerDirs = %v", dirs)
	}
	if got := readFile(t, filepath.Join(dirs[0], "bin/hello")); got != "v1" {
		t.Errorf("layer 0 bin/hello = %q", got)
	}
	if got := readFile(t, filepath.Join(dirs[1], "bin/hello")); got != "v2" {
		t.Errorf("layer 1 bin/hello = %q", got)
	}
	if got := readFile(t, filepath.Join(dirs[2], "app/top")); got != "from the top layer" {
		t.Errorf("zstd layer app/top = %q", got)
	}
	if img.Config().Config.Cmd[0] != "/bin/sh" || img.Platform() != "linux/amd64" || !img.Created().Equal(testTime) {
		t.Errorf("config: cmd %v platform %s created %v", img.Config().Config.Cmd, img.Platform(), img.Created())
	}
	if img.Size() == 0 || img.LastPull.IsZero() {
		t.Errorf("size %d last pull %v", img.Size(), img.LastPull)
	}
	if !slices.Equal(img.RepoTags, []string{reg.host + "/team/app:1"}) || len(img.RepoDigests) != 1 || !strings.HasSuffix(img.RepoDigests[0], "@"+wantDigest.String()) {
		t.Errorf("RepoTags %v RepoDigests %v", img.RepoTags, img.RepoDigests)
	}
	var complete int
	for _, e := range events {
		if e.Status == StatusPullComplete {
			complete++
		}
	}
	if complete != 3 || events[len(events)-1].Status != StatusDone {
		t.Errorf("events: %d layers complete, last %v", complete, events[len(events)-1])
	}

	// Every way of naming it.
	for _, n := range []string{ref, reg.host + "/team/app:1", img.ID(), img.ID()[7:], img.ID()[7:19], reg.host + "/team/app@" + img.Digest()} {
		got, err := s.Get(n)
		if err != nil || got.Digest() != img.Digest() {
			t.Errorf("Get(%q) = %v, %v", n, got, err)
		}
	}
	for _, n := range []string{reg.host + "/team/app:2", "nope", "other/repo@" + img.Digest()} {
		if _, err := s.Get(n); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), n) {
			t.Errorf("Get(%q) = %v, want ErrNotFound naming it", n, err)
		}
	}

	// A second pull finds everything present.
	events = nil
	if _, err := newTestPuller(s).Pull(t.Context(), ref, PullOptions{Progress: func(e Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}}); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Status == StatusDownloading || e.Status == StatusPullComplete {
			t.Errorf("second pull downloaded: %+v", e)
		}
	}
}

func TestPullIndexPlatforms(t *testing.T) {
	reg := newTestRegistry(t)
	s := newTestStore(t)
	amd := imageOf(t, layerOf(t, "", file("arch", "amd64")))
	armCfg, _ := imageOf(t, layerOf(t, "", file("arch", "arm64"))).ConfigFile()
	armCfg = armCfg.DeepCopy()
	armCfg.Architecture, armCfg.Variant = "arm64", "v8"
	arm, _ := mutate.ConfigFile(imageOf(t, layerOf(t, "", file("arch", "arm64"))), armCfg)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	ref := reg.pushIndex(t, "multi:1", idx)
	idxDigest, _ := idx.Digest()
	p := newTestPuller(s)

	img, err := p.Pull(t.Context(), ref, PullOptions{Platform: "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(img.LayerDirs()[0], "arch")); got != "amd64" || img.Platform() != "linux/amd64" {
		t.Errorf("linux/amd64 pull gave %q (%s)", got, img.Platform())
	}
	if !strings.HasSuffix(img.RepoDigests[0], "@"+idxDigest.String()) {
		t.Errorf("repo digest %v, want the index digest %s", img.RepoDigests, idxDigest)
	}
	if got, err := s.Get(reg.host + "/multi@" + idxDigest.String()); err != nil || got.Digest() != img.Digest() {
		t.Errorf("Get by index digest = %v, %v", got, err)
	}

	for _, pl := range []string{"linux/arm64", "linux/arm64/v8"} {
		img, err = p.Pull(t.Context(), ref, PullOptions{Platform: pl})
		if err != nil {
			t.Fatal(err)
		}
		if got := readFile(t, filepath.Join(img.LayerDirs()[0], "arch")); got != "arm64" || img.Platform() != "linux/arm64/v8" {
			t.Errorf("%s pull gave %q (%s)", pl, got, img.Platform())
		}
	}

	before := storeFiles(t, s)
	_, err = p.Pull(t.Context(), ref, PullOptions{Platform: "linux/s390x"})
	if !errors.Is(err, ErrPlatformNotFound) {
		t.Fatalf("s390x pull = %v, want ErrPlatformNotFound", err)
	}
	for _, w := range []string{"linux/s390x", "linux/amd64", "linux/arm64/v8", "multi:1", reg.host} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if after := storeFiles(t, s); !slices.Equal(before, after) {
		t.Errorf("failed pull changed the store:\n%v\n%v", before, after)
	}
	if _, err := p.Pull(t.Context(), ref, PullOptions{Platform: "linux"}); err == nil || !strings.Contains(err.Error(), "os/arch") {
		t.Errorf("bad platform: %v", err)
	}
}

func TestPullMirror(t *testing.T) {
	reg := newTestRegistry(t)
	s := newTestStore(t)
	reg.push(t, "library/busybox:latest", appImage(t))
	t.Setenv(EnvMirrors, "docker.io=127.0.0.1:1,docker.io="+reg.host) // a dead mirror first
	t.Setenv(EnvInsecure, "")
	cfg, err := LoadConfig(filepath.Join(t.TempDir(), "none.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := NewPuller(s, cfg, WithRemoteOptions(fastRetry))
	img, err := p.Pull(t.Context(), "busybox", PullOptions{})
	if err != nil {
		t.Fatal(err) // docker.io itself is never asked: the mirror answered
	}
	if !slices.Equal(img.RepoTags, []string{"busybox:latest"}) {
		t.Errorf("RepoTags = %v", img.RepoTags)
	}
	for _, n := range []string{"busybox", "docker.io/library/busybox:latest", "library/busybox"} {
		if _, err := s.Get(n); err != nil {
			t.Errorf("Get(%q): %v", n, err)
		}
	}
}

func TestPullSharedLayersConcurrent(t *testing.T) {
	reg := newTestRegistry(t)
	shared1 := layerOf(t, "", file("base", "shared base"))
	shared2 := layerOf(t, "", file("lib", "shared lib"))
	a := imageOf(t, shared1, shared2, layerOf(t, "", file("app", "a")))
	b := imageOf(t, shared1, shared2, layerOf(t, "", file("app", "b")))
	refA, refB := reg.push(t, "a:1", a), reg.push(t, "b:1", b)
	var mu sync.Mutex
	gets := map[string]int{}
	reg.wrap = func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			mu.Lock()
			gets[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]]++
			mu.Unlock()
		}
		next.ServeHTTP(w, r)
	}
	root := filepath.Join(t.TempDir(), "image")
	var wg sync.WaitGroup
	results := make([]*Image, 4)
	errs := make([]error, 4)
	for i, ref := range []string{refA, refB, refA, refB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := NewStore(root) // one Store per goroutine, as two processes would
			if err != nil {
				errs[i] = err
				return
			}
			results[i], errs[i] = newTestPuller(s).Pull(t.Context(), ref, PullOptions{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pull %d: %v", i, err)
		}
	}
	for _, l := range []v1.Layer{shared1, shared2} {
		d, _ := l.Digest()
		if gets[d.String()] != 1 {
			t.Errorf("shared layer %s fetched %d times, want once", d, gets[d.String()])
		}
	}
	s, _ := NewStore(root)
	checkShared(t, s, results[0], results[1])
}

// checkShared checks that images a and b share their two bottom layer dirs
// and that the store holds exactly 4 unpacked layers.
func checkShared(t *testing.T, s *Store, a, b *Image) {
	t.Helper()
	da, db := a.LayerDirs(), b.LayerDirs()
	if da[0] != db[0] || da[1] != db[1] || da[2] == db[2] {
		t.Errorf("layer dirs not shared as expected:\n%v\n%v", da, db)
	}
	if got := readFile(t, filepath.Join(da[2], "app")) + readFile(t, filepath.Join(db[2], "app")); got != "ab" {
		t.Errorf("top layers hold %q", got)
	}
	if got := readFile(t, filepath.Join(da[0], "base")); got != "shared base" {
		t.Errorf("base layer holds %q", got)
	}
	var layers []string
	for _, f := range storeFiles(t, s) {
		if strings.Count(f, "/") == 1 && strings.HasPrefix(f, "layers/") {
			layers = append(layers, f)
		}
	}
	if len(layers) != 4 {
		t.Errorf("layers/ holds %v, want 4 layer dirs and nothing else", layers)
	}
}
