package devices

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	cdispec "tags.cncf.io/container-device-interface/specs-go"
)

// NVIDIAKind is the CDI kind of NVIDIA GPUs, as nvidia-ctk names them.
const NVIDIAKind = "nvidia.com/gpu"

// ErrNoNVIDIADriver says discovery found no usable NVIDIA driver.
var ErrNoNVIDIADriver = errors.New("no NVIDIA driver")

// nvidiaDriver is what discovery found on a host.
type nvidiaDriver struct {
	root    string
	version string // driver version from libnvidia-ml's file name ("" if unversioned)
	gpus    []nvidiaGPU
	control []node // nvidiactl, nvidia-uvm, nvidia-uvm-tools, nvidia-modeset
	mounts  []cdispec.Mount
	libDirs []string // container dirs of the driver libraries
}

type nvidiaGPU struct {
	index int
	uuid  string // "GPU-…", "" when /proc does not say
	node  node
}

// node is a device node found under the root: its path as the container
// sees it and its host path.
type node struct {
	path, hostPath string
	typ            string
	major, minor   int64
}

// nvidiaBinaries are the driver's tools mounted into the container, as
// nvidia-ctk's spec does (nvidia-smi first: it is what users run).
var nvidiaBinaries = []string{
	"nvidia-smi", "nvidia-debugdump", "nvidia-persistenced",
	"nvidia-cuda-mps-control", "nvidia-cuda-mps-server",
}

var gpuNodeName = regexp.MustCompile(`^nvidia([0-9]+)$`)

// discoverNVIDIA finds the NVIDIA driver under root (the host's "/";
// tests give a fake tree): /dev/nvidiactl, libnvidia-ml.so.1 through the
// linker cache, the GPUs (/proc/driver/nvidia/gpus, else /dev/nvidiaN),
// every library of the driver's version the cache lists, and the driver's
// binaries. Nothing is followed out of root, and a device node is only
// taken when it is one (lstat: a symlink is not a node).
func discoverNVIDIA(root string) (*nvidiaDriver, error) {
	d := &nvidiaDriver{root: root}
	ctl, err := d.node("/dev/nvidiactl")
	if err != nil {
		return nil, fmt.Errorf("%w: /dev/nvidiactl: %w", ErrNoNVIDIADriver, err)
	}
	cache, err := ReadLinkerCache(d.host("/etc/ld.so.cache"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoNVIDIADriver, err)
	}
	nvml := cache.Lookup("libnvidia-ml.so.1")
	if nvml == "" {
		return nil, fmt.Errorf("%w: libnvidia-ml.so.1 is not in the linker cache (/etc/ld.so.cache)", ErrNoNVIDIADriver)
	}
	real, err := resolveIn(root, nvml)
	if err != nil {
		return nil, fmt.Errorf("%w: libnvidia-ml.so.1: %w", ErrNoNVIDIADriver, err)
	}
	if i := strings.Index(path.Base(real), ".so."); i >= 0 {
		v := path.Base(real)[i+len(".so."):]
		if strings.Count(v, ".") >= 1 { // 550.54.15, not the soname's "1"
			d.version = v
		}
	}
	if err := d.findGPUs(); err != nil {
		return nil, err
	}
	if len(d.gpus) == 0 {
		return nil, fmt.Errorf("%w: no GPU device nodes (/dev/nvidia0…)", ErrNoNVIDIADriver)
	}
	d.control = append(d.control, ctl)
	for _, p := range []string{"/dev/nvidia-uvm", "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset"} {
		if n, err := d.node(p); err == nil {
			d.control = append(d.control, n)
		}
	}
	d.findLibraries(cache, nvml, real)
	d.findBinaries(path.Dir(real))
	return d, nil
}

// host is the host path of p (absolute, beneath root).
func (d *nvidiaDriver) host(p string) string { return filepath.Join(d.root, p) }

