package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/engine/build"
)

type buildCmdOptions struct {
	noCache, pull, quiet bool
	progress             string
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
	f.StringVar(&o.progress, "progress", "auto", "Progress output: auto, tty, plain or quiet")
	f.StringArrayVar(&o.args, "build-arg", nil, "Set build-time variables for services (KEY=VALUE)")
	return cmd
}

// newBuilder opens the builder on berth's image store and build cache.
func (g *globalOptions) newBuilder() (*build.Builder, error) {
	e, err := g.newEngine()
	if err != nil {
		return nil, err
	}
	return e.Builder()
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
	p, err := g.loadProject(ctx, naming(services...))
	if err != nil {
		return err
	}
	args, err := parseBuildArgs(o.args, lookupEnv)
	if err != nil {
		return err
	}
	if err := checkProgress(o.progress); err != nil {
		return err
	}
	var opts []engine.Opt
	if o.quiet || o.progress == "quiet" {
		opts = append(opts, engine.WithBuildProgress(nil), engine.WithProgress(func(engine.Event) {}))
	} else {
		opts = append(opts, engine.WithBuildProgress(newBuildPrinter(g.stderr, g.noColor, o.progress).serviceStep))
	}
	eng, err := g.newEngine(opts...)
	if err != nil {
		return err
	}
	_, err = eng.Build(ctx, p, services, engine.BuildOptions{NoCache: o.noCache, Pull: o.pull, Args: args})
	return err
}

func newImageBuildCmd(g *globalOptions) *cobra.Command {
	var (
		o        build.Options
		args     []string
		q        bool
		progress string
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
			if err := checkProgress(progress); err != nil {
				return err
			}
			if !q && progress != "quiet" {
				o.Progress = newBuildPrinter(g.stderr, g.noColor, progress).step
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
	f.StringVar(&o.Network, "network", "", "Network of RUN steps: default (a bridge of the build's own), host or none")
	f.BoolVarP(&q, "quiet", "q", false, "Print only the image ID")
	f.StringVar(&progress, "progress", "auto", "Progress output: auto, tty, plain or quiet")
	return cmd
}

// lookupEnv reads a bare --build-arg KEY from the environment.
func lookupEnv(k string) (string, bool) { return os.LookupEnv(k) }

// buildPrinter shows build steps like BuildKit: on a pipe its plain
// progress ("#3 [2/5] RUN make", output lines, "#3 DONE 1.2s"); on a
// terminal each step is one line that ends with CACHED or its time once
// done, with the step's output (dimmed) under it while it runs.
type buildPrinter struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	color   bool
	open    int    // step whose title ends the current line (tty), 0: none
	service string // service of the last step shown
}

// checkProgress validates a --progress value.
func checkProgress(mode string) error {
	switch mode {
	case "auto", "tty", "plain", "quiet":
		return nil
	}
	return fmt.Errorf("--progress %q: want auto, tty, plain or quiet", mode)
}

// newBuildPrinter prints to w: as on a terminal when mode is "tty" (or
// "auto" and w is one), else plainly.
func newBuildPrinter(w io.Writer, noColor bool, mode string) *buildPrinter {
	tty := mode == "tty" || (mode == "auto" && isTerminalWriter(w))
	return &buildPrinter{w: w, tty: tty, color: tty && !noColor && os.Getenv("NO_COLOR") == ""}
}

// serviceStep shows a step of a service's build (the engine's "Service X
// Building" line heads each build).
func (p *buildPrinter) serviceStep(service string, s build.Step) {
	p.mu.Lock()
	if service != p.service {
		p.closeLine()
		p.service = service
	}
	p.mu.Unlock()
	p.step(s)
}

func (p *buildPrinter) closeLine() {
	if p.open != 0 {
		fmt.Fprintln(p.w)
		p.open = 0
	}
}

func (p *buildPrinter) step(s build.Step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		fmt.Fprintln(p.w, s.String())
		return
	}
	switch s.Status {
	case build.StatusStarted:
		p.closeLine()
		fmt.Fprintf(p.w, "#%d %s", s.ID, s.Title())
		p.open = s.ID
	case build.StatusOutput:
		p.closeLine()
		if p.color {
			fmt.Fprintf(p.w, "\x1b[2m   %s\x1b[0m\n", s.Line)
		} else {
			fmt.Fprintf(p.w, "   %s\n", s.Line)
		}
	default:
		mark := ""
		switch s.Status {
		case build.StatusCached:
			mark = "CACHED"
		case build.StatusDone:
			mark = fmt.Sprintf("%.1fs", s.Elapsed.Seconds())
		case build.StatusError:
			mark = "ERROR"
		}
		if p.open == s.ID {
			fmt.Fprintf(p.w, "  %s\n", mark)
		} else {
			p.closeLine()
			fmt.Fprintf(p.w, "#%d %s  %s\n", s.ID, s.Title(), mark)
		}
		p.open = 0
	}
}

func newBuilderCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "builder",
		Short: "Manage the build cache",
	}
	var all, force bool
	prune := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove the build cache",
		Long: `Remove the build cache: the cached results of build steps (the next build
runs every step again) and leftovers of interrupted builds; with --all also
the contents of RUN --mount=type=cache mounts. Built images stay.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := g.newBuilder()
			if err != nil {
				return err
			}
			rep, err := b.Prune(cmd.Context(), all)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Deleted build cache entries: %d\nTotal reclaimed space: %s\n", rep.Entries, units.HumanSize(float64(rep.Reclaimed)))
			return nil
		},
	}
	prune.Flags().BoolVarP(&all, "all", "a", false, "Also empty the cache mounts of RUN --mount=type=cache")
	prune.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation (berth never prompts)")
	cmd.AddCommand(prune)
	return cmd
}
