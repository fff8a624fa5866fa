package rootfs

import (
	"os"
	"path/filepath"
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
