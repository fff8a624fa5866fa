package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
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

// ImageStep is what getting one image takes: a pull of a reference (for
// every service that runs it) or the build of one service's image. It is
// plain data: `up --dry-run` prints it, fetchImages executes it.
type ImageStep struct {
	Action   string // "pull" or "build"
	Ref      string
	Services []string
	Reason   string // why, for people
	platform string
}

func (s ImageStep) String() string {
	return fmt.Sprintf("%-8s %s (%s: %s)", s.Action, s.Ref, strings.Join(s.Services, ", "), s.Reason)
}

// resolveImages says, for each named service, which image it runs when
// that image is here already (local) and what must be pulled or built
// for the others (steps: each distinct reference once). It reads the
// local image store only: it pulls and builds nothing.
func (e *Engine) resolveImages(p *types.Project, services []string, ip imagePolicy) (local map[string]*image.Image, steps []ImageStep, err error) {
	local = map[string]*image.Image{}
	pulls := map[string]int{} // ref → index in steps
	now := time.Now()
	for _, name := range services {
		svc := p.Services[name]
		if isProvider(svc) {
			continue // no image: provider.go
		}
		ref := imageRef(p, svc)
		img, err := e.images.Get(ref)
		if err != nil && !errors.Is(err, image.ErrNotFound) {
			return nil, nil, err
		}
		policy := svc.PullPolicy
		if ip.pull != "" {
			policy = ip.pull
		}
		if svc.Build != nil && (svc.Image == "" || policy != image.PolicyAlways) {
			step, err := buildStep(name, ref, svc, img, ip)
			if err != nil {
				return nil, nil, err
			}
			if step == nil {
				local[name] = img
			} else {
				steps = append(steps, *step)
			}
			continue
		}
		pull, err := image.ServiceShouldPull(name, ref, policy, img, now)
		if err != nil {
			return nil, nil, err
		}
		if !pull {
			local[name] = img
			continue
		}
		if i, ok := pulls[ref]; ok {
			steps[i].Services = append(steps[i].Services, name)
			continue
		}
		pulls[ref] = len(steps)
		steps = append(steps, ImageStep{Action: "pull", Ref: ref, Services: []string{name}, Reason: pullReason(img, policy, ip), platform: svc.Platform})
	}
	if err := e.labelImageVolumes(context.Background(), p, services, false); err != nil {
		return nil, nil, err
	}
	return local, steps, nil
}

// buildStep is the build a service with build: needs, or nil when its
// local image img (nil: none) serves: always with --no-build (an error
// when there is none), else unless --build or pull_policy: build.
func buildStep(name, ref string, svc types.ServiceConfig, img *image.Image, ip imagePolicy) (*ImageStep, error) {
	switch {
	case ip.build == BuildNever && img == nil:
		return nil, fmt.Errorf("service %q: image %s is not built (--no-build): run `berth build %s` first", name, ref, name)
	case ip.build == BuildNever, img != nil && ip.build != BuildAlways && svc.PullPolicy != image.PolicyBuild:
		return nil, nil
	}
	reason := "not built yet"
	switch {
	case ip.build == BuildAlways:
		reason = "--build"
	case img != nil:
		reason = "pull_policy: build"
	}
	return &ImageStep{Action: "build", Ref: ref, Services: []string{name}, Reason: reason}, nil
}

// pullReason says why an image is pulled: it is missing, or the pull
// policy (--pull's, else the service's) says so.
func pullReason(img *image.Image, policy string, ip imagePolicy) string {
	switch {
	case img == nil:
		return "missing"
	case ip.pull != "":
		return "--pull " + ip.pull
	}
	return "pull_policy: " + policy
}

// ensureImages makes every named service's image present: services with
// `build:` are built (per ip.build and pull_policy: build), the others
// pulled per their pull_policy (or the override), each distinct image once
// and all of them in parallel.
func (e *Engine) ensureImages(ctx context.Context, p *types.Project, services []string, ip imagePolicy) (map[string]*image.Image, error) {
	local, steps, err := e.resolveImages(p, services, ip)
	if err != nil {
		return nil, err
	}
	return e.fetchImages(ctx, p, local, steps, ip)
}

// fetchImages executes resolveImages' steps (builds, then pulls in
// parallel) and returns the image of every service: local's and the
// fetched ones.
func (e *Engine) fetchImages(ctx context.Context, p *types.Project, local map[string]*image.Image, steps []ImageStep, ip imagePolicy) (map[string]*image.Image, error) {
	out := maps.Clone(local)
	var toBuild []string
	var pulls []ImageStep
	for _, s := range steps {
		if s.Action == "build" {
			toBuild = append(toBuild, s.Services...)
		} else {
			pulls = append(pulls, s)
		}
	}
	if len(toBuild) > 0 {
		built, err := e.Build(ctx, p, toBuild, ip.opts)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, built)
		// A service that runs the image another service builds takes the
		// built one instead of pulling it (Compose's TestUpWithBuildDependencies).
		byRef := map[string]*image.Image{}
		for _, name := range toBuild {
			byRef[imageRef(p, p.Services[name])] = built[name]
		}
		rest := pulls[:0]
		for _, w := range pulls {
			if img := byRef[w.Ref]; img != nil {
				for _, s := range w.Services {
					out[s] = img
				}
				continue
			}
			rest = append(rest, w)
		}
		pulls = rest
	}
	if len(pulls) == 0 {
		return out, e.labelImageVolumes(ctx, p, slices.Collect(maps.Keys(out)), true)
	}
	cfg, err := image.LoadConfig()
	if err != nil {
		return nil, err
	}
	puller := image.NewPuller(e.images, cfg)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, w := range pulls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.emit("Image", w.Ref, "Pulling")
			img, err := puller.Pull(ctx, w.Ref, image.PullOptions{Platform: w.platform})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				var netErr net.Error
				if errors.As(err, &netErr) {
					err = fmt.Errorf("%w (registry unreachable: load the image with `berth image load -i FILE`, or set a mirror with BERTH_REGISTRY_MIRRORS)", err)
				}
				errs = append(errs, fmt.Errorf("service %q: %w", w.Services[0], err))
				e.progress(Event{Kind: "Image", Name: w.Ref, Status: "Error", Err: err})
				return
			}
			e.emit("Image", w.Ref, "Pulled")
			for _, s := range w.Services {
				out[s] = img
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, e.labelImageVolumes(ctx, p, slices.Collect(maps.Keys(out)), true)
}
