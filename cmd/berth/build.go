package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/state"
)

type buildCmdOptions struct {
	noCache, pull, quiet bool
	args                 []string
}

func newBuildCmd(g *globalOptions) *cobra.Command {
	var o buildCmdOptions
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] [SERVICE...]",
		Short: "Build or rebuild services",
		Long: `Build the images of the services that have a build: section (all of them, or
those named), from their Dockerfiles, into berth's image store. A service's
image is named by its image:, else <project>-<service>. Steps whose inputs did
not change come from the build cache. RUN steps use the host's network unless
the build says network: none.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuild(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noCache, "no-cache", false, "Do not use cache when building the image")
	f.BoolVar(&o.pull, "pull", false, "Always attempt to pull a newer version of the base images")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Don't print anything to stdout")
	f.StringArrayVar(&o.args, "build-arg", nil, "Set build-time variables for services (KEY=VALUE)")
	return cmd
}

// newBuilder opens the builder on berth's image store and build cache.
func (g *globalOptions) newBuilder() (*build.Builder, error) {
	e, err := g.newEngine()
	if err != nil {
		return nil, err
	}
	rt := func(ctx context.Context) (runtime.Runtime, error) { return e.Runtime(ctx, "") }
	return build.New(e.Images(), rt, filepath.Join(state.Root(), "build-cache"))
}

// parseBuildArgs turns KEY=VALUE flags into build args; a bare KEY takes
// its value from the environment (as docker build), or is dropped.
func parseBuildArgs(list []string, lookup func(string) (string, bool)) (map[string]*string, error) {
	out := map[string]*string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("--build-arg %q: want KEY=VALUE", kv)
		}
		if !ok {
			var found bool
			if v, found = lookup(k); !found {
				continue
			}
		}
		out[k] = &v
	}
	return out, nil
}

func runBuild(ctx context.Context, g *globalOptions, o buildCmdOptions, services []string) error {
	p, err := g.loadProject(ctx)
	if err != nil {
		return err
	}
	args, err := parseBuildArgs(o.args, lookupEnv)
	if err != nil {
		return err
	}
	var names []string
	if len(services) == 0 {
		for name, svc := range p.Services {
			if svc.Build != nil {
				names = append(names, name)
			}
		}
		sort.Strings(names)
	} else {
		for _, s := range services {
			svc, ok := p.Services[s]
			if !ok {
				return fmt.Errorf("no such service: %s", s)
			}
			if svc.Build == nil {
				return fmt.Errorf("service %q has no build section", s)
			}
			names = append(names, s)
		}
	}
	b, err := g.newBuilder()
	if err != nil {
		return err
	}
	pr := &buildPrinter{w: g.stderr}
	for _, name := range names {
		svc := p.Services[name]
		opts, err := build.ServiceOptions(p, svc, o.noCache, o.pull, nil)
		if err != nil {
			return err
		}
		for k, v := range args {
			opts.Args[k] = v
		}
		if !o.quiet {
			pr.prefix = name
			opts.Progress = pr.step
			fmt.Fprintf(g.stderr, "Building %s\n", name)
		}
		img, err := b.Build(ctx, opts)
		if err != nil {
			return fmt.Errorf("service %q: build: %w", name, err)
		}
		if !o.quiet {
			fmt.Fprintf(g.stderr, " ✔ Service %s  Built (%s)\n", name, shortImageID(img.ID()))
		}
	}
	return nil
}

func newImageBuildCmd(g *globalOptions) *cobra.Command {
	var (
		o    build.Options
		args []string
		q    bool
	)
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] CONTEXT",
		Short: "Build an image from a Dockerfile",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, pos []string) error {
			var err error
			if o.Args, err = parseBuildArgs(args, lookupEnv); err != nil {
				return err
			}
			o.ContextDir = pos[0]
			if o.Dockerfile != "" && !filepath.IsAbs(o.Dockerfile) {
				// -f is relative to the working directory, as docker build's
				abs, err := filepath.Abs(o.Dockerfile)
				if err != nil {
					return err
				}
				o.Dockerfile = abs
			}
			if !q {
				o.Progress = (&buildPrinter{w: g.stderr}).step
			}
			b, err := g.newBuilder()
			if err != nil {
				return err
			}
			img, err := b.Build(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, img.ID())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.Tags, "tag", "t", nil, "Name and optionally a tag (name:tag)")
	f.StringVarP(&o.Dockerfile, "file", "f", "", "Name of the Dockerfile (default: CONTEXT/Dockerfile)")
	f.StringArrayVar(&args, "build-arg", nil, "Set build-time variables (KEY=VALUE)")
	f.StringVar(&o.Target, "target", "", "Set the target build stage to build")
	f.BoolVar(&o.NoCache, "no-cache", false, "Do not use cache when building the image")
	f.BoolVar(&o.Pull, "pull", false, "Always attempt to pull a newer version of the base images")
	f.StringVar(&o.Network, "network", "", "Network of RUN steps: default (the host's), host or none")
	f.BoolVarP(&q, "quiet", "q", false, "Print only the image ID")
	return cmd
}

// lookupEnv reads a bare --build-arg KEY from the environment.
func lookupEnv(k string) (string, bool) { return os.LookupEnv(k) }

// buildPrinter prints build steps plainly, as BuildKit's --progress=plain.
type buildPrinter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *buildPrinter) step(s build.Step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, s.String())
}
