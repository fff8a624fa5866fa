package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/devices"
)

// cdiSpecDir writes a CDI spec for a harmless test device into the test's
// project dir and points berth at it (BERTH_CDI_SPEC_DIRS): the device
// test.berth.dev/dev=null is /dev/null's node under another name, with an
// env edit of its own, and the spec adds an env edit and a read-only mount
// of a host dir for every device of it.
func cdiSpecDir(t *testing.T, e *Env) string {
	t.Helper()
	src := filepath.Join(e.Dir, "cdi-mount")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "hello"), []byte("from-the-cdi-mount\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.Dir, "cdi")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := `cdiVersion: "0.6.0"
kind: test.berth.dev/dev
devices:
  - name: "null"
    containerEdits:
      deviceNodes:
        - path: /dev/berth-test0
          hostPath: /dev/null
      env: [BERTH_CDI_DEVICE=null]
containerEdits:
  env: [BERTH_CDI_SPEC=test]
  mounts:
    - hostPath: ` + src + `
      containerPath: /berth-cdi
      options: [ro, nosuid, nodev, bind]
`
	if err := os.WriteFile(filepath.Join(dir, "test.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ExtraEnv = append(e.ExtraEnv, "BERTH_CDI_SPEC_DIRS="+dir)
	return dir
}

// TestDevicesCDI: a `devices:` entry that is a CDI name is honoured end
// to end: the container has the node (made from /dev/null's numbers, usable),
// both env edits and the mount. Next to it, a plain device with permission
// r (/dev/loop-control: not in Docker's default allow list; opening it does
// nothing) opens for reading but not for writing (the device cgroup says
// exactly r), and a device_cgroup_rules entry lets the container use a node
// it makes itself (/dev/fuse's numbers), which it could not without.
func TestDevicesCDI(t *testing.T) {
	e := NewEnv(t)
	cdiSpecDir(t, e)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    devices:
      - test.berth.dev/dev=null
      - /dev/loop-control:/dev/berth-lc:r
    device_cgroup_rules: ["c 10:229 rw"]
    command:
      - sh
      - -c
      - |
        ls -l /dev/berth-test0
        echo data > /dev/berth-test0 && echo node-write-ok
        echo "CDI=$$BERTH_CDI_DEVICE SPEC=$$BERTH_CDI_SPEC"
        cat /berth-cdi/hello
        touch /berth-cdi/x 2>/dev/null || echo mount-read-only
        (exec 3</dev/berth-lc) && echo lc-read-ok
        (exec 3>/dev/berth-lc) 2>&1 || echo lc-write-denied
        mknod /tmp/fuse c 10 229 && (exec 3<>/tmp/fuse) && echo rule-open-ok
        mknod /tmp/hwrng c 10 183 && (exec 3</tmp/hwrng) 2>&1 || echo unruled-denied
`)
	code, out := oneShot(t, e, "app")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"crw-rw-rw-", "1,   3", // the node: char, /dev/null's numbers and mode
		"node-write-ok",
		"CDI=null SPEC=test",
		"from-the-cdi-mount",
		"mount-read-only",
		"lc-read-ok", "lc-write-denied",
		"rule-open-ok", "unruled-denied",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "Operation not permitted") {
		t.Errorf("writing /dev/berth-lc (permission r) was not refused by the device cgroup:\n%s", out)
	}
}

