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

// runCmdFlags are run's flags that are no engine.RunOptions field as they
// stand.
type runCmdFlags struct {
	entrypoint                                string
	labels, envFiles                          []string
	noTTY, interactive, tty, build, quietPull bool
}

func newRunCmd(g *globalOptions) *cobra.Command {
	var o engine.RunOptions
	var x runCmdFlags
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] SERVICE [COMMAND] [ARGS...]",
		Short: "Run a one-off command on a service",
		Long: `Run a one-off command in a new container of a service, after starting the
services it depends on (unless --no-deps). The exit code is the command's.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runService(cmd, g, &o, x, args)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVar(&o.Remove, "rm", false, "Automatically remove the container when it exits")
	f.BoolVarP(&o.Detach, "detach", "d", false, "Run the container in the background and print its name")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "Set an environment variable (KEY=VALUE, or KEY to take the caller's or the env files'; left out when unset)")
	f.StringArrayVar(&x.envFiles, "env-from-file", nil, "Set environment variables from a file (repeatable; -e wins)")
	f.StringVarP(&o.Workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&o.User, "user", "u", "", "Run as this user (name or uid[:gid])")
	f.StringArrayVarP(&o.Volumes, "volume", "v", nil, "Bind mount a volume")
	f.StringVar(&x.entrypoint, "entrypoint", "", "Override the entrypoint of the image")
	f.StringVar(&o.Name, "name", "", "Assign a name to the container")
	f.StringArrayVarP(&x.labels, "label", "l", nil, "Add or override a label")
	f.BoolVar(&o.NoDeps, "no-deps", false, "Don't start linked services")
	f.StringArrayVar(&o.CapAdd, "cap-add", nil, "Add Linux capabilities")
	f.StringArrayVar(&o.CapDrop, "cap-drop", nil, "Drop Linux capabilities")
	f.BoolVar(&x.quietPull, "quiet-pull", false, "Pull without printing progress")
	f.BoolVarP(&x.noTTY, "no-tty", "T", false, "Disable pseudo-TTY allocation (default: auto-detected)")
	f.BoolVar(&x.noTTY, "no-TTY", false, "The old spelling of --no-tty")
	f.MarkHidden("no-TTY")
	f.BoolVarP(&x.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.BoolVarP(&x.interactive, "interactive", "i", true, "Keep STDIN open even if not attached")
	f.StringVar(&o.Pull, "pull", "", "Pull image before running: always, missing, never")
	f.BoolVar(&x.build, "build", false, "Build the image before starting the container")
	f.StringArrayVarP(&o.Publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	f.BoolVarP(&o.ServicePorts, "service-ports", "P", false, "Run command with all service's ports enabled and mapped to the host")
	return cmd
}

// runService is `run SERVICE [COMMAND…]`: the one-off container, its
// exit code the command's.
func runService(cmd *cobra.Command, g *globalOptions, o *engine.RunOptions, x runCmdFlags, args []string) error {
	ctx := cmd.Context()
	p, err := g.loadProject(ctx, naming(args[0]))
	if err != nil {
		return err
	}
	o.Service = args[0]
	o.Env = resolveEnvFlags(o.Env, projectLookup(p))
	if o.Env, err = envFromFiles(o.Env, x.envFiles); err != nil {
		return err
	}
	o.Build = buildMode(x.build, false)
	if len(args) > 1 {
		o.Command = args[1:]
	}
	if cmd.Flags().Changed("entrypoint") {
		if o.Entrypoint, err = runEntrypoint(x.entrypoint); err != nil {
			return err
		}
	}
	o.Labels = map[string]string{}
	for _, l := range x.labels {
		k, v, _ := strings.Cut(l, "=")
		o.Labels[k] = v
	}
	in, out, errw := stdFiles(g)
	o.Stdin, o.Stdout, o.Stderr = in, out, errw
	// Detached, stdin is kept open but not attached (`cat` waits),
	// as with docker compose run -d.
	o.Interactive = x.interactive
	forceTTY := x.tty || (cmd.Flags().Changed("no-TTY") && !x.noTTY)
	inTerm := in != nil && isTerminal(in)
	if o.Tty, err = runTTY(forceTTY, x.noTTY, o.Detach, x.interactive, inTerm, inTerm && out != nil && isTerminal(out)); err != nil {
		return err
	}
	eng, err := g.newEngine()
	if err != nil {
		return err
	}
	res, err := eng.Run(ctx, p, o)
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
}

// runEntrypoint reads --entrypoint as a shell would split it; an empty
// one clears the image's.
func runEntrypoint(s string) ([]string, error) {
	ep, err := shellwords.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("--entrypoint %q: %w", s, err)
	}
	if ep == nil {
		ep = []string{}
	}
	return ep, nil
}

// runTTY decides whether run allocates a terminal: as docker compose,
// when stdin and stdout are terminals (bothTerm) unless -T or detached;
// force (-t, or -T=false) allocates one regardless, which an attached
// interactive run can only do with a terminal on stdin (inTerm).
func runTTY(force, noTTY, detach, interactive, inTerm, bothTerm bool) (bool, error) {
	if force && !detach && interactive && !inTerm {
		return false, errors.New("cannot attach stdin to a TTY-enabled container because stdin is not a terminal")
	}
	return force || (!noTTY && !detach && bothTerm), nil
}

// stdFiles returns the CLI's standard streams as files when they are
// (the runtime hands them straight to the container).
func stdFiles(g *globalOptions) (in, out, errw *os.File) {
	in, _ = g.stdin.(*os.File)
	out, _ = g.stdout.(*os.File)
	errw, _ = g.stderr.(*os.File)
	return in, out, errw
}
