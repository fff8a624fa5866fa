package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
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

// deviceAt stats the host node at p.
func deviceAt(p string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return specs.LinuxDevice{}, &os.PathError{Op: "stat", Path: p, Err: err}
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
// A host directory adds every device below it.
func WithDevices(devs []types.DeviceMapping) SpecOpt {
	return func(s *specs.Spec) error {
		for _, dm := range devs {
			perms := dm.Permissions
			if perms == "" {
				perms = "rwm"
			}
			if strings.Trim(perms, "rwm") != "" {
				return fmt.Errorf("devices: %s: invalid permissions %q (want a combination of r, w, m)", dm.Source, perms)
			}
			target := dm.Target
			if target == "" {
				target = dm.Source
			}
			var nodes []specs.LinuxDevice
			fi, err := os.Stat(dm.Source)
			if err != nil {
				return fmt.Errorf("devices: %w", err)
			}
			if fi.IsDir() {
				found, err := hostDevices(dm.Source)
				if err != nil {
					return fmt.Errorf("devices: %w", err)
				}
				for _, d := range found {
					d.Path = filepath.Join(target, strings.TrimPrefix(d.Path, dm.Source))
					nodes = append(nodes, d)
				}
			} else {
				d, err := deviceAt(dm.Source)
				if err != nil {
					return fmt.Errorf("devices: %w", err)
				}
				d.Path = target
				nodes = append(nodes, d)
			}
			if len(nodes) == 0 {
				return fmt.Errorf("devices: %s: %w", dm.Source, errors.New("no device nodes found"))
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
