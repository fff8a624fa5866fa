package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/runtime"
)

// Build modes of up: when a service with `build:` gets its image built.
const (
	BuildMissing = ""      // when its image is missing, or pull_policy: build (Compose's default)
	BuildAlways  = "build" // up --build
	BuildNever   = "never" // up --no-build: a missing image is an error
)

// BuildOptions are `build`'s flags (and those up --build passes on).
type BuildOptions struct {
	NoCache bool
	Pull    bool               // pull base images even when present
	Args    map[string]*string // --build-arg, over the services' build.args
}

// WithBuildProgress receives the steps of the builds the engine runs.
func WithBuildProgress(fn func(service string, s build.Step)) Opt {
	return func(e *Engine) { e.buildProgress = fn }
}

// Builder returns the engine's image builder (its cache under the state
// root, RUN steps on the engine's runtime).
func (e *Engine) Builder() (*build.Builder, error) {
	e.builderOnce.Do(func() {
		rt := func(ctx context.Context) (runtime.Runtime, error) { return e.Runtime(ctx, "") }
		e.builder, e.builderErr = build.New(e.images, rt, e.layout.BuildCache(), build.WithNetworkSetup(e.ipam, hostNetworkLock), build.WithFirewall(e.firewall))
	})
	return e.builder, e.builderErr
}

// Build builds the images of the named services (all with `build:` when
// none are named), one after another, and returns them by service. A
// named service without `build:` is an error; several services building
// the same image name build it once.
func (e *Engine) Build(ctx context.Context, p *types.Project, services []string, o BuildOptions) (map[string]*image.Image, error) {
	if len(services) == 0 {
		for name, svc := range p.Services {
			if svc.Build != nil {
				services = append(services, name)
			}
		}
	}
	slices.Sort(services)
	for _, name := range services {
		svc, ok := p.Services[name]
		if !ok {
			return nil, fmt.Errorf("no such service: %s", name)
		}
		if svc.Build == nil {
			return nil, fmt.Errorf("service %q has no build section", name)
		}
	}
	b, err := e.Builder()
	if err != nil {
		return nil, err
	}
	out := map[string]*image.Image{}
	built := map[string]*image.Image{}
	for _, name := range services {
		svc := p.Services[name]
		ref := imageRef(p, svc)
		if img, ok := built[ref]; ok {
			out[name] = img
			continue
		}
		opts, err := build.ServiceOptions(p, svc, o.NoCache, o.Pull, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range o.Args {
			opts.Args[k] = v
		}
		if e.buildProgress != nil {
			var mu sync.Mutex
			opts.Progress = func(s build.Step) {
				mu.Lock()
				defer mu.Unlock()
				e.buildProgress(name, s)
			}
		}
		e.emit("Service", name, "Building")
		img, err := b.Build(ctx, opts)
		if err != nil {
			e.emit("Service", name, "Error") // the error itself is the command's
			return nil, fmt.Errorf("service %q: build: %w", name, err)
		}
		e.emit("Service", name, "Built")
		built[ref], out[name] = img, img
	}
	return out, nil
}
