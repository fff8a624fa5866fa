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
)

type buildCmdOptions struct {
	noCache, pull, quiet bool
	push                 bool
	progress             string
	args                 []string
	ssh                  string
	sshSet               bool
}

func newBuildCmd(g *globalOptions) *cobra.Command {
	var o buildCmdOptions
	cmd := &cobra.Command{
		Use:   "build [OPTIONS] [SERVICE...]",
		Short: "Build or rebuild services",
		Long: `Build the images of the services that have a build: section (all of them, or
those named), from their Dockerfiles, into berth's image store. A service's
image is named by its image:, else <project>-<service>. Steps whose inputs did
not change come from the build cache. Independent services build at the same
time (at most one per CPU); a service whose Dockerfile uses another's image, or
names it in additional_contexts (service:NAME), builds after it. build.secrets
and build.ssh reach RUN --mount=type=secret / type=ssh and never a layer.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.sshSet = cmd.Flags().Changed("ssh")
			return runBuild(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noCache, "no-cache", false, "Do not use cache when building the image")
	f.BoolVar(&o.pull, "pull", false, "Always attempt to pull a newer version of the base images")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Don't print anything to stdout")
	f.BoolVar(&o.push, "push", false, "Push service images (those with image:; the others are skipped)")
	f.StringVar(&o.progress, "progress", "auto", "Progress output: auto, tty, plain or quiet")
	f.StringArrayVar(&o.args, "build-arg", nil, "Set build-time variables for services (KEY=VALUE)")
	f.StringVar(&o.ssh, "ssh", "", "Set SSH authentications used when building service images (use 'default' for your SSH agent, or ID=KEYFILE)")
	return cmd
}

// newBuilder opens the builder on berth's image store and build cache.
func (g *globalOptions) newBuilder() (*engine.Builder, error) {
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
	var ssh map[string]engine.BuildSSHSource
	if o.sshSet {
		id, src, err := engine.ParseBuildSSHSpec(o.ssh)
		if err != nil {
			return err
		}
		ssh = map[string]engine.BuildSSHSource{id: src}
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
	if _, err = eng.Build(ctx, p, services, engine.BuildOptions{NoCache: o.noCache, Pull: o.pull, Args: args, SSH: ssh}); err != nil || !o.push {
		return err
	}
	return runPush(ctx, g, pushCmdOptions{quiet: o.quiet}, services)
}

func newImageBuildCmd(g *globalOptions) *cobra.Command {
	var (
		o        engine.ImageBuildOptions
		args     []string
		q        bool
		progress string
		secrets  []string
		sshs     []string
		contexts []string
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
			if err := imageBuildExtras(&o, secrets, sshs, contexts); err != nil {
				return err
			}
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
	f.StringArrayVar(&secrets, "secret", nil, "Secret to expose to the build: id=ID[,src=FILE|,env=VAR]")
	f.StringArrayVar(&sshs, "ssh", nil, "SSH agent socket or keys to expose to the build: default|ID[=SOCKET|KEY[,KEY]]")
	f.StringArrayVar(&contexts, "build-context", nil, "Additional build context: NAME=DIR or NAME=docker-image://REF")
	f.BoolVarP(&q, "quiet", "q", false, "Print only the image ID")
	f.StringVar(&progress, "progress", "auto", "Progress output: auto, tty, plain or quiet")
	return cmd
}

// imageBuildExtras adds image build's --secret, --ssh and --build-context
// to o.
func imageBuildExtras(o *engine.ImageBuildOptions, secrets, sshs, contexts []string) error {
	for _, spec := range secrets {
		id, s, err := engine.ParseBuildSecretSpec(spec, lookupEnv)
		if err != nil {
			return err
		}
		if o.Secrets == nil {
			o.Secrets = map[string]engine.BuildSecret{}
		}
		o.Secrets[id] = s
	}
	for _, spec := range sshs {
		id, s, err := engine.ParseBuildSSHSpec(spec)
		if err != nil {
			return err
		}
		if o.SSH == nil {
			o.SSH = map[string]engine.BuildSSHSource{}
		}
		o.SSH[id] = s
	}
	for _, kv := range contexts {
		name, v, ok := strings.Cut(kv, "=")
		if !ok || name == "" || v == "" {
			return fmt.Errorf("--build-context %q: want NAME=DIR or NAME=docker-image://REF", kv)
		}
		if !strings.Contains(v, "://") {
			abs, err := filepath.Abs(v)
			if err != nil {
				return err
			}
			v = abs
		}
		if o.Contexts == nil {
			o.Contexts = map[string]string{}
		}
		o.Contexts[name] = v
	}
	return nil
}

// lookupEnv reads a bare --build-arg KEY from the environment.
func lookupEnv(k string) (string, bool) { return os.LookupEnv(k) }

// buildPrinter shows build steps like BuildKit: on a pipe its plain
// progress ("#3 [2/5] RUN make", output lines, "#3 DONE 1.2s"); on a
// terminal each step is one line that ends with CACHED or its time once
// done, with the step's output (dimmed) under it while it runs. Builds of
// several services (which run at once) share it: their steps are numbered
// in one sequence and titled with the service, as Compose's plain
// progress does ("#7 [web builder 2/5] RUN make", "#9 [web] exporting to
// image").
type buildPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	color bool
	open  int // step whose title ends the current line (tty), 0: none
	seq   int // last step number shown (serviceStep)
	ids   map[serviceStepID]int
}

type serviceStepID struct {
	service string
	id      int
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

// serviceStep shows a step of a service's build, renumbered in the
// printer's sequence and titled with the service.
func (p *buildPrinter) serviceStep(service string, s engine.BuildStep) {
	p.mu.Lock()
	if p.ids == nil {
		p.ids = map[serviceStepID]int{}
	}
	k := serviceStepID{service, s.ID}
	id, ok := p.ids[k]
	if !ok {
		p.seq++
		id = p.seq
		p.ids[k] = id
	}
	p.mu.Unlock()
	s.ID = id
	if s.Index == 0 {
		s.Instruction = "[" + service + "] " + s.Instruction
	} else {
		s.Stage = strings.TrimSpace(service + " " + s.Stage)
	}
	p.step(s)
}

func (p *buildPrinter) closeLine() {
	if p.open != 0 {
		fmt.Fprintln(p.w)
		p.open = 0
	}
}

func (p *buildPrinter) step(s engine.BuildStep) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		fmt.Fprintln(p.w, s.String())
		return
	}
	switch s.Status {
	case engine.BuildStatusStarted:
		p.closeLine()
		fmt.Fprintf(p.w, "#%d %s", s.ID, s.Title())
		p.open = s.ID
	case engine.BuildStatusOutput:
		p.closeLine()
		if p.color {
			fmt.Fprintf(p.w, "\x1b[2m   %s\x1b[0m\n", s.Line)
		} else {
			fmt.Fprintf(p.w, "   %s\n", s.Line)
		}
	default:
		mark := ""
		switch s.Status {
		case engine.BuildStatusCached:
			mark = "CACHED"
		case engine.BuildStatusDone:
			mark = fmt.Sprintf("%.1fs", s.Elapsed.Seconds())
		case engine.BuildStatusError:
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
