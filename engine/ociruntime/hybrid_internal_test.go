package ociruntime

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// On a hybrid-cgroup host, a process started by startHidingMounts sees no
// cgroup2 mount, and the host (this process) still does afterwards: the
// detach happens in a namespace of the runtime's own, made a slave first,
// so it never propagates back.
func TestStartHidingMounts(t *testing.T) {
	testutil.RequiresRoot(t)
	hide := hybridCgroup2Mounts()
	if len(hide) == 0 {
		t.Skip("skipped: not a hybrid-cgroup host (no cgroup2 mount below a v1 /sys/fs/cgroup)")
	}
	var out bytes.Buffer
	cmd := exec.Command("cat", "/proc/self/mountinfo")
	cmd.Stdout = &out
	if err := startHidingMounts(cmd, hide); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	for _, p := range hide {
		if strings.Contains(out.String(), " "+p+" ") {
			t.Errorf("the runtime's mount namespace still has %s:\n%s", p, out.String())
		}
	}
	if strings.Contains(out.String(), " - cgroup2 ") {
		t.Errorf("the runtime's mount namespace has a cgroup2 mount:\n%s", out.String())
	}
	host, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range hide {
		if !strings.Contains(string(host), " "+p+" ") {
			t.Fatalf("%s is gone from the host's mounts: the detach propagated back", p)
		}
	}
	if got := hybridCgroup2Mounts(); len(got) != len(hide) {
		t.Errorf("after: hybrid cgroup2 mounts %q, before %q", got, hide)
	}
}

// crun gets the hiding on a hybrid host; runc, which handles hybrid hosts
// itself, never does.
func TestCLIHidesForCrunOnly(t *testing.T) {
	hide := hybridCgroup2Mounts()
	for _, name := range []string{"runc", "crun"} {
		bin, err := LookupBinary(name)
		if err != nil {
			continue
		}
		c, err := NewCLI(t.TempDir(), bin)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if name == "crun" {
			want = len(hide)
		}
		if len(c.hide) != want {
			t.Errorf("%s: hides %q, want %d mounts (host's hybrid cgroup2 mounts: %q)", name, c.hide, want, hide)
		}
	}
}
