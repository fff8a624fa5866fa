package cluster

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/berth-dev/berth/project"
)

// DownOptions are `k8s down`'s flags.
type DownOptions struct {
	Volumes bool // also the PersistentVolumeClaims (their data goes too)
}

// Down deletes the project's objects, found by label, workloads first:
// exactly what up applied (PersistentVolumeClaims only with Volumes). The
// namespace goes too when berth created it for the project and nothing of
// the project is kept in it; a namespace that was there before stays.
func (c *Client) Down(ctx context.Context, o DownOptions) ([]Change, error) {
	found, err := c.listOwned(ctx, ownedKinds)
	if err != nil {
		return nil, err
	}
	var out []Change
	kept := 0
	for i := len(ownedKinds) - 1; i >= 0; i-- {
		gvk := ownedKinds[i]
		m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			continue
		}
		for _, u := range sortedObjects(found, m.Resource) {
			if u.GetDeletionTimestamp() != nil {
				continue // already going (a finalizer holds it)
			}
			ch := Change{Kind: gvk.GroupKind(), Name: u.GetName(), Service: u.GetLabels()[project.LabelService], Action: Deleted}
			if gvk.Kind == "PersistentVolumeClaim" && !o.Volumes {
				ch.Action, ch.Why = Kept, "down -v removes volumes"
				kept++
			} else if err := c.delete(ctx, m, u.GetName()); err != nil {
				return out, fmt.Errorf("delete %s/%s: %w", strings.ToLower(ch.Kind.String()), u.GetName(), err)
			}
			out = append(out, ch)
		}
	}
	owned, err := c.ownsNamespace(ctx)
	if err != nil {
		return out, err
	}
	if owned {
		ch := Change{Kind: schema.GroupKind{Kind: "Namespace"}, Name: c.Namespace, Action: Deleted}
		if kept > 0 {
			ch.Action, ch.Why = Kept, "it holds the project's volumes"
		} else if err := c.kube.CoreV1().Namespaces().Delete(ctx, c.Namespace, metav1.DeleteOptions{}); err != nil {
			return out, fmt.Errorf("delete namespace %s: %w", c.Namespace, err)
		}
		out = append(out, ch)
	}
	return out, nil
}
