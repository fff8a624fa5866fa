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
	var made []string
	defer func() {
		if err != nil {
			for _, name := range made {
				_ = m.Remove(context.WithoutCancel(ctx), name, true, nil)
			}
		}
	}()
	targets := map[string]string{} // target → source, to refuse duplicates
	add := func(src, target string, mt specs.Mount) error {
		if prev, ok := targets[target]; ok {
			return req.errorf(src, target, fmt.Errorf("duplicate mount point (also used by %s)", prev))
		}
		targets[target] = src
		mounts = append(mounts, mt)
		return nil
	}

	for _, v := range req.Volumes {
		target := v.Target
		if !path.IsAbs(target) {
			return nil, nil, req.errorf(v.Source, target, errors.New("the target must be an absolute path inside the container"))
		}
		target = path.Clean(target)
		var mt specs.Mount
		switch v.Type {
		case types.VolumeTypeBind:
			mt, err = req.bind(v, target)
		case types.VolumeTypeVolume, "":
			var u Used
			var created bool
			mt, u, created, err = m.volume(ctx, &req, v, target)
			if created && u.Anonymous {
				made = append(made, u.Name)
			}
			if err == nil {
				used = append(used, u)
			}
		case types.VolumeTypeTmpfs:
			mt, err = tmpfsVolume(v, target)
		case types.VolumeTypeImage:
			if req.ImageVolume == nil {
				err = fmt.Errorf("volume type %q is not supported here", v.Type)
				break
			}
			mt, err = req.ImageVolume(v, target)
		default:
			err = fmt.Errorf("volume type %q is not supported (bind, volume, tmpfs and image are)", v.Type)
		}
		if err != nil {
			return nil, nil, req.errorf(v.Source, target, err)
		}
		if err := add(describe(v.Type, v.Source), target, mt); err != nil {
			return nil, nil, err
		}
	}

	for _, entry := range req.Tmpfs {
		target, opts, err := parseTmpfsEntry(entry)
		if err != nil {
			return nil, nil, fmt.Errorf("service %q: %w", req.Service, err)
		}
		mt, err := tmpfsMount(target, opts)
		if err != nil {
			return nil, nil, req.errorf("tmpfs", target, err)
		}
		if err := add("tmpfs", target, mt); err != nil {
			return nil, nil, err
		}
	}

	// The image's VOLUMEs no service mount covers become anonymous volumes.
	imageTargets := make([]string, 0, len(req.ImageVolumes))
	for t := range req.ImageVolumes {
		imageTargets = append(imageTargets, t)
	}
	sort.Strings(imageTargets)
	for _, t := range imageTargets {
		if !path.IsAbs(t) {
			return nil, nil, req.errorf("image VOLUME", t, errors.New("the image declares a relative VOLUME path"))
		}
		target := path.Clean(t)
		if _, ok := targets[target]; ok {
			continue
		}
		mt, u, created, err := m.volume(ctx, &req, types.ServiceVolumeConfig{Type: types.VolumeTypeVolume, Target: target}, target)
		if created {
			made = append(made, u.Name)
		}
		if err != nil {
			return nil, nil, req.errorf("image VOLUME", target, err)
		}
		used = append(used, u)
		if err := add("image VOLUME", target, mt); err != nil {
			return nil, nil, err
		}
	}

	sort.SliceStable(mounts, func(i, j int) bool {
		return depth(mounts[i].Destination) < depth(mounts[j].Destination)
	})
	return mounts, used, nil
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
	var spec Spec
	if v.Source == "" {
		name := r.Anonymous[target]
		if name != "" && checkName(name) == nil {
			if _, err := m.read(name); err != nil {
				name = ""
			}
		} else {
			name = ""
		}
		if name == "" {
			name = m.newID()
		}
		spec = Spec{Name: name, Anonymous: true, Labels: map[string]string{LabelAnonymous: ""}}
		if r.Project != "" {
			spec.Labels[LabelProject] = r.Project
		}
		if r.Container != "" {
			spec.Labels[LabelContainer] = r.Container
		}
		u = Used{Name: name, Target: target, Anonymous: true}
	} else {
		cfg, ok := r.ProjectVolumes[v.Source]
		if !ok {
			return mt, u, false, fmt.Errorf("volume %q is not declared in the top-level volumes section", v.Source)
		}
		spec = ProjectSpec(r.Project, v.Source, cfg, r.Labels)
		u = Used{Name: spec.Name, Target: target}
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
	opts := []string{"rbind"}
	if v.ReadOnly || volumeReadOnly(vol) {
		opts = append(opts, "ro")
	}
	opts = append(opts, types.PropagationRPrivate)
	return specs.Mount{Destination: target, Type: "bind", Source: src, Options: opts}, u, created, nil
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
