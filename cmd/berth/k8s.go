//go:build k8s

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/k8s/translate"
	"github.com/berth-dev/berth/project"
)

// newK8sCmd is `berth k8s`: the project on a Kubernetes cluster.
func newK8sCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   k8sUse,
		Short: k8sShort,
		Long:  k8sLong,
	}
	cmd.AddCommand(newK8sRenderCmd(g))
	return cmd
}

// k8sTranslateOptions are the translation flags every `berth k8s`
// command that translates shares.
type k8sTranslateOptions struct {
	namespace    string
	serviceType  string
	storageClass string
	registry     string
	liveness     bool
}

func (o *k8sTranslateOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.namespace, "namespace", "", "Namespace of the objects (default: the project name)")
	fs.StringVar(&o.serviceType, "service-type", "NodePort", "Service type for published ports: NodePort or LoadBalancer")
	fs.StringVar(&o.storageClass, "storage-class", "", "Storage class of the volume claims (default: the cluster's)")
	fs.StringVar(&o.registry, "registry", "", "Registry the images of services with build: are pushed to (REGISTRY/PROJECT-SERVICE:latest)")
	fs.BoolVar(&o.liveness, "liveness", false, "Also make liveness probes from healthchecks (Kubernetes restarts containers that fail them)")
}

// options checks the flags and turns them into translate.Options.
func (o *k8sTranslateOptions) options() (translate.Options, error) {
	to := translate.Options{Namespace: o.namespace, StorageClass: o.storageClass, Registry: o.registry, Liveness: o.liveness}
	switch strings.ToLower(o.serviceType) {
	case "", "nodeport":
		to.ServiceType = corev1.ServiceTypeNodePort
	case "loadbalancer":
		to.ServiceType = corev1.ServiceTypeLoadBalancer
	default:
		return to, fmt.Errorf("--service-type %q: want NodePort or LoadBalancer", o.serviceType)
	}
	return to, nil
}

// translate loads the project and translates it. On a refusal the
// result (with its report) comes back with the error.
func (o *k8sTranslateOptions) translate(ctx context.Context, g *globalOptions) (*types.Project, *translate.Result, error) {
	to, err := o.options()
	if err != nil {
		return nil, nil, err
	}
	p, err := g.loadProject(ctx)
	if err != nil {
		return nil, nil, err
	}
	// The file as written, so keys the loader resolves away get report
	// lines too.
	if to.Model, err = project.Model(ctx, g.projectOptions()); err != nil {
		return nil, nil, err
	}
	r, err := translate.Translate(p, to)
	return p, r, err
}

func newK8sRenderCmd(g *globalOptions) *cobra.Command {
	var o k8sTranslateOptions
	var out string
	cmd := &cobra.Command{
		Use:   "render [OPTIONS]",
		Short: "Print the project as Kubernetes manifests",
		Long: `Translate the project into Kubernetes manifests. Without -o the objects go to
stdout as one multi-document YAML stream and the translation report to stderr;
with -o DIR, one file per object, a kustomization.yaml and
translation-report.md are written to DIR.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, r, err := o.translate(cmd.Context(), g)
			var refused *translate.RefusalError
			if errors.As(err, &refused) {
				if werr := translate.WriteReport(cmd.ErrOrStderr(), r); werr != nil {
					return werr
				}
				return err
			}
			if err != nil {
				return err
			}
			if out != "" {
				if err := translate.WriteDir(r, out); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %d objects to %s (report: %s)\n", len(r.Objects), out, filepath.Join(out, translate.ReportFile))
				return nil
			}
			y, err := translate.Manifests(r)
			if err != nil {
				return err
			}
			if _, err := cmd.OutOrStdout().Write(y); err != nil {
				return err
			}
			return translate.WriteReport(cmd.ErrOrStderr(), r)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "Write the manifests, a kustomization.yaml and the report into this directory")
	o.addFlags(cmd.Flags())
	return cmd
}
