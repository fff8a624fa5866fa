package volumes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/safepath"
)

// Request is what Mounts needs to know about one container.
type Request struct {
	Project    string
	WorkingDir string // the project dir: relative bind sources start here
	Service    string
	Container  string // the container's name, recorded on anonymous volumes

	Volumes        []types.ServiceVolumeConfig // the service's volumes:, long form
	Tmpfs          []string                    // the service's tmpfs: entries
	ProjectVolumes types.Volumes               // top-level volumes:, Name set
	ImageVolumes   map[string]struct{}         // the image config's Volumes
	// Labels go on the project's named volumes made here, besides the
	// project and volume labels (Compose's com.docker.compose.version).
	Labels map[string]string

	// Rootfs is the container's root filesystem; a new volume is filled
	// from what the image has at the mount's target. "" copies nothing.
	Rootfs string
	// Anonymous maps a target to the anonymous volume the previous
	// container of this service used there: Compose keeps anonymous
	// volumes across a recreate.
	Anonymous map[string]string
	// StageDir is where a volume subpath is mounted at each start (see
	// Used.Stage): a directory only root reaches, in the container's
	// dir. Required when a volume has a subpath.
	StageDir string
	// ImageVolume mounts a `type: image` volume (the engine's: it owns
	// images); nil refuses them.
	ImageVolume func(v types.ServiceVolumeConfig, target string) (specs.Mount, error)

	staged int // subpaths staged so far, numbering their mount points
}

// Used is a volume a container mounts.
type Used struct {
	Name      string
	Target    string
	Anonymous bool
	// Stage, for a volume subpath, is the bind to mount before each start
	// of the container: the mount's source is Stage.Target, not a path
	// into the volume, which the container could swap for a symlink.
	Stage *safepath.Bind
}

var propagations = map[string]bool{
	types.PropagationRPrivate: true, types.PropagationPrivate: true,
	types.PropagationRShared: true, types.PropagationShared: true,
	types.PropagationRSlave: true, types.PropagationSlave: true,
}

// Mounts turns a service's volumes and tmpfs, and the image's VOLUMEs not
// covered by them, into runtime-spec mounts ordered parents first. It
// creates the named volumes on first use (with the project's labels) and
// anonymous volumes, fills new volumes from the image, and mounts volumes
// that are filesystems (tmpfs, …). It returns the volumes used, so that
// the engine can record them and remove anonymous ones with the container.
// On error, the anonymous volumes it made are removed again.
func (m *Manager) Mounts(ctx context.Context, req Request) (mounts []specs.Mount, used []Used, err error) {
	ms := &mountSet{targets: map[string]string{}}
	defer func() {
		if err != nil {
			for _, name := range ms.made {
				_ = m.Remove(context.WithoutCancel(ctx), name, true, nil)
			}
		}
	}()
	for _, v := range req.Volumes {
		if err := m.serviceMount(ctx, &req, v, ms); err != nil {
			return nil, nil, err
		}
	}
	for _, entry := range req.Tmpfs {
		if err := req.tmpfsEntry(entry, ms); err != nil {
			return nil, nil, err
		}
	}
	if err := m.imageVolumeMounts(ctx, &req, ms); err != nil {
		return nil, nil, err
	}
	sortParentsFirst(ms.mounts)
	return ms.mounts, ms.used, nil
}

// mountSet is what Mounts has gathered so far.
type mountSet struct {
	mounts  []specs.Mount
	used    []Used
	targets map[string]string // target → source, to refuse duplicates
	made    []string          // anonymous volumes created, removed on error
}

// add adds mt, the mount of src at target, refusing a second mount at
// one target.
func (s *mountSet) add(r *Request, src, target string, mt specs.Mount) error {
	if prev, ok := s.targets[target]; ok {
		return r.errorf(src, target, fmt.Errorf("duplicate mount point (also used by %s)", prev))
	}
	s.targets[target] = src
	s.mounts = append(s.mounts, mt)
	return nil
}

// serviceMount adds the mount of one entry of the service's volumes; its
// target must be absolute.
func (m *Manager) serviceMount(ctx context.Context, r *Request, v types.ServiceVolumeConfig, ms *mountSet) error {
	target := v.Target
	if !path.IsAbs(target) {
		return r.errorf(v.Source, target, errors.New("the target must be an absolute path inside the container"))
	}
	target = path.Clean(target)
	mt, err := m.mountOf(ctx, r, v, target, ms)
	if err != nil {
		return r.errorf(v.Source, target, err)
	}
	return ms.add(r, describe(v.Type, v.Source), target, mt)
}

