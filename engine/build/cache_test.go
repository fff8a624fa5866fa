package build

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const cacheDockerfile = `FROM busybox
RUN echo one > /one
COPY a.txt /a.txt
RUN cat /a.txt > /copy-of-a
COPY b.txt /b.txt
`

// fsStatuses is the final status of each filesystem step (RUN/COPY/ADD/WORKDIR) by title.
func fsStatuses(rec *recorder) map[string]StepStatus {
	out := map[string]StepStatus{}
	for title, st := range rec.statuses() {
		for _, p := range []string{"] RUN ", "] COPY ", "] ADD ", "] WORKDIR "} {
			if strings.Contains(title, p) {
				out[title] = st
			}
		}
	}
	return out
}

func TestSecondBuildAllCached(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
	img1, rec1 := e.mustBuild(t, dir, cacheDockerfile, Options{Tags: []string{"c:1"}})
	if n := rec1.count(StatusCached); n != 0 {
		t.Errorf("first build: %d cached steps\n%s", n, rec1.log())
	}
	img2, rec2 := e.mustBuild(t, dir, cacheDockerfile, Options{Tags: []string{"c:2"}})
	for title, st := range fsStatuses(rec2) {
		if st != StatusCached {
			t.Errorf("second build: %s is %s, want cached", title, st)
		}
	}
	if n := rec2.count(StatusCached); n != 4 {
		t.Errorf("second build: %d cached steps, want 4\n%s", n, rec2.log())
	}
	if img1.ID() != img2.ID() {
		t.Errorf("all-cached build made a new image: %s then %s", img1.ID(), img2.ID())
	}
	if !configOf(t, img1).Created.Equal(configOf(t, img2).Created.Time) {
		t.Errorf("created differs")
	}
}

func TestChangedContextFileInvalidatesFromItsCopy(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
	img1, _ := e.mustBuild(t, dir, cacheDockerfile, Options{})
	writeFiles(t, dir, map[string]string{"a.txt": "changed\n"})
	img2, rec := e.mustBuild(t, dir, cacheDockerfile, Options{})
	want := map[string]StepStatus{
		"[2/5] RUN echo one > /one":         StatusCached,
		"[3/5] COPY a.txt /a.txt":           StatusDone,
		"[4/5] RUN cat /a.txt > /copy-of-a": StatusDone,
		"[5/5] COPY b.txt /b.txt":           StatusDone,
	}
	got := fsStatuses(rec)
	for title, st := range want {
		if got[title] != st {
			t.Errorf("%s: %s, want %s\n%s", title, got[title], st, rec.log())
		}
	}
	if img1.ID() == img2.ID() {
		t.Errorf("changed context made the same image")
	}
	if got := fileOf(t, flat(t, img2), "/copy-of-a"); got != "changed\n" {
		t.Errorf("/copy-of-a = %q", got)
	}
	// A mode change alone is a change too.
	if err := os.Chmod(filepath.Join(dir, "b.txt"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, rec = e.mustBuild(t, dir, cacheDockerfile, Options{})
	if st := fsStatuses(rec)["[5/5] COPY b.txt /b.txt"]; st != StatusDone {
		t.Errorf("COPY of a file whose mode changed: %s, want done", st)
	}
}

func TestNoCache(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
	e.mustBuild(t, dir, cacheDockerfile, Options{})
	_, rec := e.mustBuild(t, dir, cacheDockerfile, Options{NoCache: true})
	if n := rec.count(StatusCached); n != 0 {
		t.Errorf("--no-cache: %d cached steps\n%s", n, rec.log())
	}
	if n := len(fsStatuses(rec)); n != 4 {
		t.Errorf("--no-cache: %d fs steps, want 4", n)
	}
	// and the cache it refreshed serves the next build
	_, rec = e.mustBuild(t, dir, cacheDockerfile, Options{})
	if n := rec.count(StatusCached); n != 4 {
		t.Errorf("after --no-cache: %d cached steps, want 4\n%s", n, rec.log())
	}
}

func TestCopyFromStageKeyFollowsStageContent(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"src.txt": "v1\n", "other.txt": "x\n"})
	df := `FROM busybox AS builder
COPY src.txt /src.txt
RUN cp /src.txt /built

FROM busybox
COPY other.txt /other.txt
COPY --from=builder /built /built
`
	img1, _ := e.mustBuild(t, dir, df, Options{})
	if got := fileOf(t, flat(t, img1), "/built"); got != "v1\n" {
		t.Fatalf("/built = %q", got)
	}
	writeFiles(t, dir, map[string]string{"src.txt": "v2\n"})
	img2, rec := e.mustBuild(t, dir, df, Options{})
	st := fsStatuses(rec)
	if st["[stage-1 2/3] COPY other.txt /other.txt"] != StatusCached {
		t.Errorf("COPY other.txt not cached: %v", st)
	}
	if st["[stage-1 3/3] COPY --from=builder /built /built"] != StatusDone {
		t.Errorf("COPY --from of a changed stage not run: %v\n%s", st, rec.log())
	}
	if got := fileOf(t, flat(t, img2), "/built"); got != "v2\n" {
		t.Errorf("/built = %q after the builder stage changed", got)
	}
}

func TestCacheEntryWithLayerRemoved(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
	img1, _ := e.mustBuild(t, dir, cacheDockerfile, Options{})
	layersDir := filepath.Join(e.cacheDir, "layers")
	ents, err := os.ReadDir(layersDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) == 0 {
		t.Fatal("no layer in the build cache")
	}
	// remove the unpacked diff of one layer and the whole of another
	for i, d := range ents {
		switch i % 2 {
		case 0:
			if err := os.RemoveAll(filepath.Join(layersDir, d.Name(), "diff")); err != nil {
				t.Fatal(err)
			}
		case 1:
			if err := os.RemoveAll(filepath.Join(layersDir, d.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	img2, _ := e.mustBuild(t, dir, cacheDockerfile, Options{})
	if got := fileOf(t, flat(t, img2), "/copy-of-a"); got != "a\n" {
		t.Errorf("/copy-of-a = %q", got)
	}
	_ = img1
	// the rebuilt layers serve the next build in full
	_, rec := e.mustBuild(t, dir, cacheDockerfile, Options{})
	if n := rec.count(StatusCached); n != 4 {
		t.Errorf("after repairing the cache: %d cached steps, want 4\n%s", n, rec.log())
	}
}

func TestConcurrentBuildsShareCache(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"a.txt": "a\n", "b.txt": "b\n"})
	df := `FROM busybox
COPY a.txt /a.txt
COPY b.txt /b.txt
WORKDIR /w
`
	var wg sync.WaitGroup
	errs := make([]error, 4)
	ids := make([]string, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			img, err := e.b.Build(t.Context(), Options{ContextDir: dir, DockerfileInline: df})
			errs[i] = err
			if err == nil {
				ids[i] = img.ID()
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("build %d: %v", i, err)
		}
	}
	_, rec := e.mustBuild(t, dir, df, Options{})
	if n := rec.count(StatusCached); n != 3 {
		t.Errorf("after concurrent builds: %d cached steps, want 3\n%s", n, rec.log())
	}
}
