package devices

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/google/renameio/v2"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"tags.cncf.io/container-device-interface/pkg/cdi"
	cdispec "tags.cncf.io/container-device-interface/specs-go"
)

// SpecDirsEnv overrides the CDI spec dirs (a colon-separated list).
const SpecDirsEnv = "BERTH_CDI_SPEC_DIRS"

// DriverRootEnv is the root the NVIDIA driver is found under, /dev and
// /proc included (default "/"), like nvidia-ctk's --driver-root: for a
// driver installed under another root, and for tests on a fake one.
const DriverRootEnv = "BERTH_NVIDIA_DRIVER_ROOT"

// DefaultSpecDirs are the CDI spec dirs of the CDI spec, lowest priority
// first, or those of BERTH_CDI_SPEC_DIRS.
func DefaultSpecDirs() []string {
	if v, ok := os.LookupEnv(SpecDirsEnv); ok {
		var dirs []string
		for _, d := range strings.Split(v, ":") {
			if d != "" {
				dirs = append(dirs, filepath.Clean(d))
			}
		}
		return dirs
	}
	return []string{"/etc/cdi", "/var/run/cdi"}
}

// Options configure a Registry.
type Options struct {
	// SpecDirs are read in order, a later dir taking precedence (nil:
	// DefaultSpecDirs).
	SpecDirs []string
	// Root is the host root NVIDIA discovery looks under ("": "/").
	Root string
	// GenDir is where a generated NVIDIA spec is written, for a look,
	// when it is first injected; "" writes none.
	GenDir string
}

// Registry is the host's CDI devices: the specs of the spec dirs, plus
// an NVIDIA spec generated when none names nvidia.com/gpu and the host has
// the driver. Building one reads and writes nothing but the spec dirs and
// the discovery's files, so a plan (up --dry-run) changes nothing.
type Registry struct {
	cache    *cdi.Cache
	dirs     []string
	gen      *cdispec.Spec // the generated NVIDIA spec (in memory), nil when none
	genDir   string
	noNVIDIA error // why nothing provides nvidia.com/gpu

	writeOnce sync.Once
	written   string // where gen was written, "" before the first injection
	writeErr  error
}

// New reads the spec dirs. Spec files must be owned by root (or the
// caller) and writable by no one else: a CDI spec's hooks run as root on
// the host, so a spec anyone could edit is refused, by name.
func New(o Options) (*Registry, error) {
	dirs := o.SpecDirs
	if dirs == nil {
		dirs = DefaultSpecDirs()
	}
	root := o.Root
	if root == "" {
		root = "/"
	}
	for _, d := range dirs {
		if err := checkSpecDir(d); err != nil {
			return nil, err
		}
	}
	r := &Registry{dirs: dirs, genDir: o.GenDir}
	r.cache, _ = cdi.NewCache(cdi.WithSpecDirs(dirs...), cdi.WithAutoRefresh(false))
	if r.hasKind(NVIDIAKind) {
		return r, nil
	}
	drv, err := discoverNVIDIA(root)
	if err != nil {
		r.noNVIDIA = err
		return r, nil
	}
	if r.gen, err = drv.spec(); err != nil {
		return nil, fmt.Errorf("generating the NVIDIA CDI spec: %w", err)
	}
	return r, nil
}

// checkSpecDir refuses a spec file (*.json, *.yaml) of dir that is a
// symlink, not owned by root or the caller, or writable by group or
// others. A missing dir is no error.
func checkSpecDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("CDI spec dir: %w", err)
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if ext != ".json" && ext != ".yaml" {
			continue
		}
		p := filepath.Join(dir, e.Name())
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return fmt.Errorf("CDI spec: %w", err)
		}
		switch {
		case st.Mode&unix.S_IFMT == unix.S_IFLNK:
			return fmt.Errorf("CDI spec %s: is a symlink; berth reads only regular files owned by root", p)
		case st.Mode&unix.S_IFMT != unix.S_IFREG:
			return fmt.Errorf("CDI spec %s: not a regular file", p)
		case st.Uid != 0 && int(st.Uid) != os.Geteuid():
			return fmt.Errorf("CDI spec %s: owned by uid %d, not root: its hooks would run as root", p, st.Uid)
		case st.Mode&0o022 != 0:
			return fmt.Errorf("CDI spec %s: writable by group or others (mode %04o): its hooks would run as root; chmod go-w it", p, st.Mode&0o7777)
		}
	}
	return nil
}

// writeSpec writes s atomically as dir/nvidia.com-gpu.json (dir 0700).
func writeSpec(dir string, s *cdispec.Spec) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "nvidia.com-gpu.json")
	if err := renameio.WriteFile(p, append(b, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("writing the generated NVIDIA CDI spec: %w", err)
	}
	return p, nil
}

func minimumVersion(s *cdispec.Spec) (string, error) {
	return cdispec.MinimumRequiredVersion(s)
}

