package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/layout"
)

type pullCmdOptions struct {
	quiet           bool
	ignoreFailures  bool
	ignoreBuildable bool
	policy          string
	includeDeps     bool
}

func newPullCmd(g *globalOptions) *cobra.Command {
	var o pullCmdOptions
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] [SERVICE...]",
		Short: "Pull service images",
		Long: `Pull the images of the project's services (all of them, or those named), all
at once. Services that are built (build: and no image:, or pull_policy: build)
and services with pull_policy: never are skipped.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPull(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Pull without printing progress information")
	f.BoolVar(&o.ignoreFailures, "ignore-pull-failures", false, "Pull what it can and ignore images with pull failures")
	f.BoolVar(&o.ignoreBuildable, "ignore-buildable", false, "Ignore images that can be built")
	f.StringVar(&o.policy, "policy", "", `Apply pull policy ("missing"|"always")`)
	f.BoolVar(&o.includeDeps, "include-deps", false, "Also pull the images of the named services' dependencies")
	return cmd
}

// pullWant is one distinct image to pull and the services using it.
type pullWant struct {
	ref, platform string
	services      []string
}

func runPull(ctx context.Context, g *globalOptions, o pullCmdOptions, services []string) error {
	switch o.policy {
	case "", engine.PullPolicyMissing, engine.PullPolicyAlways:
	default:
		return fmt.Errorf("--policy %q: want missing or always", o.policy)
	}
	p, err := g.loadProject(ctx, naming(services...))
	if err != nil {
		return err
	}
	if o.includeDeps && len(services) > 0 {
		services = attachServices(p, services, false)
	}
	names, err := pullServiceNames(p, services)
	if err != nil {
		return err
	}
	store, err := openImageStore()
	if err != nil {
		return err
	}
	cfg, err := engine.LoadRegistryConfig()
	if err != nil {
		return err
	}

	prog := newPullProgress(g.stderr, !o.quiet && isTerminalWriter(g.stderr), g.colorEnabledOn(g.stderr))
	wants := map[string]*pullWant{}
	var order []string
	for _, name := range names {
		svc := p.Services[name]
		switch {
		case svc.Image == "":
			if !o.quiet {
				prog.skip(name, "No image to be pulled")
			}
			continue
		case svc.PullPolicy == engine.PullPolicyBuild || (o.ignoreBuildable && svc.Build != nil):
			if !o.quiet {
				prog.skip(name, "Image will be built")
			}
			continue
		case svc.PullPolicy == engine.PullPolicyNever:
			if !o.quiet {
				prog.skip(svc.Image, "Image is never pulled (pull_policy: never)")
			}
			continue
		}
		policy := svc.PullPolicy
		if o.policy != "" {
			policy = o.policy
		}
		if (policy == engine.PullPolicyMissing || policy == "if_not_present") && presentNotLatest(store, svc.Image) {
			if !o.quiet {
				prog.skip(svc.Image, "Image is already present locally")
			}
			continue
		}
		key := svc.Image + "\x00" + svc.Platform
		w := wants[key]
		if w == nil {
			w = &pullWant{ref: svc.Image, platform: svc.Platform}
			wants[key] = w
			order = append(order, key)
		}
		w.services = append(w.services, name)
	}
	for _, k := range order {
		w := wants[k]
		prog.add(w.ref, "Image "+w.ref)
	}
	puller := engine.NewPuller(store, cfg)
	popts := engine.PullOptions{}
	if !o.quiet {
		popts.Progress = prog.event
		prog.run()
	}

	var mu sync.Mutex
	var errs, warnings []error
	var mustBuild []string
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8) // images at once; each pulls its layers in parallel too
	for _, k := range order {
		w := wants[k]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			opts := popts
			opts.Platform = w.platform
			_, err := puller.Pull(ctx, w.ref, opts)
			if err == nil {
				return
			}
			err = fmt.Errorf("service %s: %w", strings.Join(w.services, ", "), err)
			if !o.quiet {
				prog.fail(w.ref, err)
			}
			mu.Lock()
			defer mu.Unlock()
			// as Compose: a service that can be built is not failed by
			// its pull, and is named in the hint below
			buildable := true
			for _, name := range w.services {
				if p.Services[name].Build == nil {
					buildable = false
				} else {
					mustBuild = append(mustBuild, name)
				}
			}
			switch {
			case buildable:
			case o.ignoreFailures:
				warnings = append(warnings, err)
			default:
				errs = append(errs, err)
			}
		}()
	}
	wg.Wait()
	prog.finish()
	sortErrors(warnings)
	for _, err := range warnings {
		fmt.Fprintf(g.stderr, "WARNING: %v\n", err)
	}
	if len(mustBuild) > 0 {
		sort.Strings(mustBuild)
		fmt.Fprintf(g.stderr, "WARNING: Some service image(s) must be built from source by running:\n    berth build %s\n", strings.Join(mustBuild, " "))
	}
	sortErrors(errs)
	return errors.Join(errs...)
}

func sortErrors(errs []error) {
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}

// presentNotLatest reports whether ref is in the store under a tag other
// than latest: Compose's pull skips such an image for pull_policy missing,
// and pulls a present :latest again.
func presentNotLatest(store *engine.ImageStore, ref string) bool {
	if _, err := store.Get(ref); err != nil {
		return false
	}
	r, err := engine.ParseImageReference(ref)
	if err != nil {
		return false
	}
	return r.Digest != "" || r.Tag != "latest"
}

// pullServiceNames checks the named services exist; none named means all,
// in a stable order.
func pullServiceNames(p *types.Project, services []string) ([]string, error) {
	if len(services) == 0 {
		for name := range p.Services {
			services = append(services, name)
		}
		sort.Strings(services)
		return services, nil
	}
	for _, s := range services {
		if _, ok := p.Services[s]; !ok {
			return nil, fmt.Errorf("no such service: %s", s)
		}
	}
	return services, nil
}

// openImageStore opens the image store under berth's state root.
func openImageStore() (*engine.ImageStore, error) {
	return engine.OpenImages(layout.FromEnv())
}

func isTerminalWriter(w any) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}
