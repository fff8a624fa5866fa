package engine

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestOpenProcessRoot: a recorded PID is used for cp only while it is a
// live process whose root is the container's rootfs.
func TestOpenProcessRoot(t *testing.T) {
	// A process whose root is the host's "/" passes only against "/".
	root, err := openProcessRoot(os.Getpid(), "/")
	if err != nil {
		t.Fatalf("own process against /: %v", err)
	}
	root.Close()

	// A live process that is not the container (a recycled PID).
	if _, err := openProcessRoot(os.Getpid(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "not this container") {
		t.Errorf("a process whose root is not the rootfs: err = %v; want a refusal", err)
	}

	// A process that has exited.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	if _, err := openProcessRoot(cmd.Process.Pid, "/"); !errors.Is(err, errProcessGone) {
		t.Errorf("an exited process: err = %v; want errProcessGone", err)
	}
}
