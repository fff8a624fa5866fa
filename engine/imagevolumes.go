package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/rootfs"
	"github.com/berth-dev/berth/internal/safepath"
	"github.com/berth-dev/berth/project"
)

// `type: image` volumes: an image's filesystem (or a subpath of it),
// read-only at the target. The image (pulled when missing) is mounted as an
// overlay of its layers under the container's dir, imagevol/N, as its
// rootfs is, and bound read-only into the container; the mounts go with
// the container (remove, or a failed create).

// labelImageVolumes records on each of the services the IDs of the images
// their `type: image` volumes mount, as Compose's
// com.docker.compose.image-volume-digest label ("target=ID", sorted, comma
// separated; absent without image volumes). The config hash includes it
// (serviceHash), so an image volume whose image was rebuilt or retagged
// recreates the containers at the next up. With pull, an image that is
// not here is pulled first (up); without, it is left out (a dry run).
func (e *Engine) labelImageVolumes(ctx context.Context, p *types.Project, services []string, pull bool) error {
	for _, name := range services {
		svc, ok := p.Services[name]
		if !ok {
			continue
		}
		var digests []string
		for _, v := range svc.Volumes {
			if v.Type != types.VolumeTypeImage || v.Source == "" {
				continue
			}
			img, err := e.images.Get(v.Source)
			if pull && errors.Is(err, image.ErrNotFound) {
				img, err = e.localImage(ctx, v.Source)
			}
			if errors.Is(err, image.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("service %q: image volume %s: %w", name, v.Source, err)
			}
			digests = append(digests, v.Target+"="+img.ID())
		}
		if len(digests) == 0 && svc.CustomLabels[project.LabelImageVolumeDigest] == "" {
			continue
		}
		sort.Strings(digests)
		labels := maps.Clone(svc.CustomLabels)
		delete(labels, project.LabelImageVolumeDigest)
		if len(digests) > 0 {
			labels = labels.Add(project.LabelImageVolumeDigest, strings.Join(digests, ","))
		}
		svc.CustomLabels = labels
		p.Services[name] = svc
	}
	return nil
}

// imageVolume returns the volume manager's callback for the container
// whose dir is dir.
func (e *Engine) imageVolume(ctx context.Context, dir string) func(types.ServiceVolumeConfig, string) (specs.Mount, error) {
	n := 0
	return func(v types.ServiceVolumeConfig, target string) (specs.Mount, error) {
		img, err := e.localImage(ctx, v.Source)
		if err != nil {
			return specs.Mount{}, fmt.Errorf("image %s: %w", v.Source, err)
		}
		layout := rootfs.LayoutIn(filepath.Join(dir, "imagevol", strconv.Itoa(n)))
		n++
		if err := rootfs.Mount(img.LayerDirs(), layout); err != nil {
			return specs.Mount{}, err
		}
		src := layout.Merged
		if v.Image != nil && v.Image.SubPath != "" {
			// the image's content is untrusted: the subpath must lead to
			// something beneath its root without a symlink on the way (the
			// mount is read-only, so what is checked stays so)
			sp := strings.TrimRight(v.Image.SubPath, "/")
			f, err := safepath.Open(layout.Merged, sp, false)
			if err != nil {
				return specs.Mount{}, fmt.Errorf("image %s: subpath %q: %w", v.Source, v.Image.SubPath, err)
			}
			f.Close()
			src = filepath.Join(layout.Merged, sp)
		}
		return specs.Mount{Destination: target, Type: "bind", Source: src, Options: []string{"rbind", "ro", types.PropagationRPrivate}}, nil
	}
}

// unmountImageVolumes unmounts the image volumes under a container's dir.
func unmountImageVolumes(dir string) error {
	entries, err := os.ReadDir(filepath.Join(dir, "imagevol"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if err := rootfs.Unmount(rootfs.LayoutIn(filepath.Join(dir, "imagevol", e.Name()))); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
