package ociruntime_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/ociruntime"
)

func TestDefaults(t *testing.T) {
	s, err := ociruntime.NewSpec()
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "1.0.2" {
		t.Errorf("ociVersion %q", s.Version)
	}
	var ns []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, n.Type)
	}
	for _, want := range []specs.LinuxNamespaceType{"pid", "mount", "ipc", "uts", "network", "cgroup"} {
		if !slices.Contains(ns, want) {
			t.Errorf("namespace %s missing from %v", want, ns)
		}
	}
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination)
	}
	for _, want := range []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"} {
		if !slices.Contains(dests, want) {
			t.Errorf("mount %s missing from %v", want, dests)
		}
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}
	var cur unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &cur); err != nil {
		t.Fatal(err)
	}
	if len(s.Process.Rlimits) != 1 || s.Process.Rlimits[0] != (specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: cur.Cur, Hard: cur.Max}) {
		t.Errorf("rlimits %+v, want NOFILE %d/%d", s.Process.Rlimits, cur.Cur, cur.Max)
	}
	if d := s.Linux.Resources.Devices; len(d) == 0 || d[0].Allow || d[0].Access != "rwm" {
		t.Errorf("device cgroup must start with deny all: %+v", d)
	}
}

func TestMounts(t *testing.T) {
	s, err := ociruntime.NewSpec(
		ociruntime.WithShmSize(128<<20),
		ociruntime.WithMounts([]specs.Mount{
			ociruntime.BindMount("/host/data/sub", "/data/sub", true),
			ociruntime.BindMount("/host/data", "/data", false),
		}),
		ociruntime.WithTmpfs([]string{"/run", "/tmp:size=10m,mode=1777"}),
		ociruntime.WithHostsFile("/h/hosts"),
		ociruntime.WithResolvConf("/h/resolv.conf"),
		ociruntime.WithHostnameFile("/h/hostname"),
	)
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, m := range s.Mounts {
		if _, dup := index[m.Destination]; dup {
			t.Errorf("two mounts at %s", m.Destination)
		}
		index[m.Destination] = i
	}
	if index["/data"] > index["/data/sub"] || index["/dev"] > index["/dev/shm"] || index["/sys"] > index["/sys/fs/cgroup"] {
		t.Errorf("parents must come before children: %v", index)
	}
	shm := s.Mounts[index["/dev/shm"]]
	if !slices.Contains(shm.Options, "size=134217728") {
		t.Errorf("shm options %v", shm.Options)
	}
	tmp := s.Mounts[index["/tmp"]]
	if tmp.Type != "tmpfs" || !slices.Contains(tmp.Options, "size=10m") || !slices.Contains(tmp.Options, "mode=1777") || !slices.Contains(tmp.Options, "noexec") {
		t.Errorf("tmpfs /tmp %+v", tmp)
	}
	for dest, src := range map[string]string{"/etc/hosts": "/h/hosts", "/etc/resolv.conf": "/h/resolv.conf", "/etc/hostname": "/h/hostname"} {
		i, ok := index[dest]
		if !ok || s.Mounts[i].Source != src || s.Mounts[i].Type != "bind" {
			t.Errorf("%s: %+v", dest, s.Mounts[i])
		}
	}
	// A caller's mount replaces a default one at the same place.
	s, _ = ociruntime.NewSpec(ociruntime.WithMounts([]specs.Mount{ociruntime.BindMount("/host/shm", "/dev/shm/", false)}))
	n := 0
	for _, m := range s.Mounts {
		if m.Destination == "/dev/shm" {
			n++
			if m.Source != "/host/shm" {
				t.Errorf("default /dev/shm kept: %+v", m)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d mounts at /dev/shm", n)
	}
	if _, err := ociruntime.NewSpec(ociruntime.WithTmpfs([]string{"relative"})); err == nil {
		t.Error("relative tmpfs accepted")
	}
}

func TestUlimitsClamped(t *testing.T) {
	current := func(res int) (unix.Rlimit, error) {
		if res == unix.RLIMIT_NOFILE {
			return unix.Rlimit{Cur: 1024, Max: 20000}, nil
		}
		return unix.Rlimit{Cur: math.MaxUint64, Max: math.MaxUint64}, nil
	}
	var warns []string
	s, err := ociruntime.NewSpec(ociruntime.WithUlimits(map[string]*types.UlimitsConfig{
		"nofile":  {Soft: 65536, Hard: 65536},
		"nproc":   {Single: 512},
		"memlock": {Single: -1},
	}, current, func(w string) { warns = append(warns, w) }))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]specs.POSIXRlimit{}
	for _, r := range s.Process.Rlimits {
		got[r.Type] = r
	}
	if r := got["RLIMIT_NOFILE"]; r.Soft != 20000 || r.Hard != 20000 {
		t.Errorf("nofile %+v, want clamped to 20000", r)
	}
	if r := got["RLIMIT_NPROC"]; r.Soft != 512 || r.Hard != 512 {
		t.Errorf("nproc %+v", r)
	}
	if r := got["RLIMIT_MEMLOCK"]; r.Hard != math.MaxUint64 {
		t.Errorf("memlock %+v, want unlimited", r)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "nofile") || !strings.Contains(warns[0], "20000") {
		t.Errorf("warnings %q, want one about nofile", warns)
	}
	if _, err := ociruntime.NewSpec(ociruntime.WithUlimits(map[string]*types.UlimitsConfig{"bogus": {Single: 1}}, current, nil)); err == nil {
		t.Error("unknown ulimit accepted")
	}
	if _, err := ociruntime.NewSpec(ociruntime.WithUlimits(map[string]*types.UlimitsConfig{"nofile": {Soft: 10, Hard: 5}}, current, nil)); err == nil {
		t.Error("soft above hard accepted")
	}
}

func TestSysctls(t *testing.T) {
	s, err := ociruntime.NewSpec(ociruntime.WithSysctls(map[string]string{"net.core.somaxconn": "1024"}))
	if err != nil || s.Linux.Sysctl["net.core.somaxconn"] != "1024" {
		t.Errorf("sysctl %v %v", s, err)
	}
	_, err = ociruntime.NewSpec(ociruntime.WithNamespace(specs.NetworkNamespace, ociruntime.NamespaceMode{Host: true}),
		ociruntime.WithSysctls(map[string]string{"net.core.somaxconn": "1024"}))
	if err == nil {
		t.Error("net.* sysctl with the host network accepted")
	}
}

func TestNamespaces(t *testing.T) {
	s, err := ociruntime.NewSpec(
		ociruntime.WithNamespace(specs.NetworkNamespace, ociruntime.NamespaceMode{Path: "/run/berth/netns/x"}),
		ociruntime.WithNamespace(specs.PIDNamespace, ociruntime.NamespaceMode{Host: true}),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.PIDNamespace {
			t.Error("pid: host kept a pid namespace")
		}
		if n.Type == specs.NetworkNamespace && n.Path != "/run/berth/netns/x" {
			t.Errorf("netns path %q", n.Path)
		}
	}
}

func TestDevices(t *testing.T) {
	s, err := ociruntime.NewSpec(ociruntime.WithDevices([]types.DeviceMapping{{Source: "/dev/null", Target: "/dev/mynull", Permissions: "rw"}}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Linux.Devices) != 1 {
		t.Fatalf("devices %+v", s.Linux.Devices)
	}
	d := s.Linux.Devices[0]
	if d.Path != "/dev/mynull" || d.Type != "c" || d.Major != 1 || d.Minor != 3 {
		t.Errorf("device %+v", d)
	}
	last := s.Linux.Resources.Devices[len(s.Linux.Resources.Devices)-1]
	if !last.Allow || last.Type != "c" || *last.Major != 1 || *last.Minor != 3 || last.Access != "rw" {
		t.Errorf("cgroup rule %+v", last)
	}
	for _, bad := range []types.DeviceMapping{{Source: "/nonexistent"}, {Source: "/etc/hostname"}, {Source: "/dev/null", Permissions: "x"}} {
		if _, err := ociruntime.NewSpec(ociruntime.WithDevices([]types.DeviceMapping{bad}, nil)); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestResources(t *testing.T) {
	svc := &types.ServiceConfig{ContainerSpec: types.ContainerSpec{
		PidsLimit: 10, MemLimit: 64 << 20, MemSwapLimit: 128 << 20, MemReservation: 32 << 20,
		CPUS: 1.5, CPUShares: 512, CPUSet: "0-1",
	}}
	s, err := ociruntime.NewSpec(ociruntime.WithResources(ociruntime.ServiceResources(svc)))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Linux.Resources
	if *r.Pids.Limit != 10 || *r.Memory.Limit != 64<<20 || *r.Memory.Swap != 128<<20 || *r.Memory.Reservation != 32<<20 {
		t.Errorf("pids/memory %+v %+v", r.Pids, r.Memory)
	}
	if *r.CPU.Quota != 150000 || *r.CPU.Period != 100000 || *r.CPU.Shares != 512 || r.CPU.Cpus != "0-1" {
		t.Errorf("cpu %+v", r.CPU)
	}
	// deploy.resources fills what the top-level keys leave unset.
	svc = &types.ServiceConfig{Deploy: &types.DeployConfig{Resources: types.Resources{
		Limits:       &types.Resource{NanoCPUs: 0.5, MemoryBytes: 1 << 30, Pids: 7},
		Reservations: &types.Resource{MemoryBytes: 1 << 20},
	}}}
	got := ociruntime.ServiceResources(svc)
	if got.CPUs != 0.5 || got.Memory != 1<<30 || got.PidsLimit != 7 || got.MemoryReserve != 1<<20 {
		t.Errorf("deploy resources %+v", got)
	}
	if _, err := ociruntime.NewSpec(ociruntime.WithResources(ociruntime.Resources{Memory: 100, MemorySwap: 50})); err == nil {
		t.Error("memswap_limit below mem_limit accepted")
	}
}

func TestCgroupsPath(t *testing.T) {
	if got := ociruntime.CgroupsPath("", "web", "abc"); got != "/berth/web/abc" {
		t.Errorf("got %q", got)
	}
	if got := ociruntime.CgroupsPath("my/parent", "web", "abc"); got != "/my/parent/abc" {
		t.Errorf("got %q", got)
	}
}