// TestDevicesUnknownCDI: a CDI name no spec provides fails `up` before
// anything is created, naming the service and the devices known.
func TestDevicesUnknownCDI(t *testing.T) {
	e := NewEnv(t)
	cdiSpecDir(t, e)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    devices: [test.berth.dev/dev=nothere]
    command: ["true"]
`)
	r := e.Berth(t, "up", "-d")
	if r.Code == 0 {
		t.Fatalf("up succeeded: %s", r)
	}
	for _, want := range []string{`service "app"`, "test.berth.dev/dev=nothere", "known: test.berth.dev/dev=null"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q: %s", want, r)
		}
	}
	assertNothingCreated(t, e)
}

// TestDevicesGPUWithoutGPU: on this host (no NVIDIA driver, no spec for
// nvidia.com/gpu) each GPU form fails `up`, `up --dry-run` and `run`
// before anything is created, with an error naming the service, the field
// and what is missing.
func TestDevicesGPUWithoutGPU(t *testing.T) {
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		t.Skip("this host has an NVIDIA driver")
	}
	e := NewEnv(t)
	empty := filepath.Join(e.Dir, "no-cdi")
	e.ExtraEnv = append(e.ExtraEnv, "BERTH_CDI_SPEC_DIRS="+empty)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    command: ["true"]
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: all
              capabilities: [gpu]
  other:
    image: busybox
    network_mode: none
    command: ["true"]
    gpus: all
`)
	for _, args := range [][]string{{"up", "-d"}, {"up", "--dry-run"}, {"up", "-d", "other"}} {
		r := e.Berth(t, args...)
		if r.Code == 0 {
			t.Fatalf("%v succeeded: %s", args, r)
		}
		field, svc := "deploy.resources.reservations.devices[0]", "app"
		if args[len(args)-1] == "other" {
			field, svc = "gpus", "other"
		}
		for _, want := range []string{`service "` + svc + `"`, field, "no NVIDIA GPU", "nvidia.com/gpu", empty, "/dev/nvidiactl"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("%v: stderr lacks %q: %s", args, want, r)
			}
		}
	}
	assertNothingCreated(t, e)
}

// TestDevicesGPUFromHostSpec: with a CDI spec for nvidia.com/gpu on the
// host (a fake one: its GPUs are /dev/null's and /dev/zero's nodes), each
// compose GPU form gives the container the GPU nodes it asks for, and
// the spec's env; berth generates nothing when the host has a spec.
func TestDevicesGPUFromHostSpec(t *testing.T) {
	e := NewEnv(t)
	dir := filepath.Join(e.Dir, "cdi")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nvidia.yaml"), []byte(`cdiVersion: "0.6.0"
kind: nvidia.com/gpu
devices:
  - name: "0"
    containerEdits:
      deviceNodes: [{path: /dev/nvidia0, hostPath: /dev/null}]
  - name: "1"
    containerEdits:
      deviceNodes: [{path: /dev/nvidia1, hostPath: /dev/zero}]
  - name: all
    containerEdits:
      deviceNodes: [{path: /dev/nvidia0, hostPath: /dev/null}, {path: /dev/nvidia1, hostPath: /dev/zero}]
containerEdits:
  env: [FAKE_NVIDIA=yes]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ExtraEnv = append(e.ExtraEnv, "BERTH_CDI_SPEC_DIRS="+dir)
	cmd := `["sh", "-c", "echo $$FAKE_NVIDIA; ls /dev | grep nvidia"]`
	e.Compose(t, `services:
  deploy-all:
    image: busybox
    network_mode: none
    command: `+cmd+`
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: all
              capabilities: [gpu]
  gpus-one:
    image: busybox
    network_mode: none
    command: `+cmd+`
    gpus:
      - count: 1
  gpus-id:
    image: busybox
    network_mode: none
    command: `+cmd+`
    gpus:
      - device_ids: ["1"]
`)
	want := map[string]string{"deploy-all": "yes nvidia0 nvidia1", "gpus-one": "yes nvidia0", "gpus-id": "yes nvidia1"}
	for svc, w := range want {
		code, out := oneShot(t, e, svc)
		if got := strings.Join(strings.Fields(out), " "); code != 0 || got != w {
			t.Errorf("%s: exit %d, output %q, want %q", svc, code, got, w)
		}
	}
	// a one-off keeps the service's GPU reservation
	r := e.Berth(t, "run", "--rm", "-T", "deploy-all")
	if got := strings.Join(strings.Fields(r.Stdout), " "); r.Code != 0 || got != want["deploy-all"] {
		t.Errorf("run --rm deploy-all: %q, want %q\n%s", got, want["deploy-all"], r)
	}
	if _, err := os.Stat(filepath.Join(e.Run, "cdi", "nvidia.com-gpu.json")); err == nil {
		t.Error("berth generated a spec although the host has one")
	}
}

