package build

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPrune: prune empties the step cache (the next build runs its steps
// again) and keeps cache mounts unless all; built images stay usable.
func TestPrune(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"a": "a\n"})
	df := "FROM busybox\nCOPY a /a\nRUN --mount=type=cache,target=/c echo x >> /c/n && wc -l < /c/n > /count\n"
	e.mustBuild(t, dir, df, Options{Tags: []string{"pruned:1"}})
	rep, err := e.b.Prune(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries < 2 || rep.Reclaimed == 0 {
		t.Errorf("prune report %+v: want the two steps' entries and some bytes", rep)
	}
	for _, d := range []string{"keys", "layers", "tmp"} {
		if ents, _ := os.ReadDir(filepath.Join(e.cacheDir, d)); len(ents) != 0 {
			t.Errorf("%s not empty after prune: %d entries", d, len(ents))
		}
	}
	if _, err := e.store.Get("pruned:1"); err != nil {
		t.Errorf("prune removed a built image: %v", err)
	}
	img2, rec := e.mustBuild(t, dir, df, Options{})
	if n := rec.count(StatusCached); n != 0 {
		t.Errorf("%d steps cached after prune\n%s", n, rec.log())
	}
	if got := fileOf(t, flat(t, img2), "/count"); got != "2\n" {
		t.Errorf("the cache mount did not survive a plain prune: /count = %q", got)
	}
	if _, err := e.b.Prune(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	img3, _ := e.mustBuild(t, dir, df, Options{})
	if got := fileOf(t, flat(t, img3), "/count"); got != "1\n" {
		t.Errorf("prune --all kept the cache mount: /count = %q", got)
	}
}
