package engine

import (
	"context"
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/state"
)

// serviceMounts turns a service's volumes into runtime mounts.
func (e *Engine) serviceMounts(ctx context.Context, p *types.Project, svc types.ServiceConfig, img *image.Image, rootfsPath, id string) ([]specs.Mount, []string, error) {
	if len(svc.Volumes) > 0 {
		return nil, nil, fmt.Errorf("service %q: volumes are not supported yet", svc.Name)
	}
	return nil, nil, nil
}

// removeAnonymousVolumes removes the anonymous volumes of a container.
func (e *Engine) removeAnonymousVolumes(ctx context.Context, rec *state.Container) error {
	return nil
}
