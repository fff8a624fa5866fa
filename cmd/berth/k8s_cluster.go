//go:build k8s

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/k8s/cluster"
	"github.com/berth-dev/berth/k8s/translate"
)

// newK8sRoot is `berth k8s` in the berth-k8s build (tag k8s): the
// commands themselves.
func newK8sRoot(g *globalOptions) *cobra.Command {
	return addK8sClusterCmds(newK8sCmd(g), g)
}

// addK8sClusterCmds adds the commands that talk to a cluster (up, ps,
// logs, down) to `berth k8s`.
func addK8sClusterCmds(k8s *cobra.Command, g *globalOptions) *cobra.Command {
	k8s.AddCommand(newK8sUpCmd(g), newK8sPsCmd(g), newK8sLogsCmd(g), newK8sDownCmd(g))
	return k8s
}

// k8sClusterOptions say which cluster: the kubeconfig's current context
// unless --context (and --kubeconfig) say otherwise.
type k8sClusterOptions struct {
	kubeconfig string
	context    string
}

func (o *k8sClusterOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
	fs.StringVar(&o.context, "context", "", "Kubeconfig context (default: its current context)")
}

func (o *k8sClusterOptions) connect(p *types.Project, namespace string) (*cluster.Client, error) {
	return cluster.Connect(cluster.Config{Kubeconfig: o.kubeconfig, Context: o.context, Namespace: namespace}, p.Name)
}

type k8sUpOptions struct {
	k8sTranslateOptions
	k8sClusterOptions
	push    bool
	wait    bool
	timeout time.Duration
}

func newK8sUpCmd(g *globalOptions) *cobra.Command {
	var o k8sUpOptions
	cmd := &cobra.Command{
		Use:   "up [OPTIONS]",
		Short: "Apply the project to a Kubernetes cluster",
		Long: `Translate the project and server-side apply its objects (field manager
"berth") into its namespace on the kubeconfig's cluster, creating the
namespace when missing; objects of the project no longer rendered are
pruned (volume claims are kept until ` + "`k8s down -v`" + `). Running it again with
an unchanged file changes nothing. With --push, the images of services with
build: are built and pushed to --registry first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runK8sUp(cmd.Context(), g, cmd.OutOrStdout(), cmd.ErrOrStderr(), o)
		},
	}
	f := cmd.Flags()
	o.k8sTranslateOptions.addFlags(f)
	o.k8sClusterOptions.addFlags(f)
	f.BoolVar(&o.push, "push", false, "Build the images of services with build: and push them to --registry first")
	f.BoolVar(&o.wait, "wait", false, "Wait until every Deployment, StatefulSet and DaemonSet is available and every Job complete")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "How long --wait waits")
	return cmd
}

func runK8sUp(ctx context.Context, g *globalOptions, stdout, stderr io.Writer, o k8sUpOptions) error {
	if o.push && o.registry == "" {
		return errors.New("--push needs --registry: the registry the cluster pulls the built images from")
	}
	p, res, err := o.translate(ctx, g)
	if res != nil && err != nil {
		var refused *translate.RefusalError
		if errors.As(err, &refused) {
			_ = translate.WriteReport(stderr, res)
		}
	}
	if err != nil {
		return err
	}
	if o.push {
		refs := cluster.BuiltImages(p, res)
		eng, err := g.newEngine()
		if err != nil {
			return err
		}
		if err := eng.PushBuilt(ctx, p, refs, engine.BuildOptions{}); err != nil {
			return err
		}
	}
	c, err := o.connect(p, res.Namespace)
	if err != nil {
		return err
	}
	up, err := c.Up(ctx, res, p.ComposeFiles)
	if up != nil {
		for _, ch := range up.Changes {
			fmt.Fprintln(stdout, ch)
		}
	}
	if err != nil {
		return err
	}
	if o.wait {
		if err := c.Wait(ctx, up.Workloads, o.timeout, time.Second); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%d workloads ready in namespace %s\n", len(up.Workloads), c.Namespace)
	}
	return nil
}

// k8sNamespace is the namespace `k8s up` used for the project: --namespace,
// else the one the translation names (the project name, made DNS-safe).
func k8sNamespace(p *types.Project, flag string) string {
	if flag != "" {
		return flag
	}
	if r, _ := translate.Translate(p, translate.Options{}); r != nil && r.Namespace != "" {
		return r.Namespace
	}
	return p.Name
}

type k8sTargetOptions struct {
	k8sClusterOptions
	namespace string
}

func (o *k8sTargetOptions) addFlags(fs *pflag.FlagSet) {
	o.k8sClusterOptions.addFlags(fs)
	fs.StringVar(&o.namespace, "namespace", "", "Namespace of the project (default: the project name)")
}

func (o *k8sTargetOptions) client(ctx context.Context, g *globalOptions) (*cluster.Client, error) {
	p, err := g.loadProject(ctx)
	if err != nil {
		return nil, err
	}
	return o.connect(p, k8sNamespace(p, o.namespace))
}

func newK8sPsCmd(g *globalOptions) *cobra.Command {
	var o k8sTargetOptions
	var format string
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS]",
		Short: "List the project's workloads and Services on the cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd.Context(), g)
			if err != nil {
				return err
			}
			st, err := c.Ps(cmd.Context())
			if err != nil {
				return err
			}
			return printK8sStatus(cmd.OutOrStdout(), st, format)
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "table", `Output format: "table" or "json"`)
	return cmd
}

func printK8sStatus(w io.Writer, st *cluster.Status, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	case "table", "":
	default:
		return fmt.Errorf("--format %q: want table or json", format)
	}
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tSERVICE\tREADY")
	for _, wl := range st.Workloads {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\n", wl.Name, wl.Kind, wl.Service, wl.Ready, wl.Desired)
	}
	if len(st.Services) > 0 {
		fmt.Fprintln(tw, "\nSERVICE\tTYPE\tCLUSTER-IP\tPORTS")
		for _, s := range st.Services {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Type, s.ClusterIP, strings.Join(s.Ports, ","))
		}
	}
	return tw.Flush()
}

func newK8sLogsCmd(g *globalOptions) *cobra.Command {
	var o k8sTargetOptions
	var follow bool
	var tail int64
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] [SERVICE...]",
		Short: "Show the logs of the project's pods on the cluster",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd.Context(), g)
			if err != nil {
				return err
			}
			lo := cluster.LogsOptions{Services: args, Follow: follow, Out: cmd.OutOrStdout()}
			if tail >= 0 {
				lo.Tail = &tail
			}
			return c.Logs(cmd.Context(), lo)
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "Follow log output")
	cmd.Flags().Int64VarP(&tail, "tail", "n", -1, "Number of lines to show from the end of each log (-1: all)")
	return cmd
}

func newK8sDownCmd(g *globalOptions) *cobra.Command {
	var o k8sTargetOptions
	var volumes bool
	cmd := &cobra.Command{
		Use:   "down [OPTIONS]",
		Short: "Delete the project's objects from the cluster",
		Long: `Delete what ` + "`k8s up`" + ` applied, found by the project's labels: workloads,
Services, policies, configs and secrets; volume claims only with -v; and the
namespace when berth created it and nothing of the project is kept in it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client(cmd.Context(), g)
			if err != nil {
				return err
			}
			changes, err := c.Down(cmd.Context(), cluster.DownOptions{Volumes: volumes})
			for _, ch := range changes {
				fmt.Fprintln(cmd.OutOrStdout(), ch)
			}
			return err
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "Also delete the project's volume claims (their data goes with them)")
	return cmd
}
