package ociruntime

import (
	"errors"
	"testing"
)

func TestDetectNoRuntime(t *testing.T) {
	saved := searchDirs
	searchDirs = nil
	t.Cleanup(func() { searchDirs = saved })
	t.Setenv("PATH", t.TempDir())
	_, err := Detect(t.Context(), "", t.TempDir())
	if !errors.Is(err, ErrNoRuntime) {
		t.Fatalf("got %v, want ErrNoRuntime", err)
	}
	if want := "no OCI runtime found: install runc (apt-get install runc) or crun"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}
