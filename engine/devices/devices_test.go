package devices

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"
	"tags.cncf.io/container-device-interface/pkg/cdi"

	"github.com/berth-dev/berth/project"
)

// loadService loads one service from compose YAML, as `up` does.
func loadService(t *testing.T, yaml string) *types.ServiceConfig {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(t.Context(), project.Options{WorkingDir: dir, ProjectName: "devtest", Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	svc := p.Services["app"]
	return &svc
}

// writeSpec writes a CDI spec file into dir, mode 0644.
func writeCDISpec(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLinkerCacheRoundTrip(t *testing.T) {
	b := EncodeLinkerCache([][2]string{
		{"libnvidia-ml.so.1", "/usr/lib/libnvidia-ml.so.1"},
		{"libc.so.6", "/lib/libc.so.6"},
		{"libc.so.6", "/lib32/libc.so.6"},
	}, ldFlagX8664)
	c, err := ParseLinkerCache(b, ldFlagX8664)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Lookup("libnvidia-ml.so.1"); got != "/usr/lib/libnvidia-ml.so.1" {
		t.Errorf("libnvidia-ml.so.1 = %q", got)
	}
	if got := c["libc.so.6"]; !slices.Equal(got, []string{"/lib/libc.so.6", "/lib32/libc.so.6"}) {
		t.Errorf("libc.so.6 = %q (want cache order)", got)
	}
	// another architecture's entries are not this host's
	if c, _ := ParseLinkerCache(b, ldFlagAArch64); len(c) != 0 {
		t.Errorf("aarch64 view = %v, want empty", c)
	}
}

// The host's own cache (glibc ≥ 2.32 format) parses and lists libc.
func TestLinkerCacheOfThisHost(t *testing.T) {
	c, err := ReadLinkerCache("/etc/ld.so.cache")
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no /etc/ld.so.cache here")
	}
	if err != nil {
		t.Fatal(err)
	}
	if c.Lookup("libc.so.6") == "" {
		t.Errorf("libc.so.6 not found among %d entries", len(c))
	}
}

func TestLinkerCacheCorrupt(t *testing.T) {
	good := EncodeLinkerCache([][2]string{{"a.so", "/a.so"}}, ldFlagX8664)
	bad := map[string][]byte{
		"empty":     nil,
		"truncated": good[:30],
		"count":     append(append([]byte{}, good[:20]...), append([]byte{0xff, 0xff, 0xff, 0x0f}, good[24:]...)...),
		"offset": func() []byte {
			b := append([]byte{}, good...)
			b[ldHeaderNew+4] = 0xff
			b[ldHeaderNew+5] = 0xff
			return b
		}(),
		"old only": []byte("ld.so-1.7.0\x00\x00\x00\x00\x00"),
	}
	for name, b := range bad {
		if _, err := ParseLinkerCache(b, ldFlagX8664); err == nil {
			t.Errorf("%s: parsed, want an error", name)
		}
	}
}

func FuzzParseLinkerCache(f *testing.F) {
	f.Add(EncodeLinkerCache([][2]string{{"libnvidia-ml.so.1", "/usr/lib/libnvidia-ml.so.1"}}, ldFlagX8664))
	f.Add([]byte("ld.so-1.7.0\x00\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseLinkerCache(b, ldFlagX8664)
	})
}

func TestResolveInStaysBeneathRoot(t *testing.T) {
	h := newFakeHost(t)
	h.file("/lib/real.so.1.2", "x", 0o644)
	h.symlink("/lib/real.so.1.2", "/lib/abs.so")           // absolute: taken from root
	h.symlink("../../../../../lib/real.so.1.2", "/a/b.so") // climbs: stops at root
	h.symlink("/etc/passwd", "/lib/out.so")                // the host's passwd is not under root
	for _, p := range []string{"/lib/abs.so", "/a/b.so"} {
		got, err := resolveIn(h.root, p)
		if err != nil || got != "/lib/real.so.1.2" {
			t.Errorf("resolveIn(%s) = %q, %v", p, got, err)
		}
	}
	if got, err := resolveIn(h.root, "/lib/out.so"); err == nil {
		t.Errorf("resolveIn(/lib/out.so) = %q: followed out of root", got)
	}
}

func TestDiscoverNVIDIA(t *testing.T) {
	h := newFakeHost(t)
	h.nvidia(2, true)
	d, err := discoverNVIDIA(h.root)
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.spec()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, dev := range s.Devices {
		names = append(names, dev.Name)
	}
	want := []string{"0", "GPU-00000000-aaaa-bbbb-cccc-dddddddddddd", "1", "GPU-00000001-aaaa-bbbb-cccc-dddddddddddd", "all"}
	if !slices.Equal(names, want) {
		t.Errorf("devices = %q, want %q", names, want)
	}
	n := s.Devices[2].ContainerEdits.DeviceNodes[0]
	if n.Path != "/dev/nvidia1" || n.HostPath != h.path("/dev/nvidia1") || n.Type != "c" || n.Major != 195 || n.Minor != 1 {
		t.Errorf("device 1 node = %+v", n)
	}
	if got := len(s.Devices[4].ContainerEdits.DeviceNodes); got != 2 {
		t.Errorf("all: %d nodes, want 2", got)
	}
	var ctl []string
	for _, n := range s.ContainerEdits.DeviceNodes {
		ctl = append(ctl, n.Path)
	}
	if !slices.Equal(ctl, []string{"/dev/nvidiactl", "/dev/nvidia-uvm"}) {
		t.Errorf("control nodes = %q", ctl)
	}
	mounts := map[string]string{}
	for _, m := range s.ContainerEdits.Mounts {
		mounts[m.ContainerPath] = strings.TrimPrefix(m.HostPath, h.root)
		if !slices.Contains(m.Options, "ro") || !slices.Contains(m.Options, "nosuid") {
			t.Errorf("mount %s: options %v, want ro,nosuid", m.ContainerPath, m.Options)
		}
	}
	lib := "/usr/local/nvidia/lib64/"
	wantMounts := map[string]string{
		lib + "libnvidia-ml.so." + fakeVersion:             lib + "libnvidia-ml.so." + fakeVersion,
		lib + "libnvidia-ml.so.1":                          lib + "libnvidia-ml.so." + fakeVersion,
		lib + "libcuda.so." + fakeVersion:                  lib + "libcuda.so." + fakeVersion,
		lib + "libcuda.so.1":                               lib + "libcuda.so." + fakeVersion,
		lib + "libnvidia-ptxjitcompiler.so." + fakeVersion: lib + "libnvidia-ptxjitcompiler.so." + fakeVersion,
		lib + "libnvidia-ptxjitcompiler.so.1":              lib + "libnvidia-ptxjitcompiler.so." + fakeVersion,
		"/usr/bin/nvidia-smi":                              "/usr/local/nvidia/bin/nvidia-smi", // the ELF, not the wrapper script
		"/usr/bin/nvidia-debugdump":                        "/usr/local/nvidia/bin/nvidia-debugdump",
	}
	for c, hp := range wantMounts {
		if mounts[c] != hp {
			t.Errorf("mount %s from %q, want %q", c, mounts[c], hp)
		}
	}
	if len(mounts) != len(wantMounts) {
		t.Errorf("mounts = %v, want only %v (no other driver's or distro library)", mounts, wantMounts)
	}
	if !slices.Contains(s.ContainerEdits.Env, "LD_LIBRARY_PATH=/usr/local/nvidia/lib64") {
		t.Errorf("env = %q", s.ContainerEdits.Env)
	}
}

// Without /proc/driver/nvidia, the GPUs are the /dev/nvidiaN nodes in
// minor order (by number, not name: nvidia10 after nvidia2).
func TestDiscoverNVIDIAWithoutProc(t *testing.T) {
	h := newFakeHost(t)
	h.nvidia(1, false)
	h.mknod("/dev/nvidia10", 195, 10)
	h.mknod("/dev/nvidia2", 195, 2)
	d, err := discoverNVIDIA(h.root)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, g := range d.gpus {
		got = append(got, g.node.minor)
	}
	if !slices.Equal(got, []int64{0, 2, 10}) {
		t.Errorf("GPU minors = %v", got)
	}
}

func TestDiscoverNVIDIAMissing(t *testing.T) {
	cases := map[string]struct {
		setup func(h *fakeHost)
		want  string
	}{
		"empty host": {func(h *fakeHost) {}, "/dev/nvidiactl"},
		"no library": {func(h *fakeHost) {
			h.mknod("/dev/nvidiactl", 195, 255)
			h.mknod("/dev/nvidia0", 195, 0)
			h.ldcache([2]string{"libc.so.6", "/lib/libc.so.6"})
		}, "libnvidia-ml.so.1"},
		"nvidiactl a symlink": {func(h *fakeHost) {
			h.mknod("/dev/null0", 1, 3)
			h.symlink("null0", "/dev/nvidiactl")
		}, "not a device node"},
		"nvidiactl a file": {func(h *fakeHost) { h.file("/dev/nvidiactl", "", 0o666) }, "not a device node"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h := newFakeHost(t)
			c.setup(h)
			_, err := discoverNVIDIA(h.root)
			if !errors.Is(err, ErrNoNVIDIADriver) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want ErrNoNVIDIADriver naming %q", err, c.want)
			}
		})
	}
}

