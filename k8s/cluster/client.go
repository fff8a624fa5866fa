package cluster

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth-dev/berth/k8s/translate"
	"github.com/berth-dev/berth/project"
)

// FieldManager is the server-side apply field manager of everything berth
// applies.
const FieldManager = "berth"

// Config says which cluster and namespace a Client talks to.
type Config struct {
	Kubeconfig string // a kubeconfig file; "" is $KUBECONFIG, else ~/.kube/config
	Context    string // a context of the kubeconfig; "" is its current context
	Namespace  string // "" is the project's name
}

// Client is a project on one cluster namespace.
type Client struct {
	Project   string
	Namespace string
	Host      string // the API server's URL, for messages

	kube   kubernetes.Interface
	dyn    dynamic.Interface
	mapper meta.ResettableRESTMapper
}

// Connect opens the cluster of c's kubeconfig and context for the project
// named name.
func Connect(c Config, name string) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if c.Kubeconfig != "" {
		rules.ExplicitPath = c.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.Context})
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return New(rc, name, c.Namespace)
}

// New is a Client for the API server of rc. The namespace is the project's
// name unless namespace is set.
func New(rc *rest.Config, name, namespace string) (*Client, error) {
	if err := project.CheckName(name); err != nil {
		return nil, err
	}
	if namespace == "" {
		namespace = name
	}
	rc = rest.CopyConfig(rc)
	rc.UserAgent = "berth"
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = 50, 100
	}
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kube.Discovery()))
	return &Client{Project: name, Namespace: namespace, Host: rc.Host, kube: kube, dyn: dyn, mapper: mapper}, nil
}

// selector selects the objects of the project that berth manages.
func (c *Client) selector() string {
	return project.LabelProject + "=" + c.Project + "," + translate.LabelManagedBy + "=berth"
}
