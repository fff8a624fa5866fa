package engine

import (
	"context"
	"fmt"
	"slices"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/image"
)

// PushBuilt builds the images of the services named in refs (each must have
// `build:`) and pushes each, tagged with the reference refs gives it, to its
// registry with the credentials of ~/.docker/config.json. It is how
// `berth k8s up --push` puts a project's own images where a cluster can pull
// them: the reference is the one the manifests name, whatever the service's
// local image name is. Progress goes out as "Service" events (Pushing,
// Pushed); the first failure stops the push and names the service.
func (e *Engine) PushBuilt(ctx context.Context, p *types.Project, refs map[string]string, o BuildOptions) error {
	services := make([]string, 0, len(refs))
	for name := range refs {
		services = append(services, name)
	}
	slices.Sort(services)
	if len(services) == 0 {
		return nil
	}
	imgs, err := e.Build(ctx, p, services, o)
	if err != nil {
		return err
	}
	cfg, err := image.LoadConfig()
	if err != nil {
		return err
	}
	pusher := image.NewPusher(e.images, cfg)
	pushed := map[string]bool{}
	for _, name := range services {
		ref := refs[name]
		if pushed[ref] {
			continue
		}
		pushed[ref] = true
		if imgs[name] == nil {
			return fmt.Errorf("service %q: build produced no image", name)
		}
		if err := e.images.Tag(ctx, imageRef(p, p.Services[name]), ref); err != nil {
			return fmt.Errorf("service %q: tag %s: %w", name, ref, err)
		}
		e.emit("Service", name, "Pushing "+ref)
		if _, err := pusher.Push(ctx, ref, image.PushOptions{}); err != nil {
			e.emit("Service", name, "Error")
			return fmt.Errorf("service %q: push %s: %w", name, ref, err)
		}
		e.emit("Service", name, "Pushed "+ref)
	}
	return nil
}
