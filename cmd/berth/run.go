package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mattn/go-shellwords"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

func newRunCmd(g *globalOptions) *cobra.Command {
	var o engine.RunOptions
	var entrypoint string
	var labels, envFiles []string
	var noTTY, interactive, tty, build, quietPull bool
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] SERVICE [COMMAND] [ARGS...]",
		Short: "Run a one-off command on a service",
		Long: `Run a one-off command in a new container of a service, after starting the
services it depends on (unless --no-deps). The exit code is the command's.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			p, err := g.loadProject(ctx, naming(args[0]))
			if err != nil {
				return err
			}
			o.Service = args[0]
			o.Env = resolveEnvFlags(o.Env, projectLookup(p))
			if o.Env, err = envFromFiles(o.Env, envFiles); err != nil {
				return err
			}
			o.Build = buildMode(build, false)
			if len(args) > 1 {
				o.Command = args[1:]
			}
			if cmd.Flags().Changed("entrypoint") {
				ep, err := shellwords.Parse(entrypoint)
				if err != nil {
					return fmt.Errorf("--entrypoint %q: %w", entrypoint, err)
				}
				o.Entrypoint = ep
				if o.Entrypoint == nil {
					o.Entrypoint = []string{}
				}
			}
			o.Labels = map[string]string{}
			for _, l := range labels {
				k, v, _ := strings.Cut(l, "=")
				o.Labels[k] = v
			}
			in, out, errw := stdFiles(g)
			o.Stdin, o.Stdout, o.Stderr = in, out, errw
			// Detached, stdin is kept open but not attached (`cat` waits),
			// as with docker compose run -d.
			o.Interactive = interactive
			// A terminal is allocated when stdin is one, as docker compose
			// does, unless -T; -t (or -T=false) forces it, which needs a
			// terminal on stdin.
			forceTTY := tty || (cmd.Flags().Changed("no-TTY") && !noTTY)
			if forceTTY && !o.Detach && interactive && (in == nil || !isTerminal(in)) {
				return errors.New("cannot attach stdin to a TTY-enabled container because stdin is not a terminal")
			}
			o.Tty = forceTTY || (!noTTY && !o.Detach && in != nil && isTerminal(in) && out != nil && isTerminal(out))
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			res, err := eng.Run(ctx, p, &o)
			if err != nil {
				return err
			}
			if o.Detach {
				fmt.Fprintln(g.stdout, res.Container)
			}
			if res.ExitCode != 0 {
				return &exitCodeError{code: res.ExitCode}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVar(&o.Remove, "rm", false, "Automatically remove the container when it exits")
	f.BoolVarP(&o.Detach, "detach", "d", false, "Run the container in the background and print its name")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "Set an environment variable (KEY=VALUE, or KEY to take the caller's or the env files'; left out when unset)")
	f.StringArrayVar(&envFiles, "env-from-file", nil, "Set environment variables from a file (repeatable; -e wins)")
	f.StringVarP(&o.Workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&o.User, "user", "u", "", "Run as this user (name or uid[:gid])")
	f.StringArrayVarP(&o.Volumes, "volume", "v", nil, "Bind mount a volume")
	f.StringVar(&entrypoint, "entrypoint", "", "Override the entrypoint of the image")
	f.StringVar(&o.Name, "name", "", "Assign a name to the container")
	f.StringArrayVarP(&labels, "label", "l", nil, "Add or override a label")
	f.BoolVar(&o.NoDeps, "no-deps", false, "Don't start linked services")
	f.StringArrayVar(&o.CapAdd, "cap-add", nil, "Add Linux capabilities")
	f.StringArrayVar(&o.CapDrop, "cap-drop", nil, "Drop Linux capabilities")
	f.BoolVar(&quietPull, "quiet-pull", false, "Pull without printing progress")
	f.BoolVarP(&noTTY, "no-tty", "T", false, "Disable pseudo-TTY allocation (default: auto-detected)")
	f.BoolVar(&noTTY, "no-TTY", false, "The old spelling of --no-tty")
	f.MarkHidden("no-TTY")
	f.BoolVarP(&tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.BoolVarP(&interactive, "interactive", "i", true, "Keep STDIN open even if not attached")
	f.StringVar(&o.Pull, "pull", "", "Pull image before running: always, missing, never")
	f.BoolVar(&build, "build", false, "Build the image before starting the container")
	f.StringArrayVarP(&o.Publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	f.BoolVarP(&o.ServicePorts, "service-ports", "P", false, "Run command with all service's ports enabled and mapped to the host")
	return cmd
}

// stdFiles returns the CLI's standard streams as files when they are
// (the runtime hands them straight to the container).
func stdFiles(g *globalOptions) (in, out, errw *os.File) {
	in, _ = g.stdin.(*os.File)
	out, _ = g.stdout.(*os.File)
	errw, _ = g.stderr.(*os.File)
	return in, out, errw
}
