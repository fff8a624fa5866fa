package layout

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
	run := filepath.Join(t.TempDir(), "run")
	notices, err := Layout{Root: root, Run: run}.Ensure()
	if err != nil || len(notices) != 0 {
		t.Fatalf("EnsureRoot: %v %v", notices, err)
	}
	if m := mode(t, root); m != RootMode {
		t.Errorf("root %04o, want %04o", m, RootMode)
	}
	if m := mode(t, filepath.Join(root, "volumes")); m != VolumesMode {
		t.Errorf("volumes %04o, want %04o", m, VolumesMode)
	}
	if m := mode(t, run); m != RunMode {
		t.Errorf("run %04o, want %04o", m, RunMode)
	}
}

// TestEnsureRootTightens: an existing loose root is tightened once, with a
// notice naming it; a stricter one is left alone.
func TestEnsureRootTightens(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	l := Layout{Root: root, Run: filepath.Join(t.TempDir(), "run")}
	if err := os.MkdirAll(filepath.Join(root, "volumes"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(root, 0o755)
	os.Chmod(filepath.Join(root, "volumes"), 0o755)
	notices, err := l.Ensure()
	if err != nil || len(notices) != 2 || !strings.Contains(notices[0], root) {
		t.Fatalf("EnsureRoot: %q %v", notices, err)
	}
	if m := mode(t, root); m != 0o710 {
		t.Errorf("root %04o after tightening", m)
	}
	if notices, _ := l.Ensure(); len(notices) != 0 {
		t.Errorf("tightened twice: %q", notices)
	}
	os.Chmod(root, 0o700)
	if _, err := l.Ensure(); err != nil || mode(t, root) != 0o700 {
		t.Errorf("a stricter root was changed to %04o (%v)", mode(t, root), err)
	}
}

func TestEnsureRunNotADir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, nil, 0o600)
	if _, err := (Layout{Root: t.TempDir(), Run: f}).Ensure(); err == nil {
		t.Error("a file as run dir was accepted")
	}
}

// TestFromEnv: BERTH_ROOT and BERTH_RUN win; unset, the defaults.
func TestFromEnv(t *testing.T) {
	t.Setenv("BERTH_ROOT", "")
	t.Setenv("BERTH_RUN", "")
	if l := FromEnv(); l.Root != DefaultRoot || l.Run != DefaultRun {
		t.Errorf("defaults: %+v", l)
	}
	t.Setenv("BERTH_ROOT", "/x/root")
	t.Setenv("BERTH_RUN", "/x/run")
	l := FromEnv()
	if l.Root != "/x/root" || l.Run != "/x/run" {
		t.Errorf("env: %+v", l)
	}
	if got := l.ProjectLock("web"); got != "/x/root/locks/project-web.lock" {
		t.Errorf("ProjectLock = %s", got)
	}
	if got := l.Images(); got != "/x/root/image" {
		t.Errorf("Images = %s", got)
	}
}
