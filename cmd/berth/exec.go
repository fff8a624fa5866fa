package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

func newExecCmd(g *globalOptions) *cobra.Command {
	var o engine.ExecOptions
	var noTTY, interactive, tty bool
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] SERVICE COMMAND [ARGS...]",
		Short: "Execute a command in a running container",
		Long:  "Execute a command in a running container of a service. The exit code is the command's.",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, nil)
			if err != nil {
				return err
			}
			o.Service, o.Command = args[0], args[1:]
			o.Env = resolveEnvFlags(o.Env, projectLookup(sel.P))
			if !cmd.Flags().Changed("index") {
				o.Index = 0 // any running container, a one-off when it is the only one (as Compose)
			}
			in, out, errw := stdFiles(g)
			o.Stdin, o.Stdout, o.Stderr = in, out, errw
			o.Interactive = interactive
			o.Tty = tty || (!noTTY && !o.Detach && in != nil && isTerminal(in) && out != nil && isTerminal(out))
			code, err := eng.Exec(ctx, sel.Project, o)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitCodeError{code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&o.Detach, "detach", "d", false, "Run the command in the background")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "Set an environment variable (KEY=VALUE, or KEY to take the caller's; left out when unset)")
	f.StringVarP(&o.Workdir, "workdir", "w", "", "Working directory for the command")
	f.StringVarP(&o.User, "user", "u", "", "Run the command as this user")
	f.IntVar(&o.Index, "index", 1, "Index of the container if the service has several replicas")
	f.BoolVar(&o.Privileged, "privileged", false, "Give extended privileges to the process")
	f.BoolVarP(&noTTY, "no-tty", "T", false, "Disable pseudo-TTY allocation (default: auto-detected)")
	f.BoolVar(&noTTY, "no-TTY", false, "The old spelling of --no-tty")
	f.MarkHidden("no-TTY")
	f.BoolVarP(&tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.BoolVarP(&interactive, "interactive", "i", true, "Keep STDIN open even if not attached")
	return cmd
}
