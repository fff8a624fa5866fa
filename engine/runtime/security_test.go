package runtime_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/runtime"
)

func TestCapabilities(t *testing.T) {
	def := runtime.DefaultCapabilities()
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
			s, err := runtime.NewSpec(runtime.WithCapabilities(tc.add, tc.drop))
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
	if _, err := runtime.Capabilities(def, []string{"NOT_A_CAP"}, nil); err == nil {
		t.Error("unknown capability accepted")
	}
}

func TestParseSecurityOpts(t *testing.T) {
	for _, o := range []string{"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"} {
		r, err := runtime.ParseSecurityOpts([]string{o}, "")
		if err != nil || !r.NoNewPrivileges {
			t.Errorf("%q: %+v %v", o, r, err)
		}
	}
	if r, _ := runtime.ParseSecurityOpts([]string{"no-new-privileges:false"}, ""); r.NoNewPrivileges {
		t.Error("no-new-privileges:false set the bit")
	}
	r, err := runtime.ParseSecurityOpts([]string{"seccomp=unconfined", "apparmor=unconfined", "label=disable"}, "")
	if err != nil || r.Seccomp != "unconfined" {
		t.Errorf("got %+v %v", r, err)
	}
	if r, _ := runtime.ParseSecurityOpts([]string{"seccomp=prof.json"}, "/proj"); r.Seccomp != "/proj/prof.json" {
		t.Errorf("relative profile: %q", r.Seccomp)
	}
	for _, bad := range []string{"bogus", "no-new-privileges=maybe", "seccomp"} {
		if _, err := runtime.ParseSecurityOpts([]string{bad}, ""); err == nil {
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
	s, err := runtime.NewSpec(runtime.WithDefaultSeccomp())
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
	s, err = runtime.NewSpec(runtime.WithCapabilities([]string{"SYS_ADMIN"}, nil), runtime.WithDefaultSeccomp())
	if err != nil {
		t.Fatal(err)
	}
	if !syscallAllowed(s, "mount") {
		t.Error("cap_add SYS_ADMIN: mount must be allowed by the profile")
	}
	s, _ = runtime.NewSpec(runtime.WithDefaultSeccomp(), runtime.WithoutSeccomp())
	if s.Linux.Seccomp != nil {
		t.Error("WithoutSeccomp left a filter")
	}
}

func TestWithPrivileged(t *testing.T) {
	s, err := runtime.NewSpec(runtime.WithDefaultSeccomp(), runtime.WithPrivileged())
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
	s, _ := runtime.NewSpec(runtime.WithNoNewPrivileges(true))
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
		want     runtime.ResolvedUser
	}{
		{"", nil, runtime.ResolvedUser{UID: 0, GID: 0, AdditionalGids: []uint32{10}, Home: "/root"}},
		{"app", nil, runtime.ResolvedUser{UID: 1000, GID: 1000, AdditionalGids: []uint32{50, 29}, Home: "/home/app"}},
		{"1000", nil, runtime.ResolvedUser{UID: 1000, GID: 1000, AdditionalGids: []uint32{50, 29}, Home: "/home/app"}},
		{"1000:33", nil, runtime.ResolvedUser{UID: 1000, GID: 33, AdditionalGids: []uint32{50, 29}, Home: "/home/app"}},
		{"www:staff", []string{"audio", "4242"}, runtime.ResolvedUser{UID: 33, GID: 50, AdditionalGids: []uint32{50, 29, 4242}, Home: "/var/www"}},
		{"4321", nil, runtime.ResolvedUser{UID: 4321, GID: 0, Home: "/"}},
		{"4321:4321", nil, runtime.ResolvedUser{UID: 4321, GID: 4321, Home: "/"}},
	}
	for _, tc := range tests {
		got, err := runtime.ResolveUser(root, tc.user, tc.groupAdd)
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
		_, err := runtime.ResolveUser(root, bad.user, nil)
		if err == nil || err.Error() != bad.msg || !errors.Is(err, runtime.ErrUserNotFound) {
			t.Errorf("%q: error %v, want %q", bad.user, err, bad.msg)
		}
	}
	if _, err := runtime.ResolveUser(root, "app", []string{"nogroup"}); err == nil {
		t.Error("unknown group_add accepted")
	}
}

func TestResolveUserNoFilesAndEscape(t *testing.T) {
	empty := t.TempDir()
	if r, err := runtime.ResolveUser(empty, "1000:1000", nil); err != nil || r.UID != 1000 || r.GID != 1000 {
		t.Errorf("numeric user without /etc/passwd: %+v %v", r, err)
	}
	if _, err := runtime.ResolveUser(empty, "app", nil); err == nil {
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
	if _, err := runtime.ResolveUser(root, "root", nil); err == nil {
		t.Error("resolved a user through a symlink out of the rootfs")
	}
}

func TestWithUserSetsHome(t *testing.T) {
	root := writeRootfs(t, "app:x:1000:1000::/home/app:/bin/sh\n", "")
	s, err := runtime.NewSpec(runtime.WithUser(root, "app", nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.Process.User.UID != 1000 || !slices.Contains(s.Process.Env, "HOME=/home/app") {
		t.Errorf("user %+v env %v", s.Process.User, s.Process.Env)
	}
}
