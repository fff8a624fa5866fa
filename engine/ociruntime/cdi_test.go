package ociruntime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/ociruntime"
)

func TestParseDeviceCgroupRule(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	good := map[string]specs.LinuxDeviceCgroup{
		"c 1:3 mr":         {Allow: true, Type: "c", Major: n(1), Minor: n(3), Access: "mr"},
		"b 8:* rwm":        {Allow: true, Type: "b", Major: n(8), Access: "rwm"},
		"c *:* m":          {Allow: true, Type: "c", Access: "m"},
		"a *:* rwm":        {Allow: true, Type: "a", Access: "rwm"},
		"c 4095:1048575 r": {Allow: true, Type: "c", Major: n(4095), Minor: n(1048575), Access: "r"},
	}
	for in, want := range good {
		got, err := ociruntime.ParseDeviceCgroupRule(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if got.Allow != want.Allow || got.Type != want.Type || got.Access != want.Access ||
			(got.Major == nil) != (want.Major == nil) || (got.Minor == nil) != (want.Minor == nil) ||
			(got.Major != nil && *got.Major != *want.Major) || (got.Minor != nil && *got.Minor != *want.Minor) {
			t.Errorf("%q = %+v, want %+v", in, got, want)
		}
	}
	for _, bad := range []string{
		"", "c 1:3", "c 1:3 rwm extra", "c  1:3 rwm", " c 1:3 rwm", "c 1:3 rwm ", "c\t1:3 rwm",
		"x 1:3 rwm", "C 1:3 rwm", "c 1 rwm", "c 1:3:4 rwm", "c -1:3 rwm", "c +1:3 rwm", "c 0x1:3 rwm",
		"c 4096:0 rwm", "c 1:1048576 rwm", "c 99999999999999999999:1 r", "c 1:3 rwx", "c 1:3 rr", "c 1:3 ",
		"a 1:3 rwm", "a *:3 rwm", "c :3 rwm", "c 1: rwm",
	} {
		if r, err := ociruntime.ParseDeviceCgroupRule(bad); err == nil {
			t.Errorf("%q accepted as %+v", bad, r)
		}
	}
}

func FuzzParseDeviceCgroupRule(f *testing.F) {
	for _, s := range []string{"c 1:3 mr", "a *:* rwm", "b 8:* rw", "c 4096:0 m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ociruntime.ParseDeviceCgroupRule(s)
		if err != nil {
			return
		}
		// what is accepted is exactly a rule runc can apply
		if !r.Allow || (r.Type != "a" && r.Type != "b" && r.Type != "c") || r.Access == "" || strings.Trim(r.Access, "rwm") != "" {
			t.Fatalf("%q accepted as %+v", s, r)
		}
		if r.Type == "a" && (r.Major != nil || r.Minor != nil) {
			t.Fatalf("%q: type a with numbers", s)
		}
	})
}

func generateDevices(t *testing.T, svc types.ServiceConfig) (*specs.Spec, []string, error) {
	t.Helper()
	svc.Name = "s"
	return ociruntime.Generate(&v1.ConfigFile{Config: v1.Config{Cmd: []string{"sh"}}}, &svc,
		ociruntime.Container{ID: testID, Project: "p", Rlimit: fakeRlimit, Host: &ociruntime.Host{Sys: t.TempDir()}})
}

func TestGenerateDeviceCgroupRules(t *testing.T) {
	s, _, err := generateDevices(t, svcWith(nil, []string{"c 195:* rwm", "b 7:0 r"}))
	if err != nil {
		t.Fatal(err)
	}
	rules := s.Linux.Resources.Devices
	if rules[0].Allow || rules[0].Access != "rwm" {
		t.Errorf("first rule %+v: want Docker's deny-all first", rules[0])
	}
	var found int
	for _, r := range rules {
		if r.Allow && r.Type == "c" && r.Major != nil && *r.Major == 195 && r.Minor == nil && r.Access == "rwm" {
			found++
		}
		if r.Allow && r.Type == "b" && r.Major != nil && *r.Major == 7 && r.Minor != nil && *r.Minor == 0 && r.Access == "r" {
			found++
		}
	}
	if found != 2 {
		t.Errorf("rules = %+v", rules)
	}
	if _, _, err := generateDevices(t, svcWith(nil, []string{"c 195:* rwmx"})); err == nil ||
		!strings.Contains(err.Error(), `service "s": device_cgroup_rules: "c 195:* rwmx"`) {
		t.Errorf("bad rule: err = %v", err)
	}
	if err := ociruntime.CheckDevices(ptr(svcWith(nil, []string{"a 1:3 rwm"}))); err == nil {
		t.Error("CheckDevices accepted a 1:3")
	}
}

