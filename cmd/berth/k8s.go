package main

// Interim: p-k8s-translate owns this file (render and the shared
// translation flags); this minimal copy of its API keeps p-k8s-cluster
// building until that branch is merged, and gives way to it then.

import (
	"context"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/k8s/translate"
)

func newK8sCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{Use: "k8s COMMAND", Short: "Run the project on Kubernetes"}
}

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
	fs.BoolVar(&o.liveness, "liveness", false, "Also make liveness probes from healthchecks")
}

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

func (o *k8sTranslateOptions) translate(ctx context.Context, g *globalOptions) (*types.Project, *translate.Result, error) {
	to, err := o.options()
	if err != nil {
		return nil, nil, err
	}
	p, err := g.loadProject(ctx)
	if err != nil {
		return nil, nil, err
	}
	r, err := translate.Translate(p, to)
	return p, r, err
}