const testSpec = `cdiVersion: "0.6.0"
kind: test.berth.dev/dev
devices:
  - name: "null"
    containerEdits:
      deviceNodes:
        - path: /dev/berth-null
          hostPath: /dev/null
      env: [BERTH_TEST_DEVICE=null]
containerEdits:
  env: [BERTH_TEST_SPEC=1]
  mounts:
    - hostPath: /etc/hostname
      containerPath: /berth-test/hostname
      options: [ro, bind]
  hooks:
    - hookName: createContainer
      path: /usr/bin/true
      args: [true, berth-test]
`

func baseSpec() *specs.Spec {
	return &specs.Spec{
		Process: &specs.Process{Env: []string{"PATH=/bin", "LD_LIBRARY_PATH=/opt/app/lib"}},
		Linux:   &specs.Linux{Resources: &specs.LinuxResources{}},
	}
}

func TestRegistryCDIName(t *testing.T) {
	dir := t.TempDir()
	writeCDISpec(t, dir, "test.yaml", testSpec)
	r, err := New(Options{SpecDirs: []string{dir}, Root: t.TempDir(), GenDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	svc := loadService(t, "services:\n  app:\n    image: busybox\n    devices: [\"test.berth.dev/dev=null\"]\n")
	names, err := r.Resolve(svc)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"test.berth.dev/dev=null"}) {
		t.Fatalf("names = %q", names)
	}
	s := baseSpec()
	if _, err := r.InjectDevices(s, names...); err != nil {
		t.Fatal(err)
	}
	if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Path != "/dev/berth-null" || s.Linux.Devices[0].Major != 1 || s.Linux.Devices[0].Minor != 3 {
		t.Errorf("devices = %+v", s.Linux.Devices)
	}
	rules := s.Linux.Resources.Devices
	if len(rules) != 1 || !rules[0].Allow || rules[0].Type != "c" || *rules[0].Major != 1 || *rules[0].Minor != 3 || rules[0].Access != "rwm" {
		t.Errorf("cgroup rules = %+v", rules)
	}
	for _, e := range []string{"BERTH_TEST_DEVICE=null", "BERTH_TEST_SPEC=1", "LD_LIBRARY_PATH=/opt/app/lib"} {
		if !slices.Contains(s.Process.Env, e) {
			t.Errorf("env %q missing from %q", e, s.Process.Env)
		}
	}
	if len(s.Mounts) != 1 || s.Mounts[0].Destination != "/berth-test/hostname" || s.Mounts[0].Source != "/etc/hostname" {
		t.Errorf("mounts = %+v", s.Mounts)
	}
	if s.Hooks == nil || len(s.Hooks.CreateContainer) != 1 || s.Hooks.CreateContainer[0].Path != "/usr/bin/true" {
		t.Errorf("hooks = %+v, want the spec's createContainer hook", s.Hooks)
	}

	svc = loadService(t, "services:\n  app:\n    image: busybox\n    devices: [\"test.berth.dev/dev=zero\"]\n")
	_, err = r.Resolve(svc)
	if !errors.Is(err, ErrUnknownDevice) || !strings.Contains(err.Error(), `service "app"`) || !strings.Contains(err.Error(), "test.berth.dev/dev=null") {
		t.Errorf("unknown device: err = %v, want ErrUnknownDevice naming the service and the known devices", err)
	}
}

