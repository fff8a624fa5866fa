package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/network/ipam"
)

// Info is `docker info` for berth: the runtime, storage, cgroups,
// networks, and every kernel feature berth uses with whether it works on
// this host.
type Info struct {
	Root, Run string

	Runtime        string // name ("runc")
	RuntimePath    string
	RuntimeVersion string // the runtime's first --version line
	RuntimeError   string // why no runtime was found

	CgroupVersion string // "1", "2" or "1 (hybrid: cgroup2 at /sys/fs/cgroup/unified)"
	CgroupDriver  string // berth writes cgroupfs paths (no systemd)

	StorageDriver string
	StorageUsage  int64 // bytes under the state root

	Containers, Running, Paused, Stopped int
	Images                               int

	Networks   []string // berth's networks
	SubnetPool string   // "10.89.0.0/16, /24 each"

	KernelVersion   string
	OperatingSystem string
	Features        []Feature
}

// Feature is one kernel feature berth uses.
type Feature struct {
	Name  string
	Works bool
	Note  string // why not, or what was found
	Used  string // what berth uses it for
}

// Info gathers the host's and the state root's facts. Nothing is changed
// on the host: each feature is probed by reading /proc and /sys or by a
// call that creates nothing lasting.
func (e *Engine) Info(ctx context.Context) *Info {
	in := &Info{Root: e.layout.Root, Run: e.layout.Run, CgroupDriver: "cgroupfs", StorageDriver: "overlay"}
	if rt, err := e.Runtime(ctx, ""); err != nil {
		in.RuntimeError = err.Error()
	} else {
		in.Runtime = rt.Name()
		if c, ok := rt.(*ociruntime.CLI); ok {
			in.RuntimePath = c.Binary()
			in.RuntimeVersion = binaryVersion(ctx, c.Binary())
		}
	}
	in.CgroupVersion = cgroupVersion()
	in.StorageUsage = int64(fsutil.DirSize(e.layout.Root))
	if cs, err := e.store.List(""); err == nil {
		in.Containers = len(cs)
		for _, c := range cs {
			st, err := e.store.GetState(c.ID)
			switch {
			case err != nil || st == nil:
				in.Stopped++
			case st.Status == state.StatusRunning || st.Status == state.StatusRestarting:
				in.Running++
			case st.Status == state.StatusPaused:
				in.Paused++
			default:
				in.Stopped++
			}
		}
	}
	if l, err := e.images.List(); err == nil {
		in.Images = len(l)
	}
	if nets, err := e.networks().List(); err == nil {
		for _, n := range nets {
			in.Networks = append(in.Networks, n.Name)
		}
		sort.Strings(in.Networks)
	}
	in.SubnetPool = ipam.DefaultPool.String() + ", /24 each"
	if pool, size, err := e.poolConfig(); err != nil {
		in.SubnetPool = "error: " + err.Error()
	} else if pool != nil {
		in.SubnetPool = fmt.Sprintf("%s, /%d each", pool, size)
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		in.KernelVersion = unix.ByteSliceToString(u.Release[:])
	}
	in.OperatingSystem = osRelease()
	in.Features = probeFeatures()
	return in
}

func binaryVersion(ctx context.Context, bin string) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

// cgroupVersion tells v1, v2 and the hybrid layout (v1 controllers with a
// cgroup2 hierarchy beside them) apart by the filesystems' magic numbers.
func cgroupVersion() string {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "2"
	}
	if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		return "1 (hybrid: cgroup2 at /sys/fs/cgroup/unified)"
	}
	return "1"
}

func osRelease() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

func readTrim(p string) (string, error) {
	b, err := os.ReadFile(p)
	return strings.TrimSpace(string(b)), err
}

