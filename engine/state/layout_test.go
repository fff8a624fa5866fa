package state

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

// TestEnsureRootUmask0: a new root gets exactly its modes under umask 000,
// and tells nothing (nothing was loosened before).
func TestEnsureRootUmask0(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	root := filepath.Join(t.TempDir(), "a", "root")
	notices, err := EnsureRoot(root)
	if err != nil || len(notices) != 0 {
		t.Fatalf("EnsureRoot: %v %v", notices, err)
	}
	if m := mode(t, root); m != RootMode {
		t.Errorf("root %04o, want %04o", m, RootMode)
	}
	if m := mode(t, filepath.Join(root, "volumes")); m != VolumesMode {
		t.Errorf("volumes %04o, want %04o", m, VolumesMode)
	}
}

// TestEnsureRootTightens: an existing loose root is tightened once, with a
// notice naming it; a stricter one is left alone.
func TestEnsureRootTightens(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	if err := os.MkdirAll(filepath.Join(root, "volumes"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(root, 0o755)
	os.Chmod(filepath.Join(root, "volumes"), 0o755)
	notices, err := EnsureRoot(root)
	if err != nil || len(notices) != 2 || !strings.Contains(notices[0], root) {
		t.Fatalf("EnsureRoot: %q %v", notices, err)
	}
	if m := mode(t, root); m != 0o710 {
		t.Errorf("root %04o after tightening", m)
	}
	if notices, _ := EnsureRoot(root); len(notices) != 0 {
		t.Errorf("tightened twice: %q", notices)
	}
	os.Chmod(root, 0o700)
	if _, err := EnsureRoot(root); err != nil || mode(t, root) != 0o700 {
		t.Errorf("a stricter root was changed to %04o (%v)", mode(t, root), err)
	}
}

func TestEnsureDirNotADir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, nil, 0o600)
	if _, err := EnsureRun(f); err == nil {
		t.Error("a file as run dir was accepted")
	}
}
