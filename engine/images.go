package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/image"
)

// imagePolicy is how up and run get images: the --pull override of
// pull_policy, when services with `build:` are built (Build* modes), and
// the options of those builds.
type imagePolicy struct {
	pull  string
	build string
	opts  BuildOptions
}

// ensureImages makes every named service's image present: services with
// `build:` are built (per ip.build and pull_policy: build), the others
// pulled per their pull_policy (or the override), each distinct image once
// and all of them in parallel.
func (e *Engine) ensureImages(ctx context.Context, p *types.Project, services []string, ip imagePolicy) (map[string]*image.Image, error) {
	type want struct {
		ref, platform string
		pull          bool
		services      []string
	}
	wants := map[string]*want{}
	out := map[string]*image.Image{}
	var toBuild []string
	now := time.Now()
	for _, name := range services {
		svc := p.Services[name]
		ref := imageRef(p, svc)
		local, err := e.images.Get(ref)
		if err != nil && !errors.Is(err, image.ErrNotFound) {
			return nil, err
		}
		policy := svc.PullPolicy
		if ip.pull != "" {
			policy = ip.pull
		}
		if svc.Build != nil && (svc.Image == "" || policy != image.PolicyAlways) {
			switch {
			case ip.build == BuildNever && local == nil:
				return nil, fmt.Errorf("service %q: image %s is not built (--no-build): run `berth build %s` first", name, ref, name)
			case ip.build == BuildNever, local != nil && ip.build != BuildAlways && svc.PullPolicy != image.PolicyBuild:
				out[name] = local
			default:
				toBuild = append(toBuild, name)
			}
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
	if len(toBuild) > 0 {
		built, err := e.Build(ctx, p, toBuild, ip.opts)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, built)
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