// hasKind says whether any device of kind (vendor/class) is known.
func (r *Registry) hasKind(kind string) bool {
	for _, d := range r.Devices() {
		if strings.HasPrefix(d, kind+"=") {
			return true
		}
	}
	return false
}

// Devices lists the qualified names of every known device, sorted.
func (r *Registry) Devices() []string {
	d := r.cache.ListDevices()
	if r.gen != nil {
		for _, dev := range r.gen.Devices {
			d = append(d, r.gen.Kind+"="+dev.Name)
		}
	}
	sort.Strings(d)
	return d
}

// Generated says whether berth generated the NVIDIA spec (the host has
// the driver and no spec for nvidia.com/gpu).
func (r *Registry) Generated() bool { return r.gen != nil }

// GeneratedPath is where the generated spec was written when first
// injected, or "".
func (r *Registry) GeneratedPath() string { return r.written }

// SpecDirs are the dirs read, in priority order (lowest first).
func (r *Registry) SpecDirs() []string { return slices.Clone(r.dirs) }

// Has says whether a qualified device name is known.
func (r *Registry) Has(name string) bool {
	return r.cache.GetDevice(name) != nil || r.genDevice(name) != nil
}

// genDevice is the generated spec's device of a qualified name, or nil.
func (r *Registry) genDevice(name string) *cdispec.Device {
	if r.gen == nil {
		return nil
	}
	n, ok := strings.CutPrefix(name, r.gen.Kind+"=")
	if !ok {
		return nil
	}
	for i := range r.gen.Devices {
		if r.gen.Devices[i].Name == n {
			return &r.gen.Devices[i]
		}
	}
	return nil
}

// gpuIndices are the nvidia.com/gpu devices named by an index, in order.
func (r *Registry) gpuIndices() []string {
	var idx []string
	for _, d := range r.Devices() {
		name, ok := strings.CutPrefix(d, NVIDIAKind+"=")
		if ok && name != "" && strings.Trim(name, "0123456789") == "" {
			idx = append(idx, name)
		}
	}
	sort.Slice(idx, func(i, j int) bool {
		if len(idx[i]) != len(idx[j]) {
			return len(idx[i]) < len(idx[j])
		}
		return idx[i] < idx[j]
	})
	return idx
}

// specErrors describes the spec files the cache could not use.
func (r *Registry) specErrors() string {
	errs := r.cache.GetErrors()
	if len(errs) == 0 {
		return ""
	}
	paths := make([]string, 0, len(errs))
	for p := range errs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "; %s: %v", p, errors.Join(errs[p]...))
	}
	return b.String()
}

// InjectDevices applies the edits of the named devices (and of their
// specs) to s, with the CNCF library: those of the spec dirs through its
// cache, those of the generated spec through its ContainerEdits (the first
// such injection also writes the generated spec under GenDir). One
// deviation from a plain injection: an LD_LIBRARY_PATH a spec sets is put
// in front of the one the spec already had (the image's), not in its place.
func (r *Registry) InjectDevices(s *specs.Spec, names ...string) ([]string, error) {
	var fromCache, fromGen, unresolved []string
	for _, n := range names {
		switch {
		case r.cache.GetDevice(n) != nil:
			fromCache = append(fromCache, n)
		case r.genDevice(n) != nil:
			fromGen = append(fromGen, n)
		default:
			unresolved = append(unresolved, n)
		}
	}
	if len(unresolved) > 0 {
		return unresolved, fmt.Errorf("unresolvable CDI devices %s", strings.Join(unresolved, ", "))
	}
	var before string
	if s.Process != nil {
		for _, e := range s.Process.Env {
			if v, ok := strings.CutPrefix(e, "LD_LIBRARY_PATH="); ok {
				before = v
			}
		}
	}
	if len(fromCache) > 0 {
		if unresolved, err := r.cache.InjectDevices(s, fromCache...); err != nil {
			return unresolved, err
		}
	}
	if len(fromGen) > 0 {
		edits := &cdi.ContainerEdits{ContainerEdits: &cdispec.ContainerEdits{}}
		edits.Append(&cdi.ContainerEdits{ContainerEdits: &r.gen.ContainerEdits})
		for _, n := range fromGen {
			edits.Append(&cdi.ContainerEdits{ContainerEdits: &r.genDevice(n).ContainerEdits})
		}
		if err := edits.Apply(s); err != nil {
			return nil, fmt.Errorf("failed to inject devices: %w", err)
		}
		if err := r.writeGenerated(); err != nil {
			return nil, err
		}
	}
	if before != "" && s.Process != nil {
		for i, e := range s.Process.Env {
			if v, ok := strings.CutPrefix(e, "LD_LIBRARY_PATH="); ok && v != before {
				s.Process.Env[i] = e + ":" + before
			}
		}
	}
	return nil, nil
}

// writeGenerated writes the generated spec under GenDir once, for a look
// at what containers were given.
func (r *Registry) writeGenerated() error {
	if r.genDir == "" {
		return nil
	}
	r.writeOnce.Do(func() { r.written, r.writeErr = writeSpec(r.genDir, r.gen) })
	return r.writeErr
}
