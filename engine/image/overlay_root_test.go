package image

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestPullOverlayMount pulls a 3-layer image with a whiteout and an opaque
// dir, mounts its layers as overlayfs, and reads the merged view.
func TestPullOverlayMount(t *testing.T) {
	testutil.RequiresRoot(t)
	reg := newTestRegistry(t)
	s := newTestStore(t)
	ref := reg.push(t, "layers:1", imageOf(t,
		layerOf(t, "", file("etc/version", "1"), file("gone/file", "deleted later"), file("opq/lower", "hidden"), file("keep", "kept")),
		layerOf(t, "", file("gone/.wh.file", ""), dir("opq/"), file("opq/.wh..wh..opq", ""), file("opq/upper", "visible")),
		layerOf(t, "", file("etc/version", "3"), file("top", "from the top layer")),
	))
	img, err := newTestPuller(s).Pull(t.Context(), ref, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lower := img.LayerDirs()
	slices.Reverse(lower) // overlay: top first
	base := t.TempDir()
	upper, work, merged := filepath.Join(base, "upper"), filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, d := range []string{upper, work, merged} {
		os.Mkdir(d, 0o755)
	}
	opts := "lowerdir=" + strings.Join(lower, ":") + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Fatalf("mount overlay (%s): %v", opts, err)
	}
	t.Cleanup(func() { unix.Unmount(merged, unix.MNT_DETACH) })

	p := func(n string) string { return filepath.Join(merged, n) }
	for n, want := range map[string]string{"top": "from the top layer", "etc/version": "3", "keep": "kept", "opq/upper": "visible"} {
		if got := readFile(t, p(n)); got != want {
			t.Errorf("%s = %q, want %q", n, got, want)
		}
	}
	for _, n := range []string{"gone/file", "opq/lower"} {
		if _, err := os.Lstat(p(n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s visible in the merged view: %v", n, err)
		}
	}
	if ents, _ := os.ReadDir(p("opq")); len(ents) != 1 {
		t.Errorf("opaque dir lists %v, want only upper", ents)
	}
}