func probeFeatures() []Feature {
	var fs []Feature
	add := func(name, used string, works bool, note string) {
		fs = append(fs, Feature{Name: name, Used: used, Works: works, Note: note})
	}
	for _, ns := range []struct{ file, name, used string }{
		{"mnt", "mount namespaces", "every container's root"},
		{"pid", "pid namespaces", "every container"},
		{"net", "network namespaces", "a netns per container"},
		{"ipc", "ipc namespaces", "every container"},
		{"uts", "uts namespaces", "hostnames"},
		{"cgroup", "cgroup namespaces", "every container"},
		{"user", "user namespaces", "userns_mode (optional)"},
	} {
		_, err := os.Stat("/proc/self/ns/" + ns.file)
		works, note := err == nil, errNote(err)
		if n, err := readTrim("/proc/sys/user/max_user_namespaces"); ns.file == "user" && err == nil && n == "0" {
			works, note = false, "user.max_user_namespaces=0"
		}
		add(ns.name, ns.used, works, note)
	}
	filesystems, _ := os.ReadFile("/proc/filesystems")
	hasFS := func(name string) bool { return bytes.Contains(filesystems, []byte("\t"+name+"\n")) }
	add("overlayfs", "image layers and container roots", hasFS("overlay"), unless(hasFS("overlay"), "overlay is not in /proc/filesystems (modprobe overlay)"))
	add("tmpfs", "tmpfs mounts, /dev/shm", hasFS("tmpfs"), "")

	bridge := fileExists("/sys/module/bridge")
	add("bridge", "one bridge per network", bridge, unless(bridge, "bridge module not loaded (modprobe bridge)"))
	add("veth", "container interfaces", fileExists("/sys/module/veth") || bridge, "")

	if c, err := nftables.New(); err != nil {
		add("nftables", "NAT, published ports, isolation", false, err.Error())
	} else if _, err := c.ListTables(); err != nil {
		add("nftables", "NAT, published ports, isolation", false, err.Error())
	} else {
		add("nftables", "NAT, published ports, isolation", true, "")
	}
	fwd, err := readTrim("/proc/sys/net/ipv4/ip_forward")
	add("ip_forward", "outbound traffic of containers", err == nil, "net.ipv4.ip_forward="+fwd+" (berth turns it on when a network needs it)")
	nf, err := readTrim("/proc/sys/net/bridge/bridge-nf-call-iptables")
	if err != nil {
		add("br_netfilter", "nothing (berth's rules do not need it)", true, "not loaded")
	} else {
		add("br_netfilter", "nothing (with Docker's FORWARD drop, berth accepts its bridges in DOCKER-USER)", true, "bridge-nf-call-iptables="+nf)
	}

	status, _ := os.ReadFile("/proc/self/status")
	add("seccomp", "Docker's default profile on every container", bytes.Contains(status, []byte("Seccomp:")), "")
	if fd, err := unix.PidfdOpen(os.Getpid(), 0); err != nil {
		add("pidfd", "watching containers' inits (supervisor adoption)", false, err.Error())
	} else {
		unix.Close(fd)
		add("pidfd", "watching containers' inits (supervisor adoption)", true, "")
	}
	if err := openat2Works(); err != nil {
		add("openat2", "resolving container paths beneath their root", false, err.Error())
	} else {
		add("openat2", "resolving container paths beneath their root", true, "")
	}
	var reaper int32
	if err := unix.Prctl(unix.PR_GET_CHILD_SUBREAPER, uintptr(unsafe.Pointer(&reaper)), 0, 0, 0); err != nil {
		add("child subreaper", "reaping containers in the supervisor", false, err.Error())
	} else {
		add("child subreaper", "reaping containers in the supervisor", true, "")
	}
	if v, err := readTrim("/sys/module/apparmor/parameters/enabled"); err == nil && v == "Y" {
		add("apparmor", "docker-default profile", true, "")
	} else {
		add("apparmor", "docker-default profile (when enabled)", false, "not enabled")
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", "memory")); err == nil {
		add("cgroup memory controller", "mem_limit, stats", true, "v1 at /sys/fs/cgroup/memory")
	} else if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		ok := bytes.Contains(b, []byte("memory"))
		add("cgroup memory controller", "mem_limit, stats", ok, "v2: "+strings.TrimSpace(string(b)))
	} else {
		add("cgroup memory controller", "mem_limit, stats", false, "not found")
	}
	return fs
}

// openat2Works opens "." beneath "/" the way berth resolves container
// paths (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS).
func openat2Works() error {
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, ".", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS})
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func unless(ok bool, note string) string {
	if ok {
		return ""
	}
	return note
}

func errNote(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
