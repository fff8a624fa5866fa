package devices_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/devices"
	"github.com/berth-dev/berth/engine/ociruntime"
)

// The whole spec-generation path, as `up` runs it: a service with a GPU
// request, a CDI device, a plain device and a cgroup rule; the generated
// OCI spec has every node, mount, env and cgroup rule, and Docker's
// deny-all stays first.
func TestGenerateWithDevices(t *testing.T) {
	root := devices.FakeNVIDIAHost(t, 2)
	cdiDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(cdiDir, "test.yaml"), []byte(`cdiVersion: "0.6.0"
kind: test.berth.dev/dev
devices:
  - name: zero
    containerEdits:
      deviceNodes: [{path: /dev/berth-zero, hostPath: /dev/zero, permissions: rw}]
      env: [BERTH_TEST_DEVICE=zero]
      mounts: [{hostPath: /etc/hostname, containerPath: /berth-test/hostname, options: [ro, bind]}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := devices.New(devices.Options{SpecDirs: []string{cdiDir}, Root: root, GenDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	svc := types.ServiceConfig{Name: "app"}
	svc.Devices = []types.DeviceMapping{
		{Source: "test.berth.dev/dev=zero", Target: "test.berth.dev/dev=zero", Permissions: "rwm"},
		{Source: "/dev/null", Target: "/dev/xnull", Permissions: "rw"},
	}
	svc.DeviceCgroupRules = []string{"c 195:* m"}
	svc.Deploy = &types.DeployConfig{Resources: types.Resources{Reservations: &types.Resource{
		Devices: []types.DeviceRequest{{Driver: "nvidia", Count: 1, Capabilities: []string{"gpu"}}},
	}}}
	if err := ociruntime.CheckDevices(&svc); err != nil {
		t.Fatal(err)
	}
	names, err := reg.Resolve(&svc)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"test.berth.dev/dev=zero", "nvidia.com/gpu=0"}) {
		t.Fatalf("names = %q", names)
	}
	s, _, err := ociruntime.Generate(&v1.ConfigFile{Config: v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}}}, &svc,
		ociruntime.Container{ID: "0123456789abcdef", Project: "p", Host: &ociruntime.Host{Sys: t.TempDir()},
			Rlimit:     func(int) (unix.Rlimit, error) { return unix.Rlimit{Cur: 1024, Max: 1024}, nil },
			CDIDevices: names, CDI: reg})
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]specs.LinuxDevice{}
	for _, d := range s.Linux.Devices {
		nodes[d.Path] = d
	}
	for p, mm := range map[string][2]int64{
		"/dev/berth-zero": {1, 5}, "/dev/xnull": {1, 3},
		"/dev/nvidia0": {195, 0}, "/dev/nvidiactl": {195, 255}, "/dev/nvidia-uvm": {510, 0},
	} {
		if d, ok := nodes[p]; !ok || d.Major != mm[0] || d.Minor != mm[1] || d.Type != "c" {
			t.Errorf("node %s = %+v, want c %d:%d", p, d, mm[0], mm[1])
		}
	}
	if _, ok := nodes["/dev/nvidia1"]; ok {
		t.Error("count 1 gave /dev/nvidia1 too")
	}
	rules := s.Linux.Resources.Devices
	if rules[0].Allow {
		t.Errorf("first rule %+v, want Docker's deny-all", rules[0])
	}
	has := func(typ string, major, minor int64, access string) bool {
		for _, r := range rules {
			if r.Allow && r.Type == typ && r.Access == access && r.Major != nil && *r.Major == major &&
				((minor < 0 && r.Minor == nil) || (r.Minor != nil && *r.Minor == minor)) {
				return true
			}
		}
		return false
	}
	for _, r := range []struct {
		major, minor int64
		access       string
	}{{1, 5, "rw"}, {1, 3, "rw"}, {195, 0, "rwm"}, {195, 255, "rwm"}, {510, 0, "rwm"}, {195, -1, "m"}} {
		if !has("c", r.major, r.minor, r.access) {
			t.Errorf("no cgroup rule c %d:%d %s in %+v", r.major, r.minor, r.access, rules)
		}
	}
	mounts := map[string]string{}
	for _, m := range s.Mounts {
		mounts[m.Destination] = m.Source
	}
	for dst, src := range map[string]string{
		"/berth-test/hostname":                      "/etc/hostname",
		"/usr/bin/nvidia-smi":                       filepath.Join(root, "/usr/local/nvidia/bin/nvidia-smi"),
		"/usr/local/nvidia/lib64/libnvidia-ml.so.1": filepath.Join(root, "/usr/local/nvidia/lib64/libnvidia-ml.so.550.54.15"),
	} {
		if mounts[dst] != src {
			t.Errorf("mount %s from %q, want %q", dst, mounts[dst], src)
		}
	}
	if _, ok := mounts["/proc"]; !ok {
		t.Error("the default mounts were lost")
	}
	for _, e := range []string{"PATH=/bin", "BERTH_TEST_DEVICE=zero", "LD_LIBRARY_PATH=/usr/local/nvidia/lib64", "NVIDIA_VISIBLE_DEVICES=void"} {
		if !slices.Contains(s.Process.Env, e) {
			t.Errorf("env %q missing: %q", e, s.Process.Env)
		}
	}
}
