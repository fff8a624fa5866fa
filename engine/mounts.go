package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/safepath"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/volumes"
)

// volumeManager is the engine's named-volume store.
func (e *Engine) volumeManager() *volumes.Manager {
	return volumes.New(e.layout.Volumes())
}

// serviceMounts turns a service's volumes, tmpfs and its image's VOLUMEs
// into runtime mounts; it returns the names of the volumes used. Volume
// subpaths are recorded in the container's dir, to be mounted afresh
// before each start (internal/safepath; supervisor run, runForeground).
func (e *Engine) serviceMounts(ctx context.Context, p *types.Project, svc types.ServiceConfig, img *image.Image, rootfsPath, id string, keepAnon map[string]string) ([]specs.Mount, []volumes.Used, error) {
	dir := e.store.Dir(id)
	var imageVolumes map[string]struct{}
	if cfg := img.Config(); cfg != nil {
		imageVolumes = cfg.Config.Volumes
	}
	mounts, used, err := e.volumeManager().Mounts(ctx, volumes.Request{
		Project:        p.Name,
		WorkingDir:     p.WorkingDir,
		Service:        svc.Name,
		Container:      id,
		Volumes:        svc.Volumes,
		ProjectVolumes: p.Volumes,
		Labels:         map[string]string{project.LabelVersion: project.ComposeVersion},
		ImageVolumes:   imageVolumes,
		Rootfs:         rootfsPath,
		Anonymous:      keepAnon,
		StageDir:       filepath.Join(dir, "subpath"),
		ImageVolume:    e.imageVolume(ctx, dir),
	})
	if err != nil {
		return nil, nil, err
	}
	var binds []safepath.Bind
	for _, u := range used {
		if u.Stage != nil {
			binds = append(binds, *u.Stage)
		}
	}
	if err := safepath.Save(dir, binds); err != nil {
		return nil, nil, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	return mounts, used, nil
}

// removeAnonymousVolumes removes the anonymous volumes of a container.
func (e *Engine) removeAnonymousVolumes(ctx context.Context, rec *state.Container) error {
	vm := e.volumeManager()
	var errs []error
	for _, name := range rec.Volumes {
		v, err := vm.Get(ctx, name)
		if err != nil || !v.Anonymous {
			continue
		}
		if err := vm.Remove(ctx, name, true, e.volumeInUse(rec.ID)); err != nil && !errors.Is(err, volumes.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeProjectVolumes removes the project's named volumes (not external).
func (e *Engine) removeProjectVolumes(ctx context.Context, p *types.Project) error {
	vm := e.volumeManager()
	var errs []error
	for _, key := range sortedKeys(p.Volumes) {
		v := p.Volumes[key]
		if bool(v.External) {
			continue
		}
		name := v.Name
		if name == "" {
			name = p.Name + "_" + key
		}
		if err := vm.Remove(ctx, name, false, e.volumeInUse("")); err != nil {
			if errors.Is(err, volumes.ErrNotFound) {
				continue
			}
			errs = append(errs, err)
			continue
		}
		e.emit("Volume", name, "Removed")
	}
	return errors.Join(errs...)
}

// volumeInUse reports whether a container other than except uses a volume.
func (e *Engine) volumeInUse(except string) volumes.InUse {
	recs, _ := e.store.List("")
	return func(name string) bool {
		for _, r := range recs {
			if r.ID == except {
				continue
			}
			for _, v := range r.Volumes {
				if v == name {
					return true
				}
			}
		}
		return false
	}
}

// ensureAllResources makes every network and volume the project declares,
// used or not (up --all-resources); external ones must exist.
func (e *Engine) ensureAllResources(ctx context.Context, p *types.Project) error {
	for _, key := range sortedKeys(p.Networks) {
		if _, err := e.ensureNetwork(ctx, p, key); err != nil {
			return err
		}
	}
	vm := e.volumeManager()
	for _, key := range sortedKeys(p.Volumes) {
		spec := volumes.ProjectSpec(p.Name, key, p.Volumes[key], map[string]string{project.LabelVersion: project.ComposeVersion})
		if _, err := vm.Get(ctx, spec.Name); err == nil {
			continue
		}
		if _, err := vm.Create(ctx, spec); err != nil {
			return fmt.Errorf("volumes.%s: %w", key, err)
		}
		e.emit("Volume", spec.Name, "Created")
	}
	return nil
}