// mountOf makes the mount of a volume entry by its type; a volume it
// uses is recorded in ms, and in ms.made when it is a new anonymous one.
func (m *Manager) mountOf(ctx context.Context, r *Request, v types.ServiceVolumeConfig, target string, ms *mountSet) (specs.Mount, error) {
	switch v.Type {
	case types.VolumeTypeBind:
		return r.bind(v, target)
	case types.VolumeTypeVolume, "":
		mt, u, created, err := m.volume(ctx, r, v, target)
		if created && u.Anonymous {
			ms.made = append(ms.made, u.Name)
		}
		if err == nil {
			ms.used = append(ms.used, u)
		}
		return mt, err
	case types.VolumeTypeTmpfs:
		return tmpfsVolume(v, target)
	case types.VolumeTypeImage:
		if r.ImageVolume == nil {
			return specs.Mount{}, fmt.Errorf("volume type %q is not supported here", v.Type)
		}
		return r.ImageVolume(v, target)
	default:
		return specs.Mount{}, fmt.Errorf("volume type %q is not supported (bind, volume, tmpfs and image are)", v.Type)
	}
}

// tmpfsEntry adds the mount of one entry of the service's tmpfs list.
func (r *Request) tmpfsEntry(entry string, ms *mountSet) error {
	target, opts, err := parseTmpfsEntry(entry)
	if err != nil {
		return fmt.Errorf("service %q: %w", r.Service, err)
	}
	mt, err := tmpfsMount(target, opts)
	if err != nil {
		return r.errorf("tmpfs", target, err)
	}
	return ms.add(r, "tmpfs", target, mt)
}

// imageVolumeMounts adds an anonymous volume for each of the image's
// VOLUMEs that no service mount covers, in path order.
func (m *Manager) imageVolumeMounts(ctx context.Context, r *Request, ms *mountSet) error {
	imageTargets := make([]string, 0, len(r.ImageVolumes))
	for t := range r.ImageVolumes {
		imageTargets = append(imageTargets, t)
	}
	sort.Strings(imageTargets)
	for _, t := range imageTargets {
		if !path.IsAbs(t) {
			return r.errorf("image VOLUME", t, errors.New("the image declares a relative VOLUME path"))
		}
		target := path.Clean(t)
		if _, ok := ms.targets[target]; ok {
			continue
		}
		mt, u, created, err := m.volume(ctx, r, types.ServiceVolumeConfig{Type: types.VolumeTypeVolume, Target: target}, target)
		if created {
			ms.made = append(ms.made, u.Name)
		}
		if err != nil {
			return r.errorf("image VOLUME", target, err)
		}
		ms.used = append(ms.used, u)
		if err := ms.add(r, "image VOLUME", target, mt); err != nil {
			return err
		}
	}
	return nil
}

// sortParentsFirst orders mounts so that a mount comes after those of
// the directories above it, keeping the given order otherwise.
func sortParentsFirst(mounts []specs.Mount) {
	sort.SliceStable(mounts, func(i, j int) bool {
		return depth(mounts[i].Destination) < depth(mounts[j].Destination)
	})
}

func depth(p string) int {
	if p == "/" {
		return 0
	}
	return strings.Count(p, "/")
}

func describe(typ, src string) string {
	switch {
	case typ == types.VolumeTypeTmpfs:
		return "tmpfs"
	case src == "":
		return "anonymous volume"
	}
	return src
}

func (r *Request) errorf(src, target string, err error) error {
	if src == "" {
		src = "anonymous volume"
	}
	return fmt.Errorf("service %q: volume %s:%s: %w", r.Service, src, target, err)
}

