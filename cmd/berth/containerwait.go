package main

import (
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

func newContainerWaitCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			var errs []error
			for _, a := range args {
				rec, err := eng.ContainerByRef(a)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", a, err))
					continue
				}
				st, err := waitExit(cmd.Context(), eng.Records, rec.ID)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", a, err))
					continue
				}
				fmt.Fprintln(g.stdout, st.ExitCode)
			}
			return errors.Join(errs...)
		},
	}
}

func newContainerPauseCmd(g *globalOptions, pause bool) *cobra.Command {
	use, short := "pause CONTAINER [CONTAINER...]", "Pause all processes within one or more containers"
	if !pause {
		use, short = "unpause CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(g, args, func(eng *engine.Engine, rec *engine.Container) error {
				return eng.PauseContainer(cmd.Context(), rec, pause)
			})
		},
	}
}

func newContainerCpCmd(g *globalOptions) *cobra.Command {
	var o engine.ArchiveOptions
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH | SRC_PATH CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, srcPath, fromContainer := splitServicePath(args[0])
			to, dstPath, toContainer := splitServicePath(args[1])
			switch {
			case fromContainer && toContainer:
				return errors.New("cp: copying between containers is not supported")
			case !fromContainer && !toContainer:
				return errors.New("cp: one of the paths must be CONTAINER:PATH")
			case srcPath == "-" || dstPath == "-":
				return errors.New("cp: streaming a tar archive through - is not supported")
			}
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			ref := from
			if toContainer {
				ref = to
			}
			rec, err := eng.ContainerByRef(ref)
			if err != nil {
				return err
			}
			return eng.CopyContainer(cmd.Context(), rec, toContainer, srcPath, dstPath, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.KeepOwner, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	f.BoolVarP(&o.FollowLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	return cmd
}

func newContainerTopCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "top CONTAINER",
		Short: "Display the running processes of a container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			rec, err := eng.ContainerByRef(args[0])
			if err != nil {
				return err
			}
			if st, err := eng.ContainerState(rec.ID); err != nil || st.Status != engine.StatusRunning {
				return fmt.Errorf("container %s is not running", rec.Name)
			}
			rt, err := eng.Runtime(ctx, rec.Runtime)
			if err != nil {
				return err
			}
			pids, err := rt.Ps(ctx, rec.ID)
			if err != nil {
				return fmt.Errorf("top %s: %w", rec.Name, err)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 3, ' ', 0)
			fmt.Fprintln(tw, "UID\tPID\tPPID\tSTIME\tCMD")
			for _, pid := range pids {
				uid, ppid, start, cmdline := procInfo(pid)
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", uid, pid, ppid, start, cmdline)
			}
			return tw.Flush()
		},
	}
}

func newContainerStatsCmd(g *globalOptions) *cobra.Command {
	var all, noStream, noTrunc bool
	var format string
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [CONTAINER...]",
		Short: "Display a live stream of container(s) resource usage statistics",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			ids := map[string]bool{}
			for _, a := range args {
				rec, err := eng.ContainerByRef(a)
				if err != nil {
					return err
				}
				ids[rec.ID] = true
			}
			pr, err := newStatsPrinter(g.stdout, format, noTrunc)
			if err != nil {
				return err
			}
			pick := func(rows []engine.ContainerStats) []engine.ContainerStats {
				if len(ids) == 0 {
					return rows
				}
				var out []engine.ContainerStats
				for _, r := range rows {
					if ids[r.ID] {
						out = append(out, r)
					}
				}
				return out
			}
			// every project's containers ("" lists them all)
			o := engine.StatsOptions{All: all || len(args) > 0}
			if noStream {
				rows, err := eng.Stats(ctx, "", o)
				if err != nil {
					return err
				}
				return pr.print(pick(rows))
			}
			f, ok := g.stdout.(*os.File)
			pr.clear = ok && isTerminal(f) && pr.tmpl == nil && !pr.json
			return eng.StatsStream(ctx, "", o, func(rows []engine.ContainerStats) error { return pr.print(pick(rows)) })
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&all, "all", "a", false, "Show all containers (default shows just running)")
	fl.BoolVar(&noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	fl.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate output")
	fl.StringVar(&format, "format", "table", "Format output: table, json, or a Go template")
	return cmd
}

func newContainerAttachCmd(g *globalOptions) *cobra.Command {
	var o engine.AttachContainerOptions
	var noStdin bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] CONTAINER",
		Short: "Attach local standard input, output, and error streams to a running container",
		Long: `Attach to a running container: its output from now on, and this terminal's
input streamed to its stdin when it runs with -i. Ctrl-C sends it SIGINT
(--sig-proxy, the default) or detaches (--sig-proxy=false); a second Ctrl-C
detaches. The exit code is the container's when it exits while attached.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			rec, err := eng.ContainerByRef(args[0])
			if err != nil {
				return err
			}
			if rec.Oneoff {
				return fmt.Errorf("cannot attach to %s: it runs in the foreground of the command that started it", rec.Name)
			}
			o.Service, o.Index = rec.Service, rec.Number
			if !noStdin && g.stdin != nil {
				o.Stdin = g.stdin
			}
			o.Stdout, o.Stderr = g.stdout, g.stderr
			o.Detach = forceContext(ctx)
			code, err := eng.AttachContainer(ctx, rec.Project, o)
			if err != nil {
				return err
			}
			if code > 0 {
				return &exitCodeError{code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&noStdin, "no-stdin", false, "Do not attach STDIN")
	f.BoolVar(&o.SigProxy, "sig-proxy", true, "Proxy received signals to the process")
	f.StringVar(&detachKeys, "detach-keys", "", "Accepted for compatibility: Ctrl-C detaches with --sig-proxy=false")
	return cmd
}

func newContainerRenameCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			return eng.RenameContainer(cmd.Context(), args[0], args[1])
		},
	}
}
