package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/project"
)

// Workload is one Deployment, StatefulSet, DaemonSet or Job of the project.
type Workload struct {
	Kind    string // Deployment, StatefulSet, DaemonSet, Job
	Name    string
	Service string
	Ready   int32 // ready replicas; a Job's succeeded pods
	Desired int32 // replicas; a DaemonSet's scheduled pods; a Job's completions
}

// ServiceInfo is one Service of the project and its ports.
type ServiceInfo struct {
	Name      string
	Type      corev1.ServiceType
	ClusterIP string
	Ports     []string // "80/TCP", "8080:30080/TCP" (port:nodePort)
}

// Status is what Ps found.
type Status struct {
	Namespace string
	Workloads []Workload
	Services  []ServiceInfo
}

// Ps lists the project's workloads and Services, by label.
func (c *Client) Ps(ctx context.Context) (*Status, error) {
	opts := metav1.ListOptions{LabelSelector: c.selector()}
	st := &Status{Namespace: c.Namespace}
	apps := c.kube.AppsV1()
	deps, err := apps.Deployments(c.Namespace).List(ctx, opts)
	if err != nil {
		return nil, c.listErr("deployments", err)
	}
	for _, d := range deps.Items {
		st.Workloads = append(st.Workloads, Workload{"Deployment", d.Name, d.Labels[project.LabelService], d.Status.ReadyReplicas, deref(d.Spec.Replicas, 1)})
	}
	sts, err := apps.StatefulSets(c.Namespace).List(ctx, opts)
	if err != nil {
		return nil, c.listErr("statefulsets", err)
	}
	for _, s := range sts.Items {
		st.Workloads = append(st.Workloads, Workload{"StatefulSet", s.Name, s.Labels[project.LabelService], s.Status.ReadyReplicas, deref(s.Spec.Replicas, 1)})
	}
	dss, err := apps.DaemonSets(c.Namespace).List(ctx, opts)
	if err != nil {
		return nil, c.listErr("daemonsets", err)
	}
	for _, d := range dss.Items {
		st.Workloads = append(st.Workloads, Workload{"DaemonSet", d.Name, d.Labels[project.LabelService], d.Status.NumberReady, d.Status.DesiredNumberScheduled})
	}
	jobs, err := c.kube.BatchV1().Jobs(c.Namespace).List(ctx, opts)
	if err != nil {
		return nil, c.listErr("jobs", err)
	}
	for _, j := range jobs.Items {
		st.Workloads = append(st.Workloads, Workload{"Job", j.Name, j.Labels[project.LabelService], j.Status.Succeeded, deref(j.Spec.Completions, 1)})
	}
	slices.SortFunc(st.Workloads, func(a, b Workload) int {
		return strings.Compare(a.Service+"\x00"+a.Kind+a.Name, b.Service+"\x00"+b.Kind+b.Name)
	})
	svcs, err := c.kube.CoreV1().Services(c.Namespace).List(ctx, opts)
	if err != nil {
		return nil, c.listErr("services", err)
	}
	for _, s := range svcs.Items {
		si := ServiceInfo{Name: s.Name, Type: s.Spec.Type, ClusterIP: s.Spec.ClusterIP}
		for _, p := range s.Spec.Ports {
			port := fmt.Sprint(p.Port)
			if p.NodePort != 0 {
				port += fmt.Sprintf(":%d", p.NodePort)
			}
			si.Ports = append(si.Ports, port+"/"+string(p.Protocol))
		}
		st.Services = append(st.Services, si)
	}
	slices.SortFunc(st.Services, func(a, b ServiceInfo) int { return strings.Compare(a.Name, b.Name) })
	return st, nil
}

func (c *Client) listErr(what string, err error) error {
	return fmt.Errorf("list %s in namespace %s on %s: %w", what, c.Namespace, c.Host, err)
}

func deref(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}
