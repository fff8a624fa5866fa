package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

func newCreateCmd(g *globalOptions) *cobra.Command {
	var o upOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [SERVICE...]",
		Short: "Create containers for a service",
		Long:  "Create the project's containers without starting them (up --no-start).",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.detach, o.noStart = true, true
			o.removeOrphansSet = cmd.Flags().Changed("remove-orphans")
			return runUp(cmd.Context(), g, o, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.pull, "pull", "", "Pull images before creating: always, missing, never")
	f.BoolVar(&o.build, "build", false, "Build images before creating containers")
	f.BoolVar(&o.noBuild, "no-build", false, "Don't build an image, even if it's missing")
	f.BoolVar(&o.forceRecreate, "force-recreate", false, "Recreate containers even if nothing changed")
	f.BoolVar(&o.noRecreate, "no-recreate", false, "Don't recreate containers that exist")
	f.BoolVar(&o.removeOrphans, "remove-orphans", false, "Remove containers of services not in the compose file (default: COMPOSE_REMOVE_ORPHANS)")
	f.StringArrayVar(&o.scale, "scale", nil, "Scale SERVICE to NUM instances")
	f.BoolVar(&o.quietPull, "quiet-pull", false, "Pull without printing progress")
	f.BoolVarP(&o.yes, "yes", "y", false, "Accepted for compatibility: berth never prompts")
	return cmd
}

func newTopCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "top [SERVICE...]",
		Short: "Display the running processes",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, args)
			if err != nil {
				return err
			}
			recs, err := eng.Containers(sel.Project)
			if err != nil {
				return err
			}
			for _, r := range recs {
				if len(args) > 0 && !contains(args, r.Service) {
					continue
				}
				st, err := eng.ContainerState(r.ID)
				if err != nil || st.Status != engine.StatusRunning {
					continue
				}
				rt, err := eng.Runtime(ctx, r.Runtime)
				if err != nil {
					return err
				}
				pids, err := rt.Ps(ctx, r.ID)
				if err != nil {
					return fmt.Errorf("top %s: %w", r.Name, err)
				}
				fmt.Fprintln(g.stdout, r.Name)
				tw := tabwriter.NewWriter(g.stdout, 0, 0, 3, ' ', 0)
				fmt.Fprintln(tw, "UID\tPID\tPPID\tSTIME\tCMD")
				for _, pid := range pids {
					uid, ppid, start, cmdline := procInfo(pid)
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", uid, pid, ppid, start, cmdline)
				}
				tw.Flush()
				fmt.Fprintln(g.stdout)
			}
			return nil
		},
	}
}

// procInfo reads what `top` shows of a host process.
func procInfo(pid int) (uid, ppid, start, cmdline string) {
	uid, ppid, start = "?", "?", "?"
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					uid = f[0]
				}
			}
			if v, ok := strings.CutPrefix(line, "PPid:"); ok {
				ppid = strings.TrimSpace(v)
			}
		}
	}
	if st, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		start = st.ModTime().Format("15:04")
	}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		cmdline = strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
	}
	return
}

func newWaitCmd(g *globalOptions) *cobra.Command {
	var downProject bool
	cmd := &cobra.Command{
		Use:   "wait SERVICE [SERVICE...]",
		Short: "Block until containers of the services stop, and print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, args)
			if err != nil {
				return err
			}
			recs, err := eng.Containers(sel.Project)
			if err != nil {
				return err
			}
			var waited []*engine.Container
			for _, r := range recs {
				if contains(args, r.Service) && !r.Oneoff {
					waited = append(waited, r)
				}
			}
			if len(waited) == 0 {
				return fmt.Errorf("no containers for services %s", strings.Join(args, ", "))
			}
			code := 0
			for _, r := range waited {
				st, err := waitExit(ctx, eng.Records, r.ID)
				if err != nil {
					return err
				}
				fmt.Fprintln(g.stdout, strconv.Itoa(st.ExitCode))
				if code == 0 {
					code = st.ExitCode
				}
			}
			if downProject {
				eng2, err := g.newEngine()
				if err != nil {
					return err
				}
				if err := eng2.Down(ctx, sel.Project, sel.P, downOptions()); err != nil {
					return err
				}
			}
			if code != 0 {
				return &exitCodeError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&downProject, "down-project", false, "Drop the project when the first container stops")
	return cmd
}

// waitExit polls a container's state until it has exited.
func waitExit(ctx context.Context, store *engine.Records, id string) (*engine.ContainerState, error) {
	for {
		st, err := store.ContainerState(id)
		if err != nil {
			return nil, err
		}
		if st.Status == engine.StatusExited || st.Status == engine.StatusDead {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
