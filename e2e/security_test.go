package e2e

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// Container security as Docker's defaults, and the options that tighten it.

// capEff reads the CapEff mask from /proc/self/status output.
func capEff(t *testing.T, status string) uint64 {
	t.Helper()
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("CapEff %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatalf("no CapEff line in:\n%s", status)
	return 0
}

const (
	capSysModule = 16
	capSysAdmin  = 21
	capNetAdmin  = 12
	capChown     = 0
)

// TestSecurityDefaults: a default container cannot mount, load a module,
// or see the host's processes, and has Docker's capability set.
func TestSecurityDefaults(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  mount:
    image: busybox
    network_mode: none
    command: ["mount", "-t", "tmpfs", "x", "/tmp"]
  module:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "echo junk > /tmp/m.ko; insmod /tmp/m.ko"]
  procs:
    image: busybox
    network_mode: none
    command: ["ls", "/proc"]
  caps:
    image: busybox
    network_mode: none
    command: ["cat", "/proc/self/status"]
  hostproc:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "cat /proc/1/cmdline; echo; echo done"]
`)
	code, out := oneShot(t, e, "mount")
	if code == 0 {
		t.Errorf("mount -t tmpfs in a default container succeeded:\n%s", out)
	} else if l := strings.ToLower(out); !strings.Contains(l, "denied") && !strings.Contains(l, "not permitted") {
		t.Errorf("mount failed (exit %d) but not for want of permission:\n%s", code, out)
	}

	if code, out := oneShot(t, e, "module"); code == 0 {
		t.Errorf("insmod in a default container succeeded:\n%s", out)
	}

	_, out = oneShot(t, e, "procs")
	var pids []string
	for _, f := range strings.Fields(out) {
		if _, err := strconv.Atoi(f); err == nil {
			pids = append(pids, f)
		}
	}
	host, _ := os.ReadDir("/proc")
	if len(pids) == 0 || len(pids) > 3 {
		t.Errorf("ls /proc in the container lists pids %v, want only its own (the host has %d /proc entries)", pids, len(host))
	}

	_, out = oneShot(t, e, "caps")
	c := capEff(t, out)
	for _, bit := range []int{capSysAdmin, capSysModule, capNetAdmin} {
		if c&(1<<bit) != 0 {
			t.Errorf("default CapEff %#x has capability bit %d, which Docker's default set lacks", c, bit)
		}
	}
	if c&(1<<capChown) == 0 {
		t.Errorf("default CapEff %#x lacks CAP_CHOWN, which Docker's default set has", c)
	}

	_, out = oneShot(t, e, "hostproc")
	if !strings.Contains(out, "done") || !strings.Contains(out, "cat /proc/1/cmdline") {
		t.Errorf("/proc/1 in the container is not the container's own command:\n%s", out)
	}
}

// TestSecurityUnprivileged: cap_drop ALL and user 1000 run with no
// capability at all, as uid 1000.
func TestSecurityUnprivileged(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    user: "1000"
    cap_drop: [ALL]
    command: ["sh", "-c", "id -u; grep CapEff /proc/self/status; touch /etc/x && echo WROTE-ETC; exit 0"]
  rootnocaps:
    image: busybox
    network_mode: none
    cap_drop: [ALL]
    command: ["sh", "-c", "chown 1000 /tmp && echo CHOWNED; grep CapEff /proc/self/status"]
`)
	code, out := oneShot(t, e, "app")
	lines := nonEmptyLines(out)
	if code != 0 || len(lines) < 2 || strings.TrimSpace(lines[0]) != "1000" {
		t.Fatalf("id -u: exit %d, output:\n%s\nwant 1000 first", code, out)
	}
	if c := capEff(t, out); c != 0 {
		t.Errorf("CapEff %#x with cap_drop ALL and user 1000, want 0", c)
	}
	if strings.Contains(out, "WROTE-ETC") {
		t.Errorf("uid 1000 wrote to /etc (root-owned):\n%s", out)
	}

	_, out = oneShot(t, e, "rootnocaps")
	if strings.Contains(out, "CHOWNED") {
		t.Errorf("root with cap_drop ALL could chown:\n%s", out)
	}
	if c := capEff(t, out); c != 0 {
		t.Errorf("root with cap_drop ALL has CapEff %#x, want 0", c)
	}
}

// TestReadOnlyRootfs: read_only forbids writes to the rootfs, not to a
// tmpfs or a volume.
func TestReadOnlyRootfs(t *testing.T) {
	e := NewEnv(t)
	e.WriteFile(t, "shared/.keep", "")
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    read_only: true
    tmpfs: [/tmp]
    volumes: [./shared:/shared, data:/data]
    command: ["sh", "-c", "touch /x && echo WROTE-ROOT; touch /etc/y && echo WROTE-ETC; touch /tmp/y && echo WROTE-TMP; echo hi > /shared/out && echo WROTE-BIND; touch /data/z && echo WROTE-VOLUME; true"]
volumes:
  data: {}
`)
	code, out := oneShot(t, e, "app")
	if code != 0 {
		t.Fatalf("app exited %d:\n%s", code, out)
	}
	for _, no := range []string{"WROTE-ROOT", "WROTE-ETC"} {
		if strings.Contains(out, no) {
			t.Errorf("read_only: %s, the rootfs was writable:\n%s", no, out)
		}
	}
	if !strings.Contains(strings.ToLower(out), "read-only file system") {
		t.Errorf("writes to the rootfs did not fail with 'Read-only file system':\n%s", out)
	}
	for _, yes := range []string{"WROTE-TMP", "WROTE-BIND", "WROTE-VOLUME"} {
		if !strings.Contains(out, yes) {
			t.Errorf("read_only: %s missing: tmpfs, bind mounts and volumes stay writable:\n%s", yes, out)
		}
	}
	if b, err := os.ReadFile(e.Dir + "/shared/out"); err != nil || string(b) != "hi\n" {
		t.Errorf("bind mount ./shared: out = %q, %v; want hi", b, err)
	}
}
