package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ErrWaitTimeout is Wait running out of time; the error wrapping it names
// what was not ready.
var ErrWaitTimeout = errors.New("timed out waiting for the project's workloads")

// JobFailedError is a Job the cluster gave up on.
type JobFailedError struct {
	Name, Reason, Message string
}

func (e *JobFailedError) Error() string {
	return fmt.Sprintf("job %s failed: %s: %s", e.Name, e.Reason, e.Message)
}

// Wait polls the workloads every interval until each is ready (Ready says
// what that is), a Job fails, or timeout passes. A timeout names every
// workload not ready and why.
func (c *Client) Wait(ctx context.Context, workloads []Ref, timeout, interval time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if interval <= 0 {
		interval = time.Second
	}
	for {
		var pending []string
		for _, r := range workloads {
			ri := c.dyn.Resource(r.GVR).Namespace(r.Namespace)
			u, err := ri.Get(ctx, r.Name, metav1.GetOptions{})
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				return fmt.Errorf("%s/%s: %w", strings.ToLower(r.Kind.Kind), r.Name, err)
			}
			ok, why, err := Ready(u)
			if err != nil {
				return err
			}
			if !ok {
				pending = append(pending, fmt.Sprintf("%s/%s (%s)", strings.ToLower(r.Kind.Kind), r.Name, why))
			}
		}
		if ctx.Err() == nil && len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				if len(pending) == 0 {
					pending = append(pending, "the API server did not answer")
				}
				return fmt.Errorf("%w after %v: %s", ErrWaitTimeout, timeout, strings.Join(pending, ", "))
			}
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// Ready says whether a workload is ready, and if not why, from its status:
// a Deployment when its controller has seen its latest spec, all replicas
// are updated and its Available condition is true; a StatefulSet when its
// controller has seen its latest spec and all replicas are ready; a
// DaemonSet when all the pods it scheduled are ready; a Job
// when its Complete condition is true (its Failed condition is an error).
// Other kinds are ready.
func Ready(u *unstructured.Unstructured) (bool, string, error) {
	gen := u.GetGeneration()
	observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	replicas, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if !found {
		replicas = 1
	}
	switch u.GetKind() {
	case "Deployment":
		if observed < gen {
			return false, "not yet seen by its controller", nil
		}
		updated, _, _ := unstructured.NestedInt64(u.Object, "status", "updatedReplicas")
		available, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas")
		if updated < replicas {
			return false, fmt.Sprintf("%d/%d updated", updated, replicas), nil
		}
		if st, _ := condition(u, "Available"); st != "True" {
			return false, fmt.Sprintf("%d/%d available", available, replicas), nil
		}
		return true, "", nil
	case "StatefulSet":
		if observed < gen {
			return false, "not yet seen by its controller", nil
		}
		ready, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
		if ready < replicas {
			return false, fmt.Sprintf("%d/%d ready", ready, replicas), nil
		}
		return true, "", nil
	case "DaemonSet":
		if observed < gen {
			return false, "not yet seen by its controller", nil
		}
		want, _, _ := unstructured.NestedInt64(u.Object, "status", "desiredNumberScheduled")
		ready, _, _ := unstructured.NestedInt64(u.Object, "status", "numberReady")
		if ready < want {
			return false, fmt.Sprintf("%d/%d ready", ready, want), nil
		}
		return true, "", nil
	case "Job":
		if st, _ := condition(u, "Complete"); st == "True" {
			return true, "", nil
		}
		if st, c := condition(u, "Failed"); st == "True" {
			reason, _ := c["reason"].(string)
			msg, _ := c["message"].(string)
			return false, "", &JobFailedError{Name: u.GetName(), Reason: reason, Message: msg}
		}
		return false, "not complete", nil
	}
	return true, "", nil
}

// condition returns the status of a status.conditions entry of type t.
func condition(u *unstructured.Unstructured, t string) (string, map[string]any) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, x := range conds {
		c, ok := x.(map[string]any)
		if ok && c["type"] == t {
			s, _ := c["status"].(string)
			return s, c
		}
	}
	return "", nil
}