// A spec file others can write is refused: its hooks would run as root.
func TestRegistryRefusesWritableSpec(t *testing.T) {
	dir := t.TempDir()
	writeCDISpec(t, dir, "test.yaml", testSpec)
	if err := os.Chmod(filepath.Join(dir, "test.yaml"), 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{SpecDirs: []string{dir}}); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("err = %v", err)
	}
	os.Chmod(filepath.Join(dir, "test.yaml"), 0o644)
	os.Symlink(filepath.Join(dir, "test.yaml"), filepath.Join(dir, "link.yaml"))
	if _, err := New(Options{SpecDirs: []string{dir}}); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("symlinked spec: err = %v", err)
	}
}

// gpuRegistry is a registry over a fake host with two GPUs and no spec:
// the NVIDIA spec is generated, in memory (New writes nothing: a plan
// changes nothing).
func gpuRegistry(t *testing.T) (*Registry, *fakeHost) {
	h := newFakeHost(t)
	h.nvidia(2, true)
	gen := filepath.Join(t.TempDir(), "cdi")
	r, err := New(Options{SpecDirs: []string{filepath.Join(t.TempDir(), "none")}, Root: h.root, GenDir: gen})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Generated() {
		t.Fatal("no spec generated")
	}
	if _, err := os.Stat(gen); !errors.Is(err, os.ErrNotExist) || r.GeneratedPath() != "" {
		t.Fatalf("New wrote %s (%v)", r.GeneratedPath(), err)
	}
	return r, h
}

