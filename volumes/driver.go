package volumes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// localOpts are the local driver's driver_opts, as Docker's: type, o and
// device are handed to mount(2). type=none with o=bind makes the volume
// an alias of a host directory.
type localOpts struct {
	typ, o, device string
}

func parseLocalOpts(in map[string]string) (localOpts, error) {
	var o localOpts
	for k, v := range in {
		switch k {
		case "type":
			o.typ = v
		case "o":
			o.o = v
		case "device":
			o.device = v
		default:
			return o, fmt.Errorf("driver_opts %q: %w: the local driver takes type, o and device", k, ErrInvalidOption)
		}
	}
	switch {
	case o.typ == "" && (o.o != "" || o.device != ""):
		return o, fmt.Errorf("driver_opts: %w: o and device need a type (none, tmpfs, …)", ErrInvalidOption)
	case o.typ == "none":
		if !o.hasOpt("bind") && !o.hasOpt("rbind") {
			return o, fmt.Errorf("driver_opts: %w: type none needs o: bind", ErrInvalidOption)
		}
		if !filepath.IsAbs(o.device) {
			return o, fmt.Errorf("driver_opts device %q: %w: a bind volume needs an absolute host path", o.device, ErrInvalidOption)
		}
		o.device = filepath.Clean(o.device)
	case o.typ == "tmpfs":
		if o.device == "" {
			o.device = "tmpfs"
		}
	case o.typ != "" && o.device == "":
		return o, fmt.Errorf("driver_opts: %w: type %s needs a device", ErrInvalidOption, o.typ)
	}
	return o, nil
}

func (o localOpts) hasOpt(name string) bool {
	return slices.Contains(strings.Split(o.o, ","), name)
}

// isBind: the volume is a host directory, mounted straight into containers.
func (o localOpts) isBind() bool { return o.typ == "none" }

// isMount: the volume is a filesystem berth mounts at _data at first use.
func (o localOpts) isMount() bool { return o.typ != "" && o.typ != "none" }

func checkBindDevice(dev string) error {
	fi, err := os.Stat(dev)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("bind device %q (driver_opts type=none, o=bind) does not exist: create the directory first: %w", dev, err)
	}
	if err != nil {
		return fmt.Errorf("bind device %q: %w", dev, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("bind device %q (driver_opts type=none, o=bind) is not a directory", dev)
	}
	return nil
}

// Mounter mounts and unmounts the filesystems of volumes whose driver_opts
// name a type (tmpfs, nfs, ext4, …).
type Mounter interface {
	Mount(source, target, fstype, options string) error
	Unmount(target string, detach bool) error
	Mounted(target string) (bool, error)
}

// SystemMounter is the Mounter of the host: mount(2) and umount2(2).
type SystemMounter struct{}

var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY},
	"nosuid": {false, unix.MS_NOSUID}, "suid": {true, unix.MS_NOSUID},
	"nodev": {false, unix.MS_NODEV}, "dev": {true, unix.MS_NODEV},
	"noexec": {false, unix.MS_NOEXEC}, "exec": {true, unix.MS_NOEXEC},
	"sync": {false, unix.MS_SYNCHRONOUS}, "async": {true, unix.MS_SYNCHRONOUS},
	"noatime": {false, unix.MS_NOATIME}, "atime": {true, unix.MS_NOATIME},
	"nodiratime": {false, unix.MS_NODIRATIME}, "diratime": {true, unix.MS_NODIRATIME},
	"relatime": {false, unix.MS_RELATIME}, "norelatime": {true, unix.MS_RELATIME},
	"strictatime": {false, unix.MS_STRICTATIME}, "bind": {false, unix.MS_BIND},
	"rbind": {false, unix.MS_BIND | unix.MS_REC}, "dirsync": {false, unix.MS_DIRSYNC},
}

// splitMountOptions turns "ro,size=64m,nosuid" into flags and fs data.
func splitMountOptions(options string) (uintptr, string) {
	var flags uintptr
	var data []string
	for _, o := range strings.Split(options, ",") {
		if o == "" || o == "defaults" {
			continue
		}
		if f, ok := mountFlags[o]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
			continue
		}
		data = append(data, o)
	}
	return flags, strings.Join(data, ",")
}

// Mount calls mount(2).
func (SystemMounter) Mount(source, target, fstype, options string) error {
	flags, data := splitMountOptions(options)
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s (%s, %q) at %s: %w", source, fstype, options, target, err)
	}
	return nil
}

// Unmount calls umount2(2), lazily when detach is set.
func (SystemMounter) Unmount(target string, detach bool) error {
	flags := 0
	if detach {
		flags = unix.MNT_DETACH
	}
	if err := unix.Unmount(target, flags); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("unmount %s: %w", target, err)
	}
	return nil
}

// Mounted reports whether target is the root of a mount other than its
// parent's: enough for the filesystems volumes mount (never a bind of the
// same filesystem).
func (SystemMounter) Mounted(target string) (bool, error) {
	var st, parent unix.Stat_t
	if err := unix.Lstat(target, &st); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return false, nil
		}
		return false, fmt.Errorf("stat %s: %w", target, err)
	}
	if err := unix.Lstat(filepath.Dir(target), &parent); err != nil {
		return false, fmt.Errorf("stat %s: %w", filepath.Dir(target), err)
	}
	return st.Dev != parent.Dev, nil
}

// ensureMounted mounts the filesystem of a volume with a type at its data
// dir unless it is mounted already (a reboot unmounts it). It reports a
// fresh mount: the volume is then empty again and not initialised.
func (m *Manager) ensureMounted(v *Volume) (bool, error) {
	o, err := parseLocalOpts(v.DriverOpts)
	if err != nil {
		return false, fmt.Errorf("volume %q: %w", v.Name, err)
	}
	if !o.isMount() {
		return false, nil
	}
	target := m.dataDir(v.Name)
	ok, err := m.mounter.Mounted(target)
	if err != nil {
		return false, fmt.Errorf("volume %q: %w", v.Name, err)
	}
	if ok {
		return false, nil
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return false, fmt.Errorf("volume %q: %w", v.Name, err)
	}
	if err := m.mounter.Mount(o.device, target, o.typ, o.o); err != nil {
		return false, fmt.Errorf("volume %q: %w", v.Name, err)
	}
	return true, nil
}

// unmount undoes ensureMounted. It never leaves the data dir mounted
// without an error, so that removing the dir cannot reach into a mount.
func (m *Manager) unmount(v *Volume, force bool) error {
	o, err := parseLocalOpts(v.DriverOpts)
	if err != nil || !o.isMount() {
		return nil
	}
	target := m.dataDir(v.Name)
	ok, err := m.mounter.Mounted(target)
	if err != nil {
		return fmt.Errorf("remove volume %q: %w", v.Name, err)
	}
	if !ok {
		return nil
	}
	err = m.mounter.Unmount(target, false)
	if err != nil && force {
		err = m.mounter.Unmount(target, true)
	}
	if err != nil {
		return fmt.Errorf("remove volume %q: %w (use --force to detach it)", v.Name, err)
	}
	return nil
}