// bind makes the mount of a host path.
func (r *Request) bind(v types.ServiceVolumeConfig, target string) (specs.Mount, error) {
	src := v.Source
	if src == "" {
		return specs.Mount{}, errors.New("a bind mount needs a source path on the host")
	}
	if src == "~" || strings.HasPrefix(src, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return specs.Mount{}, fmt.Errorf("expand ~: %w", err)
		}
		src = filepath.Join(home, src[1:])
	}
	if !filepath.IsAbs(src) {
		src = filepath.Join(r.WorkingDir, src)
	}
	src = filepath.Clean(src)
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		if v.Bind == nil || !bool(v.Bind.CreateHostPath) {
			return specs.Mount{}, fmt.Errorf("bind source path %s does not exist: create it, or set bind.create_host_path: true", src)
		}
		if err := os.MkdirAll(src, 0o755); err != nil {
			return specs.Mount{}, fmt.Errorf("create bind source path: %w", err)
		}
	} else if err != nil {
		return specs.Mount{}, fmt.Errorf("bind source path: %w", err)
	}
	mode := "rbind"
	propagation := types.PropagationRPrivate
	var extra []string
	if b := v.Bind; b != nil {
		if b.Propagation != "" {
			if !propagations[b.Propagation] {
				return specs.Mount{}, fmt.Errorf("bind.propagation %q: want rprivate, private, rshared, shared, rslave or slave", b.Propagation)
			}
			propagation = b.Propagation
		}
		switch b.Recursive {
		case "", "enabled", "writable":
		case "disabled":
			mode = "bind"
		case "readonly":
			if v.ReadOnly {
				extra = append(extra, "rro")
			}
		default:
			return specs.Mount{}, fmt.Errorf("bind.recursive %q: want enabled, disabled, writable or readonly", b.Recursive)
		}
	}
	opts := []string{mode}
	if v.ReadOnly {
		opts = append(opts, "ro")
	}
	opts = append(opts, extra...)
	opts = append(opts, propagation)
	return specs.Mount{Destination: target, Type: "bind", Source: src, Options: opts}, nil
}

func tmpfsVolume(v types.ServiceVolumeConfig, target string) (specs.Mount, error) {
	if v.Source != "" {
		return specs.Mount{}, errors.New("a tmpfs mount takes no source")
	}
	var opts []string
	if v.ReadOnly {
		opts = append(opts, "ro")
	}
	if t := v.Tmpfs; t != nil {
		if t.Size < 0 {
			return specs.Mount{}, fmt.Errorf("tmpfs.size %d: must not be negative", t.Size)
		}
		if t.Size > 0 {
			opts = append(opts, tmpfsSize(int64(t.Size)))
		}
		if t.Mode != 0 {
			opts = append(opts, fmt.Sprintf("mode=%o", t.Mode))
		}
	}
	return tmpfsMount(target, opts)
}

// volume makes the mount of a named or anonymous volume, creating the
// volume if needed (created reports that) and filling it from the image.
func (m *Manager) volume(ctx context.Context, r *Request, v types.ServiceVolumeConfig, target string) (mt specs.Mount, u Used, created bool, err error) {
	spec, u, err := m.volumeSpec(r, v, target)
	if err != nil {
		return mt, u, false, err
	}
	if err := checkName(spec.Name); err != nil {
		return mt, u, false, err
	}
	var nocopy bool
	var subpath string
	if v.Volume != nil {
		nocopy, subpath = v.Volume.NoCopy, v.Volume.Subpath
	}
	if subpath != "" {
		if err := checkSubpath(subpath); err != nil {
			return mt, u, false, err
		}
	}

	l, err := m.lock(ctx, spec.Name)
	if err != nil {
		return mt, u, false, err
	}
	defer l.Release()
	if _, err := m.read(spec.Name); errors.Is(err, ErrNotFound) && !spec.External {
		created = true
	}
	vol, err := m.createLocked(spec)
	if err != nil {
		return mt, u, created, err
	}
	src, err := m.prepare(ctx, vol, r.Rootfs, target, nocopy, subpath)
	if err != nil {
		return mt, u, created, err
	}
	if subpath != "" {
		if u.Stage, err = r.stage(v.Source, u.Name, src, subpath); err != nil {
			return mt, u, created, err
		}
		src = u.Stage.Target
	}
	return volumeMount(target, src, v.ReadOnly || volumeReadOnly(vol)), u, created, nil
}