func TestGPUComposeForms(t *testing.T) {
	r, h := gpuRegistry(t)
	uuid1 := "GPU-00000001-aaaa-bbbb-cccc-dddddddddddd"
	cases := map[string]struct {
		service string
		names   []string
		nodes   []string
	}{
		"gpus: all": {"gpus: all", []string{"nvidia.com/gpu=all"}, []string{"/dev/nvidia0", "/dev/nvidia1"}},
		"gpus list count": {"gpus:\n      - driver: nvidia\n        count: 1\n        capabilities: [gpu, utility]",
			[]string{"nvidia.com/gpu=0"}, []string{"/dev/nvidia0"}},
		"gpus device_ids": {"gpus:\n      - device_ids: [\"1\"]", []string{"nvidia.com/gpu=1"}, []string{"/dev/nvidia1"}},
		"deploy count all": {"deploy:\n      resources:\n        reservations:\n          devices:\n            - driver: nvidia\n              count: all\n              capabilities: [gpu]",
			[]string{"nvidia.com/gpu=all"}, []string{"/dev/nvidia0", "/dev/nvidia1"}},
		"deploy count 2 no driver": {"deploy:\n      resources:\n        reservations:\n          devices:\n            - count: 2\n              capabilities: [gpu]",
			[]string{"nvidia.com/gpu=0", "nvidia.com/gpu=1"}, []string{"/dev/nvidia0", "/dev/nvidia1"}},
		"deploy uuid": {"deploy:\n      resources:\n        reservations:\n          devices:\n            - capabilities: [gpu]\n              device_ids: [" + uuid1 + "]",
			[]string{"nvidia.com/gpu=" + uuid1}, []string{"/dev/nvidia1"}},
		"deploy driver cdi": {"deploy:\n      resources:\n        reservations:\n          devices:\n            - driver: cdi\n              capabilities: [gpu]\n              device_ids: [nvidia.com/gpu=0]",
			[]string{"nvidia.com/gpu=0"}, []string{"/dev/nvidia0"}},
		"devices CDI name": {"devices: [\"nvidia.com/gpu=1\"]", []string{"nvidia.com/gpu=1"}, []string{"/dev/nvidia1"}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			svc := loadService(t, "services:\n  app:\n    image: busybox\n    "+c.service+"\n")
			names, err := r.Resolve(svc)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(names, c.names) {
				t.Fatalf("names = %q, want %q", names, c.names)
			}
			s := baseSpec()
			if _, err := r.InjectDevices(s, names...); err != nil {
				t.Fatal(err)
			}
			var nodes []string
			for _, d := range s.Linux.Devices {
				nodes = append(nodes, d.Path)
			}
			want := append(append([]string{}, c.nodes...), "/dev/nvidiactl", "/dev/nvidia-uvm")
			slices.Sort(nodes)
			slices.Sort(want)
			if !slices.Equal(nodes, want) {
				t.Errorf("nodes = %q, want %q", nodes, want)
			}
			if len(s.Linux.Resources.Devices) != len(want) {
				t.Errorf("cgroup rules = %d, want one per node (%d)", len(s.Linux.Resources.Devices), len(want))
			}
			for _, rule := range s.Linux.Resources.Devices {
				if !rule.Allow || rule.Access != "rwm" || rule.Major == nil || rule.Minor == nil {
					t.Errorf("rule %+v: want an allow of one node", rule)
				}
			}
			var smi bool
			for _, m := range s.Mounts {
				if m.Destination == "/usr/bin/nvidia-smi" && m.Source == h.path("/usr/local/nvidia/bin/nvidia-smi") {
					smi = true
				}
			}
			if !smi {
				t.Errorf("nvidia-smi not mounted: %+v", s.Mounts)
			}
			// the driver's dir goes in front of the image's LD_LIBRARY_PATH
			if !slices.Contains(s.Process.Env, "LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/opt/app/lib") {
				t.Errorf("env = %q", s.Process.Env)
			}
		})
	}
}

