package archive

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCopyPath: whatever container path cp is given, it is read as an
// absolute clean path, it resolves beneath the container's root (through
// hostile symlinks: absolute to the host, climbing, looping), and a copy
// to it writes nothing outside that root. Bounded: `go test -fuzz
// FuzzCopyPath -fuzztime 30s ./engine/archive`.
func FuzzCopyPath(f *testing.F) {
	for _, s := range []string{"", "/", ".", "..", "/a/b", "a/../../b", "abs/x", "up/up/x", "slash/../x",
		"loop/x", "d/.", "d/", "abs", "up/", "/./abs/../abs/y", strings.Repeat("../", 50) + "z"} {
		f.Add(s)
	}
	ctr, outside := f.TempDir(), f.TempDir()
	src := filepath.Join(f.TempDir(), "f")
	if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(ctr, "d"), 0o755); err != nil {
		f.Fatal(err)
	}
	for name, target := range map[string]string{"abs": outside, "up": "../../..", "slash": "/", "loop": "loop"} {
		if err := os.Symlink(target, filepath.Join(ctr, name)); err != nil {
			f.Fatal(err)
		}
	}
	root, err := os.Open(ctr)
	if err != nil {
		f.Fatal(err)
	}
	defer root.Close()

	f.Fuzz(func(t *testing.T, p string) {
		if strings.ContainsRune(p, 0) || len(p) > 512 {
			return
		}
		s := ContainerPath(p)
		if !filepath.IsAbs(s.Clean) || filepath.Clean(s.Clean) != s.Clean || strings.Contains("/"+s.Clean+"/", "/../") {
			t.Fatalf("ContainerPath(%q).Clean = %q: not an absolute clean path", p, s.Clean)
		}
		if e, err := resolveInRoot(root, s.Clean, true, p); err == nil {
			real, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", e.parent.Fd()))
			e.close()
			if real != ctr && !strings.HasPrefix(real, ctr+"/") {
				t.Fatalf("%q resolved to %s, outside the root %s", p, real, ctr)
			}
		}
		_ = CopyIn(t.Context(), root, src, p, Options{})
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Fatalf("copy to %q wrote outside the root: %v", p, ents)
		}
	})
}
