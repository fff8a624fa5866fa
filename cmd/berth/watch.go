package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

type watchOptions struct {
	noUp  bool
	prune bool
	quiet bool
}

func newWatchCmd(g *globalOptions) *cobra.Command {
	var o watchOptions
	cmd := &cobra.Command{
		Use:   "watch [SERVICE...]",
		Short: "Watch the build context of services and update their containers as files change",
		Long: `Bring the services up (unless --no-up), then watch the paths of their
develop.watch rules and apply each batch of changes: sync files straight
into the running containers, restart them, run their exec hooks, or
rebuild the image and recreate the service. Ctrl-C stops watching and
leaves the containers running.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWatch(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.noUp, "no-up", false, "Do not build and start the services before watching")
	f.BoolVar(&o.prune, "prune", false, "Remove the image a rebuild replaced when nothing uses it any more")
	f.BoolVar(&o.quiet, "quiet", false, "Hide build output")
	return cmd
}

func runWatch(ctx context.Context, g *globalOptions, o watchOptions, services []string) error {
	p, err := g.loadProject(ctx, naming(services...))
	if err != nil {
		return err
	}
	var extra []engine.Opt
	if o.quiet {
		extra = append(extra, engine.WithBuildProgress(func(string, engine.BuildStep) {}))
	}
	eng, err := g.newEngine(extra...)
	if err != nil {
		return err
	}
	wo := watchEngineOptions(g, services, o.prune)
	if !o.noUp {
		if _, err := eng.Up(ctx, p, engine.UpOptions{Services: services, Build: engine.BuildMissing}); err != nil {
			if ctx.Err() != nil {
				return &exitCodeError{code: 130, err: errors.New("interrupted")}
			}
			return err
		}
	}
	return eng.Watch(ctx, p, wo)
}

// watchEngineOptions are the watch settings shared by `watch` and `up
// --watch`: messages go to stdout, one line each; warnings to stderr, as
// Compose logs them.
func watchEngineOptions(g *globalOptions, services []string, prune bool) engine.WatchOptions {
	var mu sync.Mutex
	return engine.WatchOptions{
		Services: services,
		Prune:    prune,
		Log: func(msg string) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintln(g.stdout, msg)
		},
		Warn: func(msg string) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintln(g.stderr, "WARNING: "+msg)
		},
	}
}

// startUpWatch runs the watch of `up --watch` beside the attached logs;
// it ends with ctx (Ctrl-C ends both). The returned func waits for it.
func startUpWatch(ctx context.Context, g *globalOptions, eng *engine.Engine, p *types.Project, services []string) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := eng.Watch(ctx, p, watchEngineOptions(g, services, false)); err != nil {
			fmt.Fprintf(g.stderr, "berth: watch: %v\n", err)
		}
	}()
	return func() { cancel(); <-done }
}