// A `devices:` host path that is a symlink is followed to its node and
// said; the node is made from the real node's numbers with exactly the
// permissions asked.
func TestDeviceSymlinkIsSaid(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "mynull")
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	s, warns, err := generateDevices(t, svcWith([]types.DeviceMapping{{Source: link, Target: "/dev/x", Permissions: "r"}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], link+" is a symlink to /dev/null") {
		t.Errorf("warnings = %q", warns)
	}
	var dev *specs.LinuxDevice
	for i := range s.Linux.Devices {
		if s.Linux.Devices[i].Path == "/dev/x" {
			dev = &s.Linux.Devices[i]
		}
	}
	if dev == nil || dev.Type != "c" || dev.Major != 1 || dev.Minor != 3 {
		t.Fatalf("devices = %+v", s.Linux.Devices)
	}
	last := s.Linux.Resources.Devices[len(s.Linux.Resources.Devices)-1]
	if last.Access != "r" || *last.Major != 1 || *last.Minor != 3 {
		t.Errorf("rule = %+v, want r on 1:3 exactly", last)
	}
}

func TestDeviceMappingRefused(t *testing.T) {
	dir := t.TempDir()
	os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling"))
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	os.Symlink(filepath.Join(dir, "file"), filepath.Join(dir, "tofile"))
	for _, dm := range []types.DeviceMapping{
		{Source: "/dev/null", Target: "dev/x"},              // relative target
		{Source: "/dev/null", Target: "/dev/../etc/passwd"}, // .. in target
		{Source: "dev/null", Target: "/dev/x"},              // relative source
		{Source: "/dev/null", Permissions: "rww"},           // repeated
		{Source: "/dev/null", Permissions: "rwx"},
		{Source: filepath.Join(dir, "dangling")},
		{Source: filepath.Join(dir, "file")},   // not a node
		{Source: filepath.Join(dir, "tofile")}, // a symlink to a file is not a node either
	} {
		if _, _, err := generateDevices(t, svcWith([]types.DeviceMapping{dm}, nil)); err == nil {
			t.Errorf("%+v accepted", dm)
		}
		if err := ociruntime.CheckDevices(ptr(svcWith([]types.DeviceMapping{dm}, nil))); err == nil {
			t.Errorf("CheckDevices accepted %+v", dm)
		}
	}
}

// CDI names in `devices:` are not host paths: WithDevices leaves them to
// the injector, and without one Generate fails rather than drop them.
func TestGenerateCDIWithoutInjector(t *testing.T) {
	svc := svcWith([]types.DeviceMapping{{Source: "vendor.com/dev=x", Target: "vendor.com/dev=x", Permissions: "rwm"}}, nil)
	if err := ociruntime.CheckDevices(&svc); err != nil {
		t.Errorf("CheckDevices: %v", err)
	}
	_, _, err := ociruntime.Generate(&v1.ConfigFile{Config: v1.Config{Cmd: []string{"sh"}}}, &svc,
		ociruntime.Container{ID: testID, Rlimit: fakeRlimit, Host: &ociruntime.Host{Sys: t.TempDir()}, CDIDevices: []string{"vendor.com/dev=x"}})
	if err == nil || !strings.Contains(err.Error(), "no CDI registry") {
		t.Errorf("err = %v", err)
	}
}

func svcWith(devs []types.DeviceMapping, rules []string) types.ServiceConfig {
	svc := types.ServiceConfig{Name: "s"}
	svc.Devices, svc.DeviceCgroupRules = devs, rules
	return svc
}

func ptr(s types.ServiceConfig) *types.ServiceConfig { return &s }
