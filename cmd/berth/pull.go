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
		if svc.Image == "" || svc.PullPolicy == engine.PullPolicyBuild || (o.ignoreBuildable && svc.Build != nil) {
			if !o.quiet {
				prog.skip(name, "will be built")
			}
			continue
		}
		if svc.PullPolicy == engine.PullPolicyNever {
			if !o.quiet {
				prog.skip(name, "pull_policy is never")
			}
			continue
		}
		if o.policy == engine.PullPolicyMissing {
			if _, err := store.Get(svc.Image); err == nil {
				if !o.quiet {
					prog.skip(name, "image is present")
				}
				continue
			}
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
		prog.add(w.ref, strings.Join(w.services, ", "))
	}
	puller := engine.NewPuller(store, cfg)
	popts := engine.PullOptions{}
	if !o.quiet {
		popts.Progress = prog.event
		prog.run()
	}

	var mu sync.Mutex
	var errs []error
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
			if _, err := puller.Pull(ctx, w.ref, opts); err != nil {
				err = fmt.Errorf("service %s: %w", strings.Join(w.services, ", "), err)
				if !o.quiet {
					prog.fail(w.ref, err)
				}
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	prog.finish()
	if len(errs) == 0 {
		return nil
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	if o.ignoreFailures {
		for _, err := range errs {
			fmt.Fprintf(g.stderr, "WARNING: %v\n", err)
		}
		return nil
	}
	return errors.Join(errs...)
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
