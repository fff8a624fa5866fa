package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

func TestOverlay(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	low1, low2 := filepath.Join(dir, "l1"), filepath.Join(dir, "l2")
	os.MkdirAll(low1, 0o755)
	os.MkdirAll(low2, 0o755)
	os.WriteFile(filepath.Join(low1, "a"), []byte("low"), 0o644)
	os.WriteFile(filepath.Join(low2, "a"), []byte("high"), 0o644)
	l := LayoutIn(filepath.Join(dir, "c"))
	if err := Mount([]string{low1, low2}, l); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Unmount(l) })
	if !Mounted(l.Merged) {
		t.Fatal("not mounted")
	}
	if b, _ := os.ReadFile(filepath.Join(l.Merged, "a")); string(b) != "high" {
		t.Errorf("top layer must win: %q", b)
	}
	os.WriteFile(filepath.Join(l.Merged, "new"), []byte("x"), 0o644)
	if _, err := os.Stat(filepath.Join(l.Upper, "new")); err != nil {
		t.Error("write did not land in upper")
	}
	if _, err := os.Stat(filepath.Join(low2, "new")); err == nil {
		t.Error("write leaked into a lower layer")
	}
	if err := Unmount(l); err != nil {
		t.Fatal(err)
	}
	if Mounted(l.Merged) {
		t.Error("still mounted")
	}
	if err := Unmount(l); err != nil {
		t.Errorf("second unmount: %v", err)
	}
}

// TestOverlayManyLayers: more layers than mount(2)'s one page of options
// holds (as deep images and builds have) still mount, in order.
func TestOverlayManyLayers(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	var lowers []string
	for i := range 80 {
		d := filepath.Join(dir, "layers", fmt.Sprintf("%064d", i), "diff")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "top"), []byte(strconv.Itoa(i)), 0o644)
		os.WriteFile(filepath.Join(d, "only-"+strconv.Itoa(i)), nil, 0o644)
		lowers = append(lowers, d)
	}
	l := LayoutIn(filepath.Join(dir, "c"))
	if err := Mount(lowers, l); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Unmount(l) })
	if b, _ := os.ReadFile(filepath.Join(l.Merged, "top")); string(b) != "79" {
		t.Errorf("top layer must win: %q", b)
	}
	for _, n := range []string{"only-0", "only-40", "only-79"} {
		if _, err := os.Stat(filepath.Join(l.Merged, n)); err != nil {
			t.Errorf("%s missing from the merged dir: %v", n, err)
		}
	}
	if err := Unmount(l); err != nil {
		t.Fatal(err)
	}
}
