package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/project"
)

// projectSelection loads the project (when a compose file is there) or
// falls back to the -p name alone, for commands that act on existing
// containers. As Compose, they read no env_file: the containers have
// their environment already.
func (g *globalOptions) projectSelection(ctx context.Context, services []string) (engine.Selection, error) {
	p, err := g.loadProject(ctx, naming(services...), unresolvedEnv)
	if err != nil {
		if g.projectName != "" && isNoFile(err) {
			return engine.Selection{Project: g.projectName, Services: services}, nil
		}
		return engine.Selection{}, err
	}
	return engine.Selection{Project: p.Name, P: p, Services: services}, nil
}

// knownServices fails with Compose's "no such service" for the first
// service sel names that its project does not define (a selection made
// without a compose file, by --project-name alone, checks nothing).
func knownServices(sel engine.Selection) error {
	if sel.P == nil {
		return nil
	}
	for _, s := range sel.Services {
		if _, ok := sel.P.Services[s]; !ok {
			return fmt.Errorf("no such service: %s", s)
		}
	}
	return nil
}

func isNoFile(err error) bool {
	_, ok := err.(*project.NoFileError)
	return ok
}

func timeoutFlag(cmd *cobra.Command, secs int) *time.Duration {
	if !cmd.Flags().Changed("timeout") {
		return nil
	}
	t := time.Duration(secs) * time.Second
	return &t
}

func newDownCmd(g *globalOptions) *cobra.Command {
	var o engine.DownOptions
	var timeout int
	var rmi string
	cmd := &cobra.Command{
		Use:   "down [OPTIONS] [SERVICE...]",
		Short: "Stop and remove containers, networks",
		Long: `Stop and remove the project's containers (in reverse dependency order) and
networks. Named volumes stay unless -v is given. With SERVICE..., only
those services' containers and their dependents' go; networks and volumes
go once nothing of the project is left.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			o.Timeout = timeoutFlag(cmd, timeout)
			o.Services = args
			if rmi != "" && rmi != "local" && rmi != "all" {
				return fmt.Errorf("invalid value for --rmi: %q (want local or all)", rmi)
			}
			sel, err := g.projectSelection(ctx, nil)
			if err != nil {
				return err
			}
			if rmi != "" && sel.P == nil {
				return errors.New("--rmi needs the compose file: it names the images")
			}
			if !cmd.Flags().Changed("remove-orphans") {
				o.RemoveOrphans = composeEnvOf(sel.P).removeOrphans
			}
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			if err := eng.Down(ctx, sel.Project, sel.P, o); err != nil || rmi == "" {
				return err
			}
			return removeDownImages(ctx, g, sel.P, rmi, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&rmi, "rmi", "", `Remove images used by services: "local" those built without an image: name, "all" every service's`)
	f.BoolVarP(&o.Volumes, "volumes", "v", false, "Remove named volumes declared in the volumes section and anonymous volumes")
	f.BoolVar(&o.RemoveOrphans, "remove-orphans", false, "Remove containers of services not defined in the compose file (default: COMPOSE_REMOVE_ORPHANS)")
	f.IntVarP(&timeout, "timeout", "t", 0, "Seconds to wait for each container to stop before killing it (default: its stop_grace_period, else 10)")
	return cmd
}

func downOptions() engine.DownOptions { return engine.DownOptions{} }

func newStopCmd(g *globalOptions) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "stop [SERVICE...]",
		Short: "Stop services",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, args)
			if err != nil {
				return err
			}
			return eng.Stop(ctx, sel, timeoutFlag(cmd, timeout))
		},
	}
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 0, "Seconds to wait before killing (default: stop_grace_period, else 10)")
	return cmd
}

func newStartCmd(g *globalOptions) *cobra.Command {
	var wait bool
	var waitTimeout int
	cmd := &cobra.Command{
		Use:   "start [SERVICE...]",
		Short: "Start services",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, args)
			if err != nil {
				return err
			}
			if err := eng.Start(ctx, sel); err != nil || !wait {
				return err
			}
			if sel.P == nil {
				return errors.New("--wait needs the compose file (its healthchecks and dependencies)")
			}
			wo := engine.WaitOptions{Services: args}
			if waitTimeout > 0 {
				wo.Timeout = time.Duration(waitTimeout) * time.Second
			}
			return eng.Wait(ctx, sel.P, wo)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "Wait for services to be running and healthy")
	cmd.Flags().IntVar(&waitTimeout, "wait-timeout", 0, "Maximum seconds to wait with --wait (default: no limit)")
	return cmd
}

func newRestartCmd(g *globalOptions) *cobra.Command {
	var timeout int
	cmd := &cobra.Command{
		Use:   "restart [SERVICE...]",
		Short: "Restart service containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, args)
			if err != nil {
				return err
			}
			return eng.Restart(ctx, sel, timeoutFlag(cmd, timeout))
		},
	}
	cmd.Flags().IntVarP(&timeout, "timeout", "t", 0, "Seconds to wait before killing (default: stop_grace_period, else 10)")
	return cmd
}

func newKillCmd(g *globalOptions) *cobra.Command {
	var signal string
	var removeOrphans bool
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] [SERVICE...]",
		Short: "Force stop service containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, args)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("remove-orphans") {
				removeOrphans = composeEnvOf(sel.P).removeOrphans
			}
			if len(args) == 0 && sel.P != nil && !removeOrphans {
				// as docker compose: orphans only with --remove-orphans
				if sel.Services = project.ServiceNames(sel.P); len(sel.Services) == 0 {
					return nil
				}
			}
			return eng.Kill(ctx, sel, signal)
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "SIGKILL", "Signal to send to the containers")
	cmd.Flags().BoolVar(&removeOrphans, "remove-orphans", false, "Also kill containers of services not in the compose file (default: COMPOSE_REMOVE_ORPHANS)")
	return cmd
}

func newRmCmd(g *globalOptions) *cobra.Command {
	var force, stop, volumes bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] [SERVICE...]",
		Short: "Remove stopped service containers",
		Long: `Remove stopped service containers. Running containers are left alone unless
-s stops them first. Anonymous volumes go with -v.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, args)
			if err != nil {
				return err
			}
			sel.All = true
			removed, err := eng.Remove(ctx, sel, stop, volumes)
			if len(removed) == 0 && err == nil {
				fmt.Fprintln(g.stderr, "No stopped containers")
			}
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&force, "force", "f", false, "Don't ask to confirm removal (berth never asks)")
	f.BoolVarP(&stop, "stop", "s", false, "Stop the containers, if required, before removing")
	f.BoolVarP(&volumes, "volumes", "v", false, "Remove anonymous volumes attached to containers")
	return cmd
}

func newPauseCmd(g *globalOptions) *cobra.Command   { return pauseCmd(g, true) }
func newUnpauseCmd(g *globalOptions) *cobra.Command { return pauseCmd(g, false) }

func pauseCmd(g *globalOptions, pause bool) *cobra.Command {
	use, short := "pause [SERVICE...]", "Pause services"
	if !pause {
		use, short = "unpause [SERVICE...]", "Unpause services"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, args)
			if err != nil {
				return err
			}
			return eng.Pause(ctx, sel, pause)
		},
	}
}

func (g *globalOptions) selectionAndEngine(ctx context.Context, services []string) (engine.Selection, *engine.Engine, error) {
	sel, err := g.projectSelection(ctx, services)
	if err != nil {
		return sel, nil, err
	}
	eng, err := g.newEngine()
	return sel, eng, err
}
