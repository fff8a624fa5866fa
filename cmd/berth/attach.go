package main

import (
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

func newAttachCmd(g *globalOptions) *cobra.Command {
	var o engine.AttachContainerOptions
	var noStdin bool
	var detachKeys string
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] SERVICE",
		Short: "Attach local standard input, output, and error streams to a service's running container",
		Long: `Attach to a running container of a service: its output from now on, and
this terminal's input streamed to its stdin when it runs with stdin_open.
Ctrl-C sends the container SIGINT (--sig-proxy, the default) or detaches
(--sig-proxy=false); a second Ctrl-C detaches. The exit code is the
container's when it exits while attached.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, nil)
			if err != nil {
				return err
			}
			o.Service = args[0]
			if !noStdin && g.stdin != nil {
				o.Stdin = g.stdin
			}
			o.Stdout, o.Stderr = g.stdout, g.stderr
			o.Detach = forceContext(ctx)
			code, err := eng.AttachContainer(ctx, sel.Project, o)
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
	f.IntVar(&o.Index, "index", 1, "Index of the container if the service has several replicas")
	f.BoolVar(&noStdin, "no-stdin", false, "Do not attach STDIN")
	f.BoolVar(&o.SigProxy, "sig-proxy", true, "Proxy received signals to the process")
	f.StringVar(&detachKeys, "detach-keys", "", "Accepted for compatibility: berth does not read the terminal raw; Ctrl-C detaches with --sig-proxy=false")
	return cmd
}