// volumeSpec is the spec of the volume a volume entry names: for an
// anonymous one, the one this service's previous container used at
// target or a new one, labelled with the project and container; for a
// named one, the project's, which must be declared.
func (m *Manager) volumeSpec(r *Request, v types.ServiceVolumeConfig, target string) (Spec, Used, error) {
	if v.Source != "" {
		cfg, ok := r.ProjectVolumes[v.Source]
		if !ok {
			return Spec{}, Used{}, fmt.Errorf("volume %q is not declared in the top-level volumes section", v.Source)
		}
		spec := ProjectSpec(r.Project, v.Source, cfg, r.Labels)
		return spec, Used{Name: spec.Name, Target: target}, nil
	}
	name := m.previousAnonymous(r.Anonymous[target])
	if name == "" {
		name = m.newID()
	}
	spec := Spec{Name: name, Anonymous: true, Labels: map[string]string{LabelAnonymous: ""}}
	if r.Project != "" {
		spec.Labels[LabelProject] = r.Project
	}
	if r.Container != "" {
		spec.Labels[LabelContainer] = r.Container
	}
	return spec, Used{Name: name, Target: target, Anonymous: true}, nil
}

// previousAnonymous is name, the anonymous volume a previous container
// used, when it is a valid name of a volume that still exists, or "".
func (m *Manager) previousAnonymous(name string) string {
	if name == "" || checkName(name) != nil {
		return ""
	}
	if _, err := m.read(name); err != nil {
		return ""
	}
	return name
}

// volumeMount is the bind mount of a volume's data at src onto target.
func volumeMount(target, src string, readOnly bool) specs.Mount {
	opts := []string{"rbind"}
	if readOnly {
		opts = append(opts, "ro")
	}
	opts = append(opts, types.PropagationRPrivate)
	return specs.Mount{Destination: target, Type: "bind", Source: src, Options: opts}
}

func volumeReadOnly(v *Volume) bool {
	o, err := parseLocalOpts(v.DriverOpts)
	return err == nil && o.isBind() && o.hasOpt("ro")
}

// prepare readies a volume for a mount (lock held): mounts its filesystem,
// and fills it from the image on its first use (not for a subpath).
func (m *Manager) prepare(ctx context.Context, v *Volume, rootfs, target string, nocopy bool, subpath string) (string, error) {
	fresh, err := m.ensureMounted(v)
	if err != nil {
		return "", err
	}
	dirty := fresh && v.Initialized
	if fresh {
		v.Initialized = false
	}
	data := v.Mountpoint
	if o, _ := parseLocalOpts(v.DriverOpts); o.isBind() {
		if err := checkBindDevice(data); err != nil {
			return "", fmt.Errorf("volume %q: %w", v.Name, err)
		}
	}
	if !nocopy && subpath == "" && !v.Initialized {
		empty, err := isEmptyDir(data)
		if err != nil {
			return "", fmt.Errorf("volume %q: %w", v.Name, err)
		}
		if empty && rootfs != "" {
			if err := copyUp(ctx, rootfs, target, data); err != nil {
				return "", fmt.Errorf("volume %q: %w", v.Name, err)
			}
		}
		v.Initialized, dirty = true, true
	}
	if dirty {
		if err := m.write(v); err != nil {
			return "", err
		}
	}
	return data, nil
}

func checkSubpath(sp string) error {
	if path.IsAbs(sp) {
		return fmt.Errorf("volume.subpath %q must be a relative path inside the volume", sp)
	}
	for _, c := range strings.Split(sp, "/") {
		if c == ".." {
			return fmt.Errorf("volume.subpath %q must stay inside the volume (no ..)", sp)
		}
	}
	return nil
}

// stage checks a volume subpath now, making it when missing as berth
// always has (Docker refuses a missing one), and returns the bind that
// mounts it, afresh and without following symlinks, before each start:
// the container can rewrite the volume between starts.
func (r *Request) stage(source, name, data, sp string) (*safepath.Bind, error) {
	if r.StageDir == "" {
		return nil, errors.New("volume.subpath needs a staging directory (internal error)")
	}
	if source == "" {
		source = name
	}
	r.staged++
	b := &safepath.Bind{
		Root: data, Path: path.Clean(sp), Create: true,
		Target: filepath.Join(r.StageDir, strconv.Itoa(r.staged)),
		What:   fmt.Sprintf("service %q: volume %q", r.Service, source),
	}
	f, err := safepath.Open(b.Root, b.Path, b.Create)
	if err != nil {
		return nil, fmt.Errorf("subpath %q: %w", sp, err)
	}
	return b, f.Close()
}