// node lstats the device node at p (under root): a symlink or a file is
// not a node.
func (d *nvidiaDriver) node(p string) (node, error) {
	var st unix.Stat_t
	if err := unix.Lstat(d.host(p), &st); err != nil {
		return node{}, err
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return node{}, errors.New("not a device node")
	}
	return node{
		path: p, hostPath: d.host(p), typ: typ,
		major: int64(unix.Major(uint64(st.Rdev))), minor: int64(unix.Minor(uint64(st.Rdev))),
	}, nil
}

// findGPUs lists the GPUs in the order nvidia-smi numbers them (PCI bus
// order): from /proc/driver/nvidia/gpus/<bus>/information (minor, UUID)
// when the driver exposes it, else from the /dev/nvidiaN nodes.
func (d *nvidiaDriver) findGPUs() error {
	buses, _ := filepath.Glob(d.host("/proc/driver/nvidia/gpus/*/information"))
	sort.Strings(buses)
	for _, info := range buses {
		minor, uuid, err := readGPUInformation(info)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", ErrNoNVIDIADriver, info, err)
		}
		n, err := d.node(fmt.Sprintf("/dev/nvidia%d", minor))
		if err != nil {
			return fmt.Errorf("%w: /dev/nvidia%d: %w", ErrNoNVIDIADriver, minor, err)
		}
		d.gpus = append(d.gpus, nvidiaGPU{index: len(d.gpus), uuid: uuid, node: n})
	}
	if len(buses) > 0 {
		return nil
	}
	entries, err := os.ReadDir(d.host("/dev"))
	if err != nil {
		return fmt.Errorf("%w: /dev: %w", ErrNoNVIDIADriver, err)
	}
	var minors []int
	for _, e := range entries {
		if m := gpuNodeName.FindStringSubmatch(e.Name()); m != nil {
			if v, err := strconv.Atoi(m[1]); err == nil {
				minors = append(minors, v)
			}
		}
	}
	sort.Ints(minors)
	for _, m := range minors {
		n, err := d.node(fmt.Sprintf("/dev/nvidia%d", m))
		if err != nil {
			continue
		}
		d.gpus = append(d.gpus, nvidiaGPU{index: len(d.gpus), node: n})
	}
	return nil
}

// readGPUInformation reads "Device Minor:" and "GPU UUID:" from the
// driver's per-GPU information file.
func readGPUInformation(p string) (minor int, uuid string, err error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0, "", err
	}
	minor = -1
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "Device Minor":
			if minor, err = strconv.Atoi(v); err != nil || minor < 0 || minor > 254 {
				return 0, "", fmt.Errorf("bad Device Minor %q", v)
			}
		case "GPU UUID":
			uuid = v
		}
	}
	if minor < 0 {
		return 0, "", errors.New("no Device Minor")
	}
	return minor, uuid, nil
}

// findLibraries takes every library the linker cache lists whose file
// carries the driver's version (libcuda.so.1 → libcuda.so.550.54.15,
// libGLX_nvidia.so.0, …), or only libnvidia-ml and libcuda when the driver
// is unversioned. Each is mounted read-only at its file's path and at the
// cache's (soname) path, so the loader finds it by either name without the
// symlink nvidia-ctk's hook would make.
func (d *nvidiaDriver) findLibraries(cache LinkerCache, nvml, nvmlReal string) {
	seen := map[string]bool{}
	dirs := map[string]bool{}
	add := func(entry, real string) {
		for _, p := range []string{real, entry} {
			if seen[p] {
				continue
			}
			seen[p] = true
			d.mounts = append(d.mounts, bindRO(d.host(real), p))
		}
		if !dirs[path.Dir(entry)] {
			dirs[path.Dir(entry)] = true
			d.libDirs = append(d.libDirs, path.Dir(entry))
		}
	}
	add(nvml, nvmlReal)
	names := make([]string, 0, len(cache))
	for name := range cache {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		entry := cache.Lookup(name)
		real, err := resolveIn(d.root, entry)
		if err != nil {
			continue
		}
		switch {
		case d.version != "" && strings.HasSuffix(path.Base(real), ".so."+d.version):
		case d.version == "" && name == "libcuda.so.1":
		default:
			continue
		}
		add(entry, real)
	}
}

