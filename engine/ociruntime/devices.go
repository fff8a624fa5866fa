package ociruntime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"tags.cncf.io/container-device-interface/pkg/parser"
)

func i64(v int64) *int64 { return &v }

// defaultDeviceRules is Docker's device cgroup: deny all, then allow mknod
// of any node and use of null, zero, full, random, urandom, tty, ptmx, pts
// and tun.
func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	rule := func(typ string, major, minor *int64, access string) specs.LinuxDeviceCgroup {
		return specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: major, Minor: minor, Access: access}
	}
	return []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		rule("c", nil, nil, "m"),
		rule("b", nil, nil, "m"),
		rule("c", i64(1), i64(3), "rwm"),    // null
		rule("c", i64(1), i64(8), "rwm"),    // random
		rule("c", i64(1), i64(7), "rwm"),    // full
		rule("c", i64(5), i64(0), "rwm"),    // tty
		rule("c", i64(1), i64(5), "rwm"),    // zero
		rule("c", i64(1), i64(9), "rwm"),    // urandom
		rule("c", i64(136), nil, "rwm"),     // pts
		rule("c", i64(5), i64(2), "rwm"),    // ptmx
		rule("c", i64(10), i64(200), "rwm"), // net/tun
	}
}

// deviceAt lstats the host node at p: a symlink is not a node (callers
// that follow one say so).
func deviceAt(p string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return specs.LinuxDevice{}, &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return specs.LinuxDevice{}, fmt.Errorf("%s: not a device node", p)
	}
	mode := fs.FileMode(st.Mode & 0o777)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path: p, Type: typ,
		Major: int64(unix.Major(uint64(st.Rdev))), Minor: int64(unix.Minor(uint64(st.Rdev))),
		FileMode: &mode, UID: &uid, GID: &gid,
	}, nil
}

// hostDevices lists the device nodes under dir (for privileged), skipping
// the ones the container gets its own instance of.
func hostDevices(dir string) ([]specs.LinuxDevice, error) {
	var out []specs.LinuxDevice
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		if d.IsDir() {
			switch p {
			case "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev/fd":
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeDevice == 0 || p == "/dev/console" || p == "/dev/ptmx" {
			return nil
		}
		dev, err := deviceAt(p)
		if err != nil {
			return nil
		}
		out = append(out, dev)
		return nil
	})
	return out, err
}

func appendDevices(list []specs.LinuxDevice, devs ...specs.LinuxDevice) []specs.LinuxDevice {
	for _, d := range devs {
		replaced := false
		for i := range list {
			if list[i].Path == d.Path {
				list[i] = d
				replaced = true
			}
		}
		if !replaced {
			list = append(list, d)
		}
	}
	return list
}

// WithDevices adds the service's `devices:` (host node, container path,
// permissions rwm) to linux.devices and to the device cgroup allow list.
// A host directory adds every device below it (symlinks inside it are
// skipped). A host path that is a symlink is followed to the node it names
// and warn is told so; the container's node is made from that node's
// type and major:minor, never a bind of the host path. Entries that are CDI
// names (vendor.com/class=name) are left to the CDI injection.
func WithDevices(devs []types.DeviceMapping, warn func(string)) SpecOpt {
	return func(s *specs.Spec) error {
		for _, dm := range devs {
			if parser.IsQualifiedName(dm.Source) {
				continue
			}
			nodes, err := deviceMapping(dm, warn)
			if err != nil {
				return fmt.Errorf("devices: %w", err)
			}
			perms := dm.Permissions
			if perms == "" {
				perms = "rwm"
			}
			if s.Linux == nil {
				s.Linux = &specs.Linux{}
			}
			s.Linux.Devices = appendDevices(s.Linux.Devices, nodes...)
			res := ensureResources(s)
			for _, d := range nodes {
				res.Devices = append(res.Devices, specs.LinuxDeviceCgroup{
					Allow: true, Type: d.Type, Major: i64(d.Major), Minor: i64(d.Minor), Access: perms,
				})
			}
		}
		return nil
	}
}

// CheckDevices checks the service's `devices:` and `device_cgroup_rules`
// as WithDevices and WithDeviceCgroupRules will use them (host nodes exist,
// paths and permissions are valid), for up to refuse before it creates
// anything.
func CheckDevices(svc *types.ServiceConfig) error {
	for _, dm := range svc.Devices {
		if parser.IsQualifiedName(dm.Source) {
			continue
		}
		if _, err := deviceMapping(dm, nil); err != nil {
			return fmt.Errorf("service %q: devices: %w", svc.Name, err)
		}
	}
	for _, r := range svc.DeviceCgroupRules {
		if _, err := ParseDeviceCgroupRule(r); err != nil {
			return fmt.Errorf("service %q: device_cgroup_rules: %w", svc.Name, err)
		}
	}
	return nil
}

// deviceMapping returns the nodes one `devices:` entry gives the container.
func deviceMapping(dm types.DeviceMapping, warn func(string)) ([]specs.LinuxDevice, error) {
	if err := checkPermissions(dm.Permissions); err != nil {
		return nil, fmt.Errorf("%s: %w", dm.Source, err)
	}
	target := dm.Target
	if target == "" {
		target = dm.Source
	}
	if !filepath.IsAbs(dm.Source) {
		return nil, fmt.Errorf("%s: the host path must be absolute (or a CDI name vendor.com/class=name)", dm.Source)
	}
	if !filepath.IsAbs(target) || slices.Contains(strings.Split(target, "/"), "..") {
		return nil, fmt.Errorf("%s: container path %q must be absolute, without \"..\"", dm.Source, target)
	}
	target = filepath.Clean(target)
	src := filepath.Clean(dm.Source)
	fi, err := os.Lstat(src)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		resolved, err := filepath.EvalSymlinks(src)
		if err != nil {
			return nil, err
		}
		if warn != nil {
			warn(fmt.Sprintf("devices: %s is a symlink to %s: the container gets %s's node at %s", src, resolved, resolved, target))
		}
		src = resolved
		if fi, err = os.Lstat(src); err != nil {
			return nil, err
		}
	}
	var nodes []specs.LinuxDevice
	if fi.IsDir() {
		found, err := hostDevices(src)
		if err != nil {
			return nil, err
		}
		for _, d := range found {
			d.Path = filepath.Join(target, strings.TrimPrefix(d.Path, src))
			nodes = append(nodes, d)
		}
	} else {
		d, err := deviceAt(src)
		if err != nil {
			return nil, err
		}
		d.Path = target
		nodes = append(nodes, d)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("%s: %w", dm.Source, errors.New("no device nodes found"))
	}
	return nodes, nil
}

// checkPermissions accepts a non-empty combination of r, w and m, each at
// most once ("" is rwm).
func checkPermissions(p string) error {
	if p == "" {
		return nil
	}
	seen := map[rune]bool{}
	for _, c := range p {
		if !strings.ContainsRune("rwm", c) || seen[c] {
			return fmt.Errorf("invalid permissions %q (want a combination of r, w, m, each once)", p)
		}
		seen[c] = true
	}
	return nil
}
