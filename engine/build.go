package engine

import (
	"context"
	"fmt"
	"maps"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/ociruntime"
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
	Pull    bool                       // pull base images even when present
	Args    map[string]*string         // --build-arg, over the services' build.args
	SSH     map[string]build.SSHSource // --ssh, over the services' build.ssh ids
}

// WithBuildProgress receives the steps of the builds the engine runs.
func WithBuildProgress(fn func(service string, s build.Step)) Opt {
	return func(e *Engine) { e.buildProgress = fn }
}

// Builder returns the engine's image builder (its cache under the state
// root, RUN steps on the engine's runtime).
func (e *Engine) Builder() (*build.Builder, error) {
	e.builderOnce.Do(func() {
		rt := func(ctx context.Context) (ociruntime.Runtime, error) { return e.Runtime(ctx, "") }
		e.builder, e.builderErr = build.New(e.images, rt, e.layout.BuildCache(), build.WithNetworkSetup(e.ipam, hostNetworkLock), build.WithFirewall(e.firewall))
	})
	return e.builder, e.builderErr
}

// Build builds the images of the named services (all with `build:` when
// none are named) and returns them by service. A named service without
// `build:` is an error. Independent builds run at once, at most
// ociruntime.NumCPU() of them; several services building the same image name
// build it once; a build that uses another's image (FROM, COPY --from,
// additional_contexts service:NAME) waits for it (build.Plan). Progress
// of all builds goes to the one WithBuildProgress callback, one call at a
// time.
func (e *Engine) Build(ctx context.Context, p *types.Project, services []string, o BuildOptions) (map[string]*image.Image, error) {
	if len(services) == 0 {
		for name, svc := range p.Services {
			if svc.Build != nil {
				services = append(services, name)
			}
		}
	}
	services = withContextServices(p, services)
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
	jobs, err := buildJobs(p, services, o)
	if err != nil {
		return nil, err
	}
	var progressMu sync.Mutex
	var outMu sync.Mutex
	out := map[string]*image.Image{}
	err = build.Schedule(ctx, jobs, goruntime.NumCPU(), func(ctx context.Context, j *build.Job) error {
		name := j.Services[0] // progress and errors name the first service of the image
		opts := j.Options
		if e.buildProgress != nil {
			opts.Progress = func(s build.Step) {
				progressMu.Lock()
				defer progressMu.Unlock()
				e.buildProgress(name, s)
			}
		}
		emit := func(status string) {
			progressMu.Lock()
			defer progressMu.Unlock()
			e.emit("Service", name, status)
		}
		emit("Building")
		img, err := b.Build(ctx, opts)
		if err != nil {
			emit("Error") // the error itself is the command's
			return fmt.Errorf("service %q: build: %w", name, err)
		}
		emit("Built")
		outMu.Lock()
		for _, s := range j.Services {
			out[s] = img
		}
		outMu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// buildJobs makes the build jobs of services: one per image name (the
// services sharing it listed in it), ordered by build.Plan.
func buildJobs(p *types.Project, services []string, o BuildOptions) ([]*build.Job, error) {
	var jobs []*build.Job
	byImage := map[string]*build.Job{}
	for _, name := range services {
		svc := p.Services[name]
		ref := imageRef(p, svc)
		if j, ok := byImage[ref]; ok {
			j.Services = append(j.Services, name)
			continue
		}
		opts, err := build.ServiceOptions(p, svc, o.NoCache, o.Pull, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range o.Args {
			opts.Args[k] = v
		}
		if len(o.SSH) > 0 && opts.SSH == nil {
			opts.SSH = map[string]build.SSHSource{}
		}
		for k, v := range o.SSH {
			opts.SSH[k] = v
		}
		j := &build.Job{Image: ref, Services: []string{name}, Options: opts}
		byImage[ref] = j
		jobs = append(jobs, j)
	}
	build.Plan(jobs)
	return jobs, nil
}

// withContextServices adds to services those their additional_contexts
// name as service:NAME, transitively (Compose builds them on demand), and
// returns the list sorted. Unknown names are kept for the caller to
// refuse.
func withContextServices(p *types.Project, services []string) []string {
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		svc, ok := p.Services[name]
		if !ok || svc.Build == nil {
			return
		}
		for _, v := range svc.Build.AdditionalContexts {
			if dep, ok := strings.CutPrefix(v, types.ServicePrefix); ok {
				visit(dep)
			}
		}
	}
	for _, s := range services {
		visit(s)
	}
	return slices.Sorted(maps.Keys(seen))
}
