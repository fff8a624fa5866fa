package main

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	wants, skips := planPulls(p, names, o, func(ref string) bool { return presentNotLatest(store, ref) })
	if !o.quiet {
		for _, s := range skips {
			prog.skip(s.label, s.why)
		}
	}
	for _, w := range wants {
		prog.add(w.ref, "Image "+w.ref)
	}
	puller := engine.NewPuller(store, cfg)
	popts := engine.PullOptions{}
	if !o.quiet {
		popts.Progress = prog.event
		prog.run()
	}
	var res pullOutcome
	pullEach(wants, 8, func(w *pullWant) { // images at once; each pulls its layers in parallel too
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
		res.record(p, w, err, o.ignoreFailures)
	})
	prog.finish()
	return res.report(g.stderr)
}

// pullSkip is a service (or image) pull leaves alone, and why.
type pullSkip struct{ label, why string }

// planPulls sorts the named services into the distinct images to pull
// (image and platform, in the services' order) and those skipped, as
// Compose: no image, built, pull_policy: never, or (policy missing) an
// image present under a tag other than latest.
func planPulls(p *types.Project, names []string, o pullCmdOptions, present func(ref string) bool) ([]*pullWant, []pullSkip) {
	var wants []*pullWant
	var skips []pullSkip
	byKey := map[string]*pullWant{}
	for _, name := range names {
		svc := p.Services[name]
		switch {
		case svc.Image == "":
			skips = append(skips, pullSkip{name, "No image to be pulled"})
			continue
		case svc.PullPolicy == engine.PullPolicyBuild || (o.ignoreBuildable && svc.Build != nil):
			skips = append(skips, pullSkip{name, "Image will be built"})
			continue
		case svc.PullPolicy == engine.PullPolicyNever:
			skips = append(skips, pullSkip{svc.Image, "Image is never pulled (pull_policy: never)"})
			continue
		}
		policy := svc.PullPolicy
		if o.policy != "" {
			policy = o.policy
		}
		if (policy == engine.PullPolicyMissing || policy == "if_not_present") && present(svc.Image) {
			skips = append(skips, pullSkip{svc.Image, "Image is already present locally"})
			continue
		}
		key := svc.Image + "\x00" + svc.Platform
		w := byKey[key]
		if w == nil {
			w = &pullWant{ref: svc.Image, platform: svc.Platform}
			byKey[key] = w
			wants = append(wants, w)
		}
		w.services = append(w.services, name)
	}
	return wants, skips
}

// pullEach runs pull for every want, at most limit at once, and waits.
func pullEach(wants []*pullWant, limit int, pull func(*pullWant)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, limit)
	for _, w := range wants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			pull(w)
		}()
	}
	wg.Wait()
}

// pullOutcome gathers the failed pulls, from any goroutine.
type pullOutcome struct {
	mu             sync.Mutex
	errs, warnings []error
	mustBuild      []string
}

// record files the failed pull of w: as Compose, a service that can be
// built is not failed by its pull, and is named in the build hint;
// --ignore-pull-failures makes the rest warnings.
func (r *pullOutcome) record(p *types.Project, w *pullWant, err error, ignoreFailures bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	buildable := true
	for _, name := range w.services {
		if p.Services[name].Build == nil {
			buildable = false
		} else {
			r.mustBuild = append(r.mustBuild, name)
		}
	}
	switch {
	case buildable:
	case ignoreFailures:
		r.warnings = append(r.warnings, err)
	default:
		r.errs = append(r.errs, err)
	}
}

// report prints the warnings, then the build hint, to w, and returns
// the errors joined; each list sorted, so the output is stable.
func (r *pullOutcome) report(w io.Writer) error {
	sortErrors(r.warnings)
	for _, err := range r.warnings {
		fmt.Fprintf(w, "WARNING: %v\n", err)
	}
	if len(r.mustBuild) > 0 {
		sort.Strings(r.mustBuild)
		fmt.Fprintf(w, "WARNING: Some service image(s) must be built from source by running:\n    berth build %s\n", strings.Join(r.mustBuild, " "))
	}
	sortErrors(r.errs)
	return errors.Join(r.errs...)
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
