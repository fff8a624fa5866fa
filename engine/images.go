package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/image"
)

// ensureImages makes every named service's image present, pulling per the
// service's pull_policy (or the override), each distinct image once and
// all of them in parallel.
func (e *Engine) ensureImages(ctx context.Context, p *types.Project, services []string, override string) (map[string]*image.Image, error) {
	type want struct {
		ref, platform string
		pull          bool
		services      []string
	}
	wants := map[string]*want{}
	out := map[string]*image.Image{}
	now := time.Now()
	for _, name := range services {
		svc := p.Services[name]
		ref := imageRef(p, svc)
		local, err := e.images.Get(ref)
		if err != nil && !errors.Is(err, image.ErrNotFound) {
			return nil, err
		}
		policy := svc.PullPolicy
		if override != "" {
			policy = override
		}
		if svc.Build != nil && (policy == "" || policy == image.PolicyBuild || svc.Image == "") {
			if local == nil {
				return nil, fmt.Errorf("service %q: image %s must be built, and berth cannot build images yet (load it with `berth image load`)", name, ref)
			}
			out[name] = local
			continue
		}
		pull, err := image.ServiceShouldPull(name, ref, policy, local, now)
		if err != nil {
			return nil, err
		}
		if !pull {
			out[name] = local
			continue
		}
		w := wants[ref]
		if w == nil {
			w = &want{ref: ref, platform: svc.Platform, pull: true}
			wants[ref] = w
		}
		w.services = append(w.services, name)
	}
	if len(wants) == 0 {
		return out, nil
	}
	cfg, err := image.LoadConfig()
	if err != nil {
		return nil, err
	}
	puller := image.NewPuller(e.images, cfg)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, w := range wants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.emit("Image", w.ref, "Pulling")
			img, err := puller.Pull(ctx, w.ref, image.PullOptions{Platform: w.platform})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				var netErr net.Error
				if errors.As(err, &netErr) {
					err = fmt.Errorf("%w (registry unreachable: load the image with `berth image load -i FILE`, or set a mirror with BERTH_REGISTRY_MIRRORS)", err)
				}
				errs = append(errs, fmt.Errorf("service %q: %w", w.services[0], err))
				e.progress(Event{Kind: "Image", Name: w.ref, Status: "Error", Err: err})
				return
			}
			e.emit("Image", w.ref, "Pulled")
			for _, s := range w.services {
				out[s] = img
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