// findBinaries looks for each binary next to the libraries (../bin, the
// layout of /usr/local/nvidia) and then in the usual dirs; only an ELF
// file counts (a distribution's wrapper script is skipped). Each is mounted
// at /usr/bin/<name>, on the container's PATH.
func (d *nvidiaDriver) findBinaries(libDir string) {
	dirs := []string{path.Join(path.Dir(libDir), "bin"), "/usr/bin", "/usr/sbin", "/usr/local/bin", "/bin", "/sbin"}
	for _, name := range nvidiaBinaries {
		for _, dir := range dirs {
			real, err := resolveIn(d.root, path.Join(dir, name))
			if err != nil || !isELF(d.host(real)) {
				continue
			}
			d.mounts = append(d.mounts, bindRO(d.host(real), "/usr/bin/"+name))
			break
		}
	}
}

func bindRO(host, container string) cdispec.Mount {
	return cdispec.Mount{HostPath: host, ContainerPath: container, Type: "bind",
		Options: []string{"ro", "nosuid", "nodev", "bind"}}
}

// isELF says whether p is a regular file starting with the ELF magic.
func isELF(p string) bool {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return false
	}
	var b [4]byte
	_, err = f.ReadAt(b[:], 0)
	return err == nil && string(b[:]) == "\x7fELF"
}

// resolveIn resolves the symlinks of p (absolute, as seen from root) with
// root as "/": absolute links are taken relative to root and ".." never
// climbs above it. It returns the path as seen from root, of an existing
// non-symlink file.
func resolveIn(root, p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("%s: not an absolute path", p)
	}
	rest := strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/")
	cur := "/"
	for hops := 0; len(rest) > 0; {
		part := rest[0]
		rest = rest[1:]
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, part)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many symlinks", p)
		}
		target, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			cur = "/"
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return cur, nil
}

// spec is the CDI spec of the discovered driver: one device per GPU by
// index and by UUID, "all", and the driver's control nodes, libraries,
// binaries and env as edits common to every device.
func (d *nvidiaDriver) spec() (*cdispec.Spec, error) {
	s := &cdispec.Spec{
		Kind:        NVIDIAKind,
		Annotations: map[string]string{"berth.generated": "true"},
	}
	var all []*cdispec.DeviceNode
	for _, g := range d.gpus {
		dn := g.node.cdi()
		all = append(all, dn)
		s.Devices = append(s.Devices, cdispec.Device{Name: strconv.Itoa(g.index),
			ContainerEdits: cdispec.ContainerEdits{DeviceNodes: []*cdispec.DeviceNode{dn}}})
		if g.uuid != "" {
			s.Devices = append(s.Devices, cdispec.Device{Name: g.uuid,
				ContainerEdits: cdispec.ContainerEdits{DeviceNodes: []*cdispec.DeviceNode{dn}}})
		}
	}
	s.Devices = append(s.Devices, cdispec.Device{Name: "all",
		ContainerEdits: cdispec.ContainerEdits{DeviceNodes: all}})
	for _, n := range d.control {
		s.ContainerEdits.DeviceNodes = append(s.ContainerEdits.DeviceNodes, n.cdi())
	}
	for i := range d.mounts {
		s.ContainerEdits.Mounts = append(s.ContainerEdits.Mounts, &d.mounts[i])
	}
	s.ContainerEdits.Env = []string{"NVIDIA_VISIBLE_DEVICES=void"}
	if len(d.libDirs) > 0 {
		s.ContainerEdits.Env = append(s.ContainerEdits.Env, "LD_LIBRARY_PATH="+strings.Join(d.libDirs, ":"))
	}
	v, err := minimumVersion(s)
	if err != nil {
		return nil, err
	}
	s.Version = v
	return s, nil
}

func (n node) cdi() *cdispec.DeviceNode {
	return &cdispec.DeviceNode{Path: n.path, HostPath: n.hostPath, Type: n.typ,
		Major: n.major, Minor: n.minor, Permissions: "rwm"}
}
