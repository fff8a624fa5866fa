package fsutil

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestEnsureDirExactAndTightens: a new dir gets exactly its mode under
// umask 000; a loose one is tightened once with a notice naming it; a
// stricter one is left alone; a file is refused.
func TestEnsureDirExactAndTightens(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "a", "d")
	if n, err := EnsureDir(dir, 0o710); err != nil || n != "" {
		t.Fatalf("EnsureDir new: %q %v", n, err)
	}
	if m := mode(t, dir); m != 0o710 {
		t.Errorf("new dir %04o, want 0710", m)
	}
	os.Chmod(dir, 0o755)
	if n, err := EnsureDir(dir, 0o710); err != nil || !strings.Contains(n, dir) {
		t.Fatalf("EnsureDir loose: %q %v", n, err)
	}
	if n, _ := EnsureDir(dir, 0o710); n != "" {
		t.Errorf("tightened twice: %q", n)
	}
	os.Chmod(dir, 0o700)
	if _, err := EnsureDir(dir, 0o710); err != nil || mode(t, dir) != 0o700 {
		t.Errorf("a stricter dir was changed to %04o (%v)", mode(t, dir), err)
	}
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, nil, 0o600)
	if _, err := EnsureDir(f, 0o700); err == nil {
		t.Error("a file was accepted as a directory")
	}
}