// assertNothingCreated: no container record, and ps lists nothing.
func assertNothingCreated(t *testing.T, e *Env) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(e.Root, "containers"))
	if len(entries) != 0 {
		t.Errorf("%d container dirs exist after the refused command", len(entries))
	}
	r := e.MustBerth(t, "ps", "-a", "-q")
	if strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("ps -a lists %q", r.Stdout)
	}
}

// TestDevicesGPUGenerated: with no CDI spec but an NVIDIA driver (a fake
// one under BERTH_NVIDIA_DRIVER_ROOT: its nodes are /dev/null's numbers,
// its nvidia-smi is busybox), `gpus: all` gets the spec berth generates:
// the GPU and control nodes, the driver library at its soname, the
// binary on PATH, LD_LIBRARY_PATH; the spec is written under the run dir.
func TestDevicesGPUGenerated(t *testing.T) {
	e := NewEnv(t)
	root := filepath.Join(e.Dir, "driver")
	mk := func(p string, major, minor uint32) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := unix.Mknod(filepath.Join(root, p), unix.S_IFCHR|0o666, int(unix.Mkdev(major, minor))); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, b []byte, mode os.FileMode) {
		t.Helper()
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), b, mode); err != nil {
			t.Fatal(err)
		}
	}
	mk("/dev/nvidiactl", 1, 3)
	mk("/dev/nvidia0", 1, 3)
	mk("/dev/nvidia-uvm", 1, 5)
	write("/proc/driver/nvidia/gpus/0000:10:00.0/information", []byte("GPU UUID: GPU-fake-0\nDevice Minor: 0\n"), 0o444)
	lib := "/usr/local/nvidia/lib64"
	write(lib+"/libnvidia-ml.so.550.54.15", []byte("fake-nvml\n"), 0o755)
	if err := os.Symlink("libnvidia-ml.so.550.54.15", filepath.Join(root, lib, "libnvidia-ml.so.1")); err != nil {
		t.Fatal(err)
	}
	write("/etc/ld.so.cache", devices.EncodeLinkerCache([][2]string{{"libnvidia-ml.so.1", lib + "/libnvidia-ml.so.1"}}, 0x0300), 0o644)
	smi, err := os.ReadFile("/bin/busybox") // an ELF that says who it was called as
	if err != nil {
		t.Skip("no /bin/busybox to stand in for nvidia-smi")
	}
	write("/usr/local/nvidia/bin/nvidia-smi", smi, 0o755)
	e.ExtraEnv = append(e.ExtraEnv, "BERTH_CDI_SPEC_DIRS="+filepath.Join(e.Dir, "no-cdi"), "BERTH_NVIDIA_DRIVER_ROOT="+root)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    gpus: all
    command:
      - sh
      - -c
      - |
        ls -l /dev/nvidia0 /dev/nvidiactl /dev/nvidia-uvm
        echo x > /dev/nvidia0 && echo gpu-node-ok
        cat /usr/local/nvidia/lib64/libnvidia-ml.so.1
        echo "LD=$$LD_LIBRARY_PATH"
        nvidia-smi 2>&1
        echo smi=$$?
`)
	code, out := oneShot(t, e, "app")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm", "gpu-node-ok", "fake-nvml",
		"LD=/usr/local/nvidia/lib64", "nvidia-smi: applet not found", "smi=127"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(e.Run, "cdi", "nvidia.com-gpu.json")); err != nil {
		t.Errorf("generated spec not written: %v", err)
	}
}
