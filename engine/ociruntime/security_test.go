package ociruntime_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/ociruntime"
)

func TestCapabilities(t *testing.T) {
	def := ociruntime.DefaultCapabilities()
	tests := []struct {
		name      string
		add, drop []string
		check     func(t *testing.T, got []string)
	}{
		{"defaults", nil, nil, func(t *testing.T, got []string) {
			if len(got) != 14 || !slices.Equal(got, def) {
				t.Errorf("got %v", got)
			}
		}},
		{"add without prefix, lower case", []string{"net_admin"}, nil, func(t *testing.T, got []string) {
			if !slices.Contains(got, "CAP_NET_ADMIN") || len(got) != 15 {
				t.Errorf("got %v", got)
			}
		}},
		{"drop with prefix", nil, []string{"CAP_CHOWN", "kill"}, func(t *testing.T, got []string) {
			if slices.Contains(got, "CAP_CHOWN") || slices.Contains(got, "CAP_KILL") || len(got) != 12 {
				t.Errorf("got %v", got)
			}
		}},
		{"drop ALL then add", []string{"NET_BIND_SERVICE"}, []string{"ALL"}, func(t *testing.T, got []string) {
			if !slices.Equal(got, []string{"CAP_NET_BIND_SERVICE"}) {
				t.Errorf("got %v", got)
			}
		}},
		{"drop ALL", nil, []string{"all"}, func(t *testing.T, got []string) {
			if len(got) != 0 {
				t.Errorf("got %v", got)
			}
		}},
		{"add ALL minus drop", []string{"ALL"}, []string{"SYS_ADMIN"}, func(t *testing.T, got []string) {
			if slices.Contains(got, "CAP_SYS_ADMIN") || !slices.Contains(got, "CAP_SYS_MODULE") || len(got) < 30 {
				t.Errorf("got %v", got)
			}
		}},
		{"add wins over drop of the same", []string{"CHOWN"}, []string{"CHOWN"}, func(t *testing.T, got []string) {
			if !slices.Contains(got, "CAP_CHOWN") {
				t.Errorf("got %v", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ociruntime.NewSpec(ociruntime.WithCapabilities(tc.add, tc.drop))
			if err != nil {
				t.Fatal(err)
			}
			c := s.Process.Capabilities
			tc.check(t, c.Bounding)
			if !slices.Equal(c.Bounding, c.Effective) || !slices.Equal(c.Bounding, c.Permitted) {
				t.Errorf("bounding %v effective %v permitted %v differ", c.Bounding, c.Effective, c.Permitted)
			}
			if len(c.Inheritable) != 0 || len(c.Ambient) != 0 {
				t.Errorf("inheritable %v ambient %v, want none", c.Inheritable, c.Ambient)
			}
		})
	}
	if _, err := ociruntime.Capabilities(def, []string{"NOT_A_CAP"}, nil); err == nil {
		t.Error("unknown capability accepted")
	}
}

func TestParseSecurityOpts(t *testing.T) {
	for _, o := range []string{"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"} {
		r, err := ociruntime.ParseSecurityOpts([]string{o}, "")
		if err != nil || !r.NoNewPrivileges {
			t.Errorf("%q: %+v %v", o, r, err)
		}
	}
	if r, _ := ociruntime.ParseSecurityOpts([]string{"no-new-privileges:false"}, ""); r.NoNewPrivileges {
		t.Error("no-new-privileges:false set the bit")
	}
	r, err := ociruntime.ParseSecurityOpts([]string{"seccomp=unconfined", "apparmor=unconfined", "label=disable"}, "")
	if err != nil || r.Seccomp != "unconfined" {
		t.Errorf("got %+v %v", r, err)
	}
	if r, _ := ociruntime.ParseSecurityOpts([]string{"seccomp=prof.json"}, "/proj"); r.Seccomp != "/proj/prof.json" {
		t.Errorf("relative profile: %q", r.Seccomp)
	}
	for _, bad := range []string{"bogus", "no-new-privileges=maybe", "seccomp"} {
		if _, err := ociruntime.ParseSecurityOpts([]string{bad}, ""); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func syscallAllowed(s *specs.Spec, name string) bool {
	for _, sc := range s.Linux.Seccomp.Syscalls {
		if sc.Action == specs.ActAllow && len(sc.Args) == 0 && slices.Contains(sc.Names, name) {
			return true
		}
	}
	return false
}

func TestDefaultSeccomp(t *testing.T) {
	s, err := ociruntime.NewSpec(ociruntime.WithDefaultSeccomp())
	if err != nil {
		t.Fatal(err)
	}
	sc := s.Linux.Seccomp
	if sc == nil || sc.DefaultAction != specs.ActErrno {
		t.Fatalf("seccomp %+v", sc)
	}
	if !syscallAllowed(s, "read") || syscallAllowed(s, "mount") {
		t.Error("default profile: read must be allowed, mount not")
	}
	// The profile follows the capabilities it is computed for.
	s, err = ociruntime.NewSpec(ociruntime.WithCapabilities([]string{"SYS_ADMIN"}, nil), ociruntime.WithDefaultSeccomp())
	if err != nil {
		t.Fatal(err)
	}
	if !syscallAllowed(s, "mount") {
		t.Error("cap_add SYS_ADMIN: mount must be allowed by the profile")
	}
	s, _ = ociruntime.NewSpec(ociruntime.WithDefaultSeccomp(), ociruntime.WithoutSeccomp())
	if s.Linux.Seccomp != nil {
		t.Error("WithoutSeccomp left a filter")
	}
}

func TestWithPrivileged(t *testing.T) {
	s, err := ociruntime.NewSpec(ociruntime.WithDefaultSeccomp(), ociruntime.WithPrivileged())
	if err != nil {
		t.Fatal(err)
	}
	if s.Linux.Seccomp != nil || len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
		t.Errorf("privileged kept seccomp/masks: %v %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	if !slices.Contains(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") {
		t.Error("privileged lacks CAP_SYS_ADMIN")
	}
	for _, m := range s.Mounts {
		if (m.Destination == "/sys" || m.Destination == "/sys/fs/cgroup") && slices.Contains(m.Options, "ro") {
			t.Errorf("%s still read-only", m.Destination)
		}
	}
	if d := s.Linux.Resources.Devices; len(d) != 1 || !d[0].Allow || d[0].Type != "" {
		t.Errorf("device cgroup %+v, want allow all", d)
	}
	found := false
	for _, d := range s.Linux.Devices {
		found = found || d.Path == "/dev/null"
	}
	if !found {
		t.Error("host devices (/dev/null) not added")
	}
}

func TestWithNoNewPrivileges(t *testing.T) {
	s, _ := ociruntime.NewSpec(ociruntime.WithNoNewPrivileges(true))
	if !s.Process.NoNewPrivileges {
		t.Error("bit not set")
	}
}

func writeRootfs(t *testing.T, passwd, group string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]string{"etc/passwd": passwd, "etc/group": group} {
		if c == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolveUser(t *testing.T) {
	root := writeRootfs(t,
		"root:x:0:0:root:/root:/bin/sh\n# comment\nwww:x:33:33:www:/var/www:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n",
		"root:x:0:\nwheel:x:10:root\nwww:x:33:\nstaff:x:50:app,www\naudio:x:29:app\napp:x:1000:\n")
	tests := []struct {
		user     string
		groupAdd []string
		want     ociruntime.ResolvedUser
	}{
		{"", nil, ociruntime.ResolvedUser{UID: 0, GID: 0, AdditionalGids: []uint32{10}, Home: "/root"}},
		{"app", nil, ociruntime.ResolvedUser{UID: 1000, GID: 1000, AdditionalGids: []uint32{50, 29}, Home: "/home/app"}},
		{"1000", nil, ociruntime.ResolvedUser{UID: 1000, GID: 1000, AdditionalGids: []uint32{50, 29}, Home: "/home/app"}},
		{"1000:33", nil, ociruntime.ResolvedUser{UID: 1000, GID: 33, AdditionalGids: []uint32{50, 29}, Home: "/home/app"}},
		{"www:staff", []string{"audio", "4242"}, ociruntime.ResolvedUser{UID: 33, GID: 50, AdditionalGids: []uint32{50, 29, 4242}, Home: "/var/www"}},
		{"4321", nil, ociruntime.ResolvedUser{UID: 4321, GID: 0, Home: "/"}},
		{"4321:4321", nil, ociruntime.ResolvedUser{UID: 4321, GID: 4321, Home: "/"}},
	}
	for _, tc := range tests {
		got, err := ociruntime.ResolveUser(root, tc.user, tc.groupAdd)
		if err != nil {
			t.Errorf("%q: %v", tc.user, err)
			continue
		}
		if got.UID != tc.want.UID || got.GID != tc.want.GID || got.Home != tc.want.Home ||
			!slices.Equal(got.AdditionalGids, tc.want.AdditionalGids) {
			t.Errorf("%q %v: got %+v, want %+v", tc.user, tc.groupAdd, got, tc.want)
		}
	}
	for _, bad := range []struct{ user, msg string }{
		{"nosuchuser", `user "nosuchuser": not found in the container's /etc/passwd`},
		{"app:nogroup", `group "nogroup": not found in the container's /etc/group`},
	} {
		_, err := ociruntime.ResolveUser(root, bad.user, nil)
		if err == nil || err.Error() != bad.msg || !errors.Is(err, ociruntime.ErrUserNotFound) {
			t.Errorf("%q: error %v, want %q", bad.user, err, bad.msg)
		}
	}
	if _, err := ociruntime.ResolveUser(root, "app", []string{"nogroup"}); err == nil {
		t.Error("unknown group_add accepted")
	}
}

func TestResolveUserNoFilesAndEscape(t *testing.T) {
	empty := t.TempDir()
	if r, err := ociruntime.ResolveUser(empty, "1000:1000", nil); err != nil || r.UID != 1000 || r.GID != 1000 {
		t.Errorf("numeric user without /etc/passwd: %+v %v", r, err)
	}
	if _, err := ociruntime.ResolveUser(empty, "app", nil); err == nil {
		t.Error("named user without /etc/passwd accepted")
	}
	// An image whose /etc/passwd links to the host's must not read the host's.
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	if _, err := ociruntime.ResolveUser(root, "root", nil); err == nil {
		t.Error("resolved a user through a symlink out of the rootfs")
	}
}

func TestWithUserSetsHome(t *testing.T) {
	root := writeRootfs(t, "app:x:1000:1000::/home/app:/bin/sh\n", "")
	s, err := ociruntime.NewSpec(ociruntime.WithUser(root, "app", nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.Process.User.UID != 1000 || !slices.Contains(s.Process.Env, "HOME=/home/app") {
		t.Errorf("user %+v env %v", s.Process.User, s.Process.Env)
	}
}

// TestParseSecurityOptsKeys: every key dockerd (and the docker CLI, for
// systempaths) knows is parsed into its field; anything else is an error
// naming the entry, never silently ignored.
func TestParseSecurityOptsKeys(t *testing.T) {
	r, err := ociruntime.ParseSecurityOpts([]string{
		"apparmor=my-prof", "label=type:svirt_t", "disable", "systempaths=unconfined", "writable-cgroups",
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.AppArmor != "my-prof" || !slices.Equal(r.Labels, []string{"type:svirt_t", "disable"}) ||
		!r.SystemPathsUnconfined || r.WritableCgroups == nil || !*r.WritableCgroups {
		t.Errorf("got %+v", r)
	}
	r, err = ociruntime.ParseSecurityOpts([]string{"apparmor:old-style", "writable-cgroups=false"}, "")
	if err != nil || r.AppArmor != "old-style" || r.WritableCgroups == nil || *r.WritableCgroups {
		t.Errorf("got %+v %v", r, err)
	}
	for _, bad := range []string{
		"apparmor", "apparmor=", "label", "label=", "systempaths=confined", "systempaths",
		"writable-cgroups=maybe", "selinux=on", "foo=bar", "seccomp=",
	} {
		_, err := ociruntime.ParseSecurityOpts([]string{bad}, "")
		if err == nil {
			t.Errorf("%q accepted", bad)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("%q: error %q does not name the entry", bad, err)
		}
	}
}

// fakeSys makes a fake sysfs tree holding the given files (directories
// for names ending in /).
func fakeSys(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestMaskedPathsThermal: Docker's full list, plus the thermal_throttle
// directory of each possible CPU that has one (GHSA-6fw5-f8r9-fgfm).
func TestMaskedPathsThermal(t *testing.T) {
	h := &ociruntime.Host{Sys: fakeSys(t, map[string]string{
		"devices/system/cpu/possible":                "0-2,4\n",
		"devices/system/cpu/cpu0/thermal_throttle/":  "",
		"devices/system/cpu/cpu2/thermal_throttle/":  "",
		"devices/system/cpu/cpu4/thermal_throttle/":  "",
		"devices/system/cpu/cpu1/":                   "",
		"devices/system/cpu/cpu9/thermal_throttle/":  "", // not possible: ignored
		"devices/system/cpu/cpu3/thermal_throttle/x": "", // not in the possible list
	})}
	got := h.MaskedPaths()
	want := []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
		"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
		"/sys/devices/system/cpu/cpu0/thermal_throttle",
		"/sys/devices/system/cpu/cpu2/thermal_throttle",
		"/sys/devices/system/cpu/cpu4/thermal_throttle",
	}
	if !slices.Equal(got, want) {
		t.Errorf("masked paths\n got %v\nwant %v", got, want)
	}
	// Without a readable "possible" list, the cpuN directories count.
	h = &ociruntime.Host{Sys: fakeSys(t, map[string]string{
		"devices/system/cpu/cpu1/thermal_throttle/": "",
		"devices/system/cpu/cpufreq/":               "",
	})}
	if got := h.MaskedPaths(); got[len(got)-1] != "/sys/devices/system/cpu/cpu1/thermal_throttle" {
		t.Errorf("no possible list: %v", got)
	}
	s, err := ociruntime.NewSpec(ociruntime.WithSystemPaths(h, false))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/sys/devices/system/cpu/cpu1/thermal_throttle") ||
		!slices.Equal(s.Linux.ReadonlyPaths, []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
		t.Errorf("spec: masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
}

// TestSystemPathsAndCgroups: systempaths=unconfined clears every masked
// and read-only path; writable-cgroups makes /sys/fs/cgroup rw, and =false
// keeps it ro even when privileged (as dockerd).
func TestSystemPathsAndCgroups(t *testing.T) {
	h := &ociruntime.Host{Sys: t.TempDir()}
	s, err := ociruntime.NewSpec(ociruntime.WithSystemPaths(h, true))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
		t.Errorf("systempaths=unconfined kept masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	cgroupOpts := func(s *specs.Spec) []string {
		for _, m := range s.Mounts {
			if m.Destination == "/sys/fs/cgroup" {
				return m.Options
			}
		}
		t.Fatal("no cgroup mount")
		return nil
	}
	s, _ = ociruntime.NewSpec(ociruntime.WithWritableCgroups(true))
	if o := cgroupOpts(s); !slices.Contains(o, "rw") || slices.Contains(o, "ro") {
		t.Errorf("writable-cgroups: cgroup mount %v", o)
	}
	s, _ = ociruntime.NewSpec(ociruntime.WithPrivileged(), ociruntime.WithWritableCgroups(false))
	if o := cgroupOpts(s); !slices.Contains(o, "ro") || slices.Contains(o, "rw") {
		t.Errorf("privileged + writable-cgroups=false: cgroup mount %v", o)
	}
}

// fakeAppArmor is a host with AppArmor on, whose loader records what it
// loads and lists it as loaded, as apparmor_parser -r does.
func fakeAppArmor(t *testing.T) (*ociruntime.Host, *[]string) {
	sys := fakeSys(t, map[string]string{
		"module/apparmor/parameters/enabled":   "Y\n",
		"kernel/security/apparmor/profiles":    "/usr/bin/man (enforce)\nmy-prof (complain)\n",
		"kernel/security/apparmor/.access":     "",
		"devices/system/cpu/cpu0/not-thermal/": "",
	})
	var loaded []string
	h := &ociruntime.Host{Sys: sys, AppArmorDir: t.TempDir(), LoadAppArmor: func(p []byte) error {
		loaded = append(loaded, string(p))
		f, err := os.OpenFile(filepath.Join(sys, "kernel/security/apparmor/profiles"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString(ociruntime.DefaultAppArmorProfile + " (enforce)\n")
		return err
	}}
	return h, &loaded
}

func TestAppArmor(t *testing.T) {
	h, loaded := fakeAppArmor(t)
	profile := func(h *ociruntime.Host, name string, privileged bool) (string, []string, error) {
		var warns []string
		s, err := ociruntime.NewSpec(ociruntime.WithAppArmor(h, name, privileged, func(w string) { warns = append(warns, w) }))
		if err != nil {
			return "", warns, err
		}
		return s.Process.ApparmorProfile, warns, nil
	}
	// The default profile is loaded once, then reused.
	for range 2 {
		if got, _, err := profile(h, "", false); err != nil || got != ociruntime.DefaultAppArmorProfile {
			t.Fatalf("default: %q %v", got, err)
		}
	}
	if len(*loaded) != 1 {
		t.Fatalf("loaded %d times, want once", len(*loaded))
	}
	text := (*loaded)[0]
	for _, rule := range []string{`profile "berth-default" flags=(attach_disconnected,mediate_deleted)`, "deny mount,",
		"deny @{PROC}/kcore rwklx,", "deny /sys/firmware/** rwklx,", "deny /sys/kernel/security/** rwklx,"} {
		if !strings.Contains(text, rule) {
			t.Errorf("profile lacks %q:\n%s", rule, text)
		}
	}
	if got, _, _ := profile(h, "", true); got != "unconfined" {
		t.Errorf("privileged: %q, want unconfined", got)
	}
	if got, _, _ := profile(h, "unconfined", false); got != "unconfined" {
		t.Errorf("apparmor=unconfined: %q", got)
	}
	if got, _, err := profile(h, "my-prof", true); err != nil || got != "my-prof" {
		t.Errorf("apparmor=my-prof: %q %v", got, err)
	}
	if _, _, err := profile(h, "missing-prof", false); err == nil || !strings.Contains(err.Error(), "missing-prof") {
		t.Errorf("a profile that is not loaded: %v", err)
	}

	failing, _ := fakeAppArmor(t)
	failing.LoadAppArmor = func([]byte) error { return errors.New("parser exploded") }
	if _, _, err := profile(failing, "", false); err == nil || !strings.Contains(err.Error(), "berth-default profile could not be loaded: parser exploded") {
		t.Errorf("failing loader: %v", err)
	}

	// AppArmor off (no securityfs entry), no parser, or berth in a
	// container: nothing is set; a named profile is ignored with a warning.
	off, _ := fakeAppArmor(t)
	if err := os.RemoveAll(filepath.Join(off.Sys, "kernel/security/apparmor")); err != nil {
		t.Fatal(err)
	}
	noParser, _ := fakeAppArmor(t)
	noParser.LoadAppArmor = nil
	inContainer, _ := fakeAppArmor(t)
	inContainer.InContainer = true
	disabled, _ := fakeAppArmor(t)
	if err := os.WriteFile(filepath.Join(disabled.Sys, "module/apparmor/parameters/enabled"), []byte("N\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]*ociruntime.Host{"off": off, "no parser": noParser, "in a container": inContainer, "disabled": disabled} {
		got, warns, err := profile(h, "my-prof", false)
		if err != nil || got != "" || len(warns) != 1 || !strings.Contains(warns[0], "apparmor=my-prof ignored") {
			t.Errorf("%s: profile %q warnings %q err %v", name, got, warns, err)
		}
		if got, warns, err := profile(h, "", false); err != nil || got != "" || len(warns) != 0 {
			t.Errorf("%s, default: profile %q warnings %q err %v", name, got, warns, err)
		}
	}
}

// TestCheckLabels: without SELinux label options are ignored, as dockerd
// does; with SELinux only label=disable is accepted, as berth labels
// nothing.
func TestCheckLabels(t *testing.T) {
	off := &ociruntime.Host{Sys: t.TempDir()}
	if err := ociruntime.CheckLabels(off, []string{"user:u", "type:t", "disable"}); err != nil {
		t.Errorf("SELinux off: %v", err)
	}
	on := &ociruntime.Host{Sys: fakeSys(t, map[string]string{"fs/selinux/enforce": "1\n"})}
	if err := ociruntime.CheckLabels(on, []string{"disable"}); err != nil {
		t.Errorf("SELinux on, label=disable: %v", err)
	}
	if err := ociruntime.CheckLabels(on, []string{"type:svirt_t"}); err == nil || !strings.Contains(err.Error(), "label=type:svirt_t") {
		t.Errorf("SELinux on, label=type: %v", err)
	}
}

// TestGenerateSecurityOpts: Generate applies security_opt with the
// service's name on its errors and warnings.
func TestGenerateSecurityOpts(t *testing.T) {
	img := &v1.ConfigFile{Config: v1.Config{Cmd: []string{"sh"}}}
	gen := func(h *ociruntime.Host, opts ...string) (*specs.Spec, []string, error) {
		svc := types.ServiceConfig{Name: "web"}
		svc.SecurityOpt = opts
		return ociruntime.Generate(img, &svc, ociruntime.Container{ID: testID, Rlimit: fakeRlimit, Host: h})
	}
	if _, _, err := gen(&ociruntime.Host{Sys: t.TempDir()}, "bogus=1"); err == nil || !strings.Contains(err.Error(), `service "web": security_opt "bogus=1"`) {
		t.Errorf("unknown key: %v", err)
	}
	s, warns, err := gen(&ociruntime.Host{Sys: t.TempDir()}, "apparmor=my-prof", "systempaths=unconfined", "writable-cgroups=true", "label=level:s0")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], `service "web": security_opt apparmor=my-prof ignored`) {
		t.Errorf("warnings %q", warns)
	}
	if len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
		t.Errorf("systempaths=unconfined: masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	h, _ := fakeAppArmor(t)
	if s, _, err = gen(h); err != nil || s.Process.ApparmorProfile != ociruntime.DefaultAppArmorProfile {
		t.Errorf("AppArmor host: profile %q %v", s.Process.ApparmorProfile, err)
	}
}

// TestResolveUserCommentFirst: a comment line is no user, even one that
// parses as uid 0 (moby/sys/user's passwd reader keeps comment lines).
func TestResolveUserCommentFirst(t *testing.T) {
	root := writeRootfs(t, "# x:0:0::/comment:/bin/sh\nroot:x:0:0:root:/root:/bin/sh\n", "# 0\nwheel:x:10:root\n")
	got, err := ociruntime.ResolveUser(root, "0", nil)
	if err != nil || got.Home != "/root" || !slices.Equal(got.AdditionalGids, []uint32{10}) {
		t.Errorf("uid 0: %+v, %v; want home /root, groups [10]", got, err)
	}
}

// TestAllCapabilitiesFollowKernel: the privileged set is every capability
// up to the kernel's cap_last_cap that this process's bounding set holds,
// counted here from /proc without the capability library.
func TestAllCapabilitiesFollowKernel(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Skip(err)
	}
	last, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	st, _ := os.ReadFile("/proc/self/status")
	var bnd uint64
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			bnd, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	want := 0
	for i := 0; i <= last && i < 64; i++ {
		if bnd&(1<<uint(i)) != 0 {
			want++
		}
	}
	got := ociruntime.AllCapabilities()
	if len(got) != want {
		t.Errorf("AllCapabilities has %d, want %d (cap_last_cap %d, CapBnd %x): %v", len(got), want, last, bnd, got)
	}
	if bnd&(1<<0) != 0 && !slices.Contains(got, "CAP_CHOWN") {
		t.Errorf("CAP_CHOWN missing: %v", got)
	}
	if last >= 40 && bnd&(1<<40) != 0 && !slices.Contains(got, "CAP_CHECKPOINT_RESTORE") {
		t.Errorf("CAP_CHECKPOINT_RESTORE missing: %v", got)
	}
}