func TestGPURequestErrors(t *testing.T) {
	r, _ := gpuRegistry(t)
	cases := map[string]struct{ service, want string }{
		"count too big": {"gpus:\n      - count: 3", "count 3, but this host has 2 GPU(s)"},
		"unknown id":    {"gpus:\n      - device_ids: [\"7\"]", "nvidia.com/gpu=7"},
		"other capability": {"deploy:\n      resources:\n        reservations:\n          devices:\n            - capabilities: [tpu]",
			`no device driver for driver "" with capabilities [tpu]`},
		"cdi without ids": {"gpus:\n      - driver: cdi\n        count: 1", "driver cdi needs device_ids"},
		"CDI with target": {"devices: [\"nvidia.com/gpu=0:/dev/x\"]", "takes no container path"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			svc := loadService(t, "services:\n  app:\n    image: busybox\n    "+c.service+"\n")
			_, err := r.Resolve(svc)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `service "app"`) {
				t.Errorf("err = %v, want one naming the service and %q", err, c.want)
			}
		})
	}
}

// On a host with no GPU every GPU form fails before anything exists,
// naming the service, the field and what is missing.
func TestGPUOnHostWithoutGPU(t *testing.T) {
	dirs := []string{filepath.Join(t.TempDir(), "etc-cdi")}
	r, err := New(Options{SpecDirs: dirs, Root: t.TempDir(), GenDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Generated() {
		t.Error("generated a spec on a host without a driver")
	}
	for field, y := range map[string]string{
		"gpus": "gpus: all",
		"deploy.resources.reservations.devices[0]": "deploy:\n      resources:\n        reservations:\n          devices:\n            - driver: nvidia\n              count: all\n              capabilities: [gpu]",
	} {
		svc := loadService(t, "services:\n  app:\n    image: busybox\n    "+y+"\n")
		_, err := r.Resolve(svc)
		if !errors.Is(err, ErrNoGPU) {
			t.Fatalf("%s: err = %v, want ErrNoGPU", field, err)
		}
		for _, w := range []string{`service "app"`, field, "nvidia.com/gpu", dirs[0], "/dev/nvidiactl"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not name %q", field, err, w)
			}
		}
	}
}

// A spec on the host wins over generation: nothing is generated, and its
// devices are the ones used.
func TestHostSpecWinsOverGeneration(t *testing.T) {
	h := newFakeHost(t)
	h.nvidia(1, true)
	dir := t.TempDir()
	writeCDISpec(t, dir, "nvidia.yaml", `cdiVersion: "0.6.0"
kind: nvidia.com/gpu
devices:
  - name: all
    containerEdits:
      deviceNodes: [{path: /dev/host-spec-gpu, hostPath: /dev/null}]
`)
	r, err := New(Options{SpecDirs: []string{dir}, Root: h.root, GenDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Generated() {
		t.Errorf("generated a spec although %s has one", dir)
	}
	svc := loadService(t, "services:\n  app:\n    image: busybox\n    gpus: all\n")
	s := baseSpec()
	names, err := r.Resolve(svc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.InjectDevices(s, names...); err != nil {
		t.Fatal(err)
	}
	if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Path != "/dev/host-spec-gpu" {
		t.Errorf("devices = %+v", s.Linux.Devices)
	}
}

// The generated spec is written when first injected; it is valid CDI (the
// library reads and validates it) and private to root.
func TestGeneratedSpecFile(t *testing.T) {
	r, _ := gpuRegistry(t)
	if _, err := r.InjectDevices(baseSpec(), "nvidia.com/gpu=0"); err != nil {
		t.Fatal(err)
	}
	if r.GeneratedPath() == "" {
		t.Fatal("not written on injection")
	}
	if _, err := cdi.ReadSpec(r.GeneratedPath(), 0); err != nil {
		t.Errorf("the library refuses the generated spec: %v", err)
	}
	b, err := os.ReadFile(r.GeneratedPath())
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["kind"] != NVIDIAKind || raw["cdiVersion"] == "" {
		t.Errorf("spec = %v", raw)
	}
	fi, err := os.Stat(r.GeneratedPath())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, %v", fi.Mode(), err)
	}
	if got := r.Devices(); len(got) != 5 {
		t.Errorf("devices = %q", got)
	}
}

func TestGPUOptionsWarned(t *testing.T) {
	svc := loadService(t, "services:\n  app:\n    image: busybox\n    gpus:\n      - count: 1\n        options: {virtualization: \"false\"}\n")
	w := Warnings(svc)
	if len(w) != 1 || !strings.Contains(w[0], "gpus: options are not used") {
		t.Errorf("warnings = %q", w)
	}
	if w := Warnings(loadService(t, "services:\n  app:\n    image: busybox\n    gpus: all\n")); len(w) != 0 {
		t.Errorf("gpus: all warned %q", w)
	}
}
