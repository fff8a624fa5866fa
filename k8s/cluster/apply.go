package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/berth-dev/berth/k8s/translate"
	"github.com/berth-dev/berth/project"
)

// Kinds berth renders and finds again by label for prune, ps and down, in
// the order up applies them (down deletes in reverse). Kinds a result holds
// beyond these are applied after the storage kinds and found the same way.
var ownedKinds = []schema.GroupVersionKind{
	{Version: "v1", Kind: "ServiceAccount"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"},
	{Version: "v1", Kind: "ConfigMap"},
	{Version: "v1", Kind: "Secret"},
	{Version: "v1", Kind: "PersistentVolumeClaim"},
	{Version: "v1", Kind: "Service"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"},
	{Group: "batch", Version: "v1", Kind: "Job"},
	{Group: "apps", Version: "v1", Kind: "StatefulSet"},
	{Group: "apps", Version: "v1", Kind: "DaemonSet"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
}

// rank orders kinds for apply: the namespace, then what pods mount or
// reference (accounts, configs, secrets, claims), Services, policies, any
// other kind, and workloads last — Jobs before the Deployments whose init
// containers wait for them.
func rank(k schema.GroupKind) int {
	switch k.Kind {
	case "Namespace":
		return 0
	case "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Secret", "PersistentVolumeClaim":
		return 1
	case "Service":
		return 2
	case "NetworkPolicy":
		return 3
	case "Job":
		return 5
	case "StatefulSet", "Deployment", "DaemonSet":
		return 6
	}
	return 4
}

// Action is what up or down did to one object.
type Action string

// Actions, worded as kubectl words them.
const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Pruned     Action = "pruned"
	Deleted    Action = "deleted"
	Kept       Action = "kept"
)

// Change is one object up or down touched (or chose to keep).
type Change struct {
	Kind    schema.GroupKind
	Name    string
	Service string // "" for project-wide objects
	Action  Action
	Why     string // for Kept
}

func (c Change) String() string {
	s := fmt.Sprintf("%s/%s %s", strings.ToLower(c.Kind.String()), c.Name, c.Action)
	if c.Why != "" {
		s += " (" + c.Why + ")"
	}
	return s
}

// RejectedError is an object the API server refused, with the compose
// file position of the key it was translated from.
type RejectedError struct {
	Kind    schema.GroupKind
	Name    string
	Service string
	Key     []string
	File    string // "" when the key could not be found in the files
	Line    int
	Err     error // the server's error (an *apierrors.StatusError)
}

func (e *RejectedError) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	}
	if len(e.Key) > 0 {
		fmt.Fprintf(&b, "%s: ", strings.Join(e.Key, "."))
	}
	fmt.Fprintf(&b, "%s %q", e.Kind.Kind, e.Name)
	if e.Service != "" {
		fmt.Fprintf(&b, " (from service %s)", e.Service)
	}
	fmt.Fprintf(&b, " rejected by the API server: %v", e.Err)
	return b.String()
}

func (e *RejectedError) Unwrap() error { return e.Err }

// UpResult is what Up did.
type UpResult struct {
	Changes   []Change
	Workloads []Ref // the Deployments, StatefulSets, DaemonSets and Jobs applied, for Wait
}

// Ref names one object on the server.
type Ref struct {
	GVR       schema.GroupVersionResource
	Kind      schema.GroupKind
	Namespace string
	Name      string
}

type prepared struct {
	obj     *unstructured.Unstructured
	mapping *meta.RESTMapping
	src     translate.Object
}

// Up applies res into the client's namespace (creating it, labelled as the
// project's, when it does not exist) and prunes the project's objects that
// res does not hold any more. files are the project's compose files, for
// naming the position of a rejected object's key. Namespace objects in res
// are not applied: the namespace is the client's.
func (c *Client) Up(ctx context.Context, res *translate.Result, files []string) (*UpResult, error) {
	objs, err := c.prepare(res)
	if err != nil {
		return nil, err
	}
	out := &UpResult{}
	ns, err := c.ensureNamespace(ctx)
	if err != nil {
		return nil, err
	}
	if ns != nil {
		out.Changes = append(out.Changes, *ns)
	}
	kinds := upKinds(objs)
	before, err := c.listOwned(ctx, kinds)
	if err != nil {
		return nil, err
	}
	applied := map[objKey]bool{}
	for _, o := range objs {
		applied[objKey{o.mapping.Resource, o.obj.GetName()}] = true
		ch, got, err := c.apply(ctx, o, before, files)
		if err != nil {
			return out, err
		}
		out.Changes = append(out.Changes, ch)
		switch ch.Kind.Kind {
		case "Deployment", "StatefulSet", "DaemonSet", "Job":
			out.Workloads = append(out.Workloads, Ref{o.mapping.Resource, ch.Kind, got.GetNamespace(), got.GetName()})
		}
	}
	return out, c.prune(ctx, kinds, before, applied, out)
}

// prepare turns res's objects, but its Namespace, into unstructured ones
// placed in the client's namespace, with their REST mappings, in the
// order they are applied (by kind rank, stable).
func (c *Client) prepare(res *translate.Result) ([]prepared, error) {
	var objs []prepared
	for _, o := range res.Objects {
		u, err := toUnstructured(o.Obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", describe(o), err)
		}
		gvk := u.GroupVersionKind()
		if gvk.Kind == "Namespace" {
			continue
		}
		m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return nil, fmt.Errorf("%s: the cluster at %s does not serve %s: %w", describe(o), c.Host, gvk, err)
		}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			u.SetNamespace(c.Namespace)
		}
		objs = append(objs, prepared{u, m, o})
	}
	slices.SortStableFunc(objs, func(a, b prepared) int {
		return rank(a.mapping.GroupVersionKind.GroupKind()) - rank(b.mapping.GroupVersionKind.GroupKind())
	})
	return objs, nil
}

// upKinds are the kinds an up lists and prunes: those berth owns and
// any other that objs hold, in that order.
func upKinds(objs []prepared) []schema.GroupVersionKind {
	kinds := slices.Clone(ownedKinds)
	for _, o := range objs {
		if gvk := o.mapping.GroupVersionKind; !slices.Contains(kinds, gvk) {
			kinds = append(kinds, gvk)
		}
	}
	return kinds
}

// apply server-side applies o, saying whether it was created, configured
// or left unchanged (before holds what the project had), and returns the
// object as the cluster has it.
func (c *Client) apply(ctx context.Context, o prepared, before map[objKey]*unstructured.Unstructured, files []string) (Change, *unstructured.Unstructured, error) {
	ri := c.resource(o.mapping)
	ch := Change{Kind: o.mapping.GroupVersionKind.GroupKind(), Name: o.obj.GetName(), Service: o.src.Service, Action: Created}
	prev, existed := before[objKey{o.mapping.Resource, o.obj.GetName()}]
	if existed {
		// Some kinds (PersistentVolumeClaims) are rewritten by an
		// apply that changes nothing; a dry run first keeps an
		// unchanged object untouched.
		dry, err := ri.Apply(ctx, o.obj.GetName(), o.obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return ch, nil, c.rejected(o, files, err)
		}
		if sameObject(prev, dry) {
			ch.Action = Unchanged
			return ch, prev, nil
		}
		ch.Action = Configured
	}
	got, err := ri.Apply(ctx, o.obj.GetName(), o.obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return ch, nil, c.rejected(o, files, err)
	}
	if existed && prev.GetResourceVersion() == got.GetResourceVersion() {
		ch.Action = Unchanged
	}
	return ch, got, nil
}

// prune deletes what earlier ups applied and this one did not (applied),
// workloads first, adding each to out's changes; a PersistentVolumeClaim
// is kept for its data.
func (c *Client) prune(ctx context.Context, kinds []schema.GroupVersionKind, before map[objKey]*unstructured.Unstructured, applied map[objKey]bool, out *UpResult) error {
	for i := len(kinds) - 1; i >= 0; i-- {
		m, err := c.mapper.RESTMapping(kinds[i].GroupKind(), kinds[i].Version)
		if err != nil {
			continue // listOwned skipped it too
		}
		for _, u := range sortedObjects(before, m.Resource) {
			if applied[objKey{m.Resource, u.GetName()}] {
				continue
			}
			ch := Change{Kind: kinds[i].GroupKind(), Name: u.GetName(), Service: u.GetLabels()[project.LabelService], Action: Pruned}
			if kinds[i].Kind == "PersistentVolumeClaim" {
				ch.Action, ch.Why = Kept, "a volume no longer in the project keeps its data until `down -v`"
			} else if err := c.delete(ctx, m, u.GetName()); err != nil {
				return fmt.Errorf("prune %s/%s: %w", strings.ToLower(ch.Kind.String()), u.GetName(), err)
			}
			out.Changes = append(out.Changes, ch)
		}
	}
	return nil
}

func (c *Client) rejected(o prepared, files []string, err error) error {
	r := &RejectedError{Kind: o.mapping.GroupVersionKind.GroupKind(), Name: o.obj.GetName(), Service: o.src.Service, Key: o.src.Key, Err: err}
	if len(o.src.Key) > 0 {
		r.File, r.Line = project.Locate(files, o.src.Key)
	}
	return r
}

// ensureNamespace creates the client's namespace, labelled as the
// project's, when it does not exist; one that exists is left as it is (and
// down leaves it too unless berth made it).
func (c *Client) ensureNamespace(ctx context.Context) (*Change, error) {
	_, err := c.kube.CoreV1().Namespaces().Get(ctx, c.Namespace, metav1.GetOptions{})
	if err == nil {
		return nil, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("namespace %s on %s: %w", c.Namespace, c.Host, err)
	}
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(c.Namespace)
	ns.SetLabels(map[string]string{project.LabelProject: c.Project, translate.LabelManagedBy: "berth"})
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	if _, err := c.dyn.Resource(gvr).Apply(ctx, c.Namespace, ns, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", c.Namespace, err)
	}
	return &Change{Kind: schema.GroupKind{Kind: "Namespace"}, Name: c.Namespace, Action: Created}, nil
}

// ownsNamespace reports whether the client's namespace is one berth made
// for this project.
func (c *Client) ownsNamespace(ctx context.Context) (bool, error) {
	ns, err := c.kube.CoreV1().Namespaces().Get(ctx, c.Namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	l := ns.GetLabels()
	return l[project.LabelProject] == c.Project && l[translate.LabelManagedBy] == "berth", nil
}

type objKey struct {
	gvr  schema.GroupVersionResource
	name string
}

// listOwned lists the project's objects of kinds in the namespace. A kind
// the server does not serve has none.
func (c *Client) listOwned(ctx context.Context, kinds []schema.GroupVersionKind) (map[objKey]*unstructured.Unstructured, error) {
	out := map[objKey]*unstructured.Unstructured{}
	for _, gvk := range kinds {
		m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		l, err := c.resource(m).List(ctx, metav1.ListOptions{LabelSelector: c.selector()})
		if err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("list %s in %s: %w", m.Resource.Resource, c.Namespace, err)
		}
		for i := range l.Items {
			out[objKey{m.Resource, l.Items[i].GetName()}] = &l.Items[i]
		}
	}
	return out, nil
}

// sameObject reports whether an apply's result b is the object a as it
// is: equal but for the resourceVersion and the times in managedFields.
func sameObject(a, b *unstructured.Unstructured) bool {
	return equality.Semantic.DeepEqual(comparable(a), comparable(b))
}

func comparable(u *unstructured.Unstructured) map[string]any {
	c := u.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "metadata", "resourceVersion")
	mf := c.GetManagedFields()
	for i := range mf {
		mf[i].Time = nil
	}
	c.SetManagedFields(mf)
	return c.Object
}

func sortedObjects(m map[objKey]*unstructured.Unstructured, gvr schema.GroupVersionResource) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for k, u := range m {
		if k.gvr == gvr {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b *unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

type resourceClient interface {
	Apply(ctx context.Context, name string, obj *unstructured.Unstructured, options metav1.ApplyOptions, subresources ...string) (*unstructured.Unstructured, error)
	List(ctx context.Context, opts metav1.ListOptions) (*unstructured.UnstructuredList, error)
	Delete(ctx context.Context, name string, options metav1.DeleteOptions, subresources ...string) error
	Get(ctx context.Context, name string, options metav1.GetOptions, subresources ...string) (*unstructured.Unstructured, error)
}

func (c *Client) resource(m *meta.RESTMapping) resourceClient {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.dyn.Resource(m.Resource).Namespace(c.Namespace)
	}
	return c.dyn.Resource(m.Resource)
}

// delete deletes in the background: the garbage collector removes
// dependents (a Job's pods, a Deployment's ReplicaSets); a foreground
// delete would wait for it, and a cluster without one would never finish.
func (c *Client) delete(ctx context.Context, m *meta.RESTMapping, name string) error {
	bg := metav1.DeletePropagationBackground
	err := c.resource(m).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// toUnstructured converts a typed object, whose TypeMeta the translator
// set, into the form the dynamic client applies. Empty status and the null
// creationTimestamp of a typed object are dropped, so the apply claims no
// field it does not mean to own.
func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if obj == nil {
		return nil, errors.New("no object")
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	if u.GetKind() == "" || u.GetAPIVersion() == "" {
		return nil, fmt.Errorf("%T has no apiVersion/kind", obj)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	stripNullTimestamps(m)
	return u, nil
}

// stripNullTimestamps removes the `creationTimestamp: null` that nested
// object metadata (pod templates, claim templates) carries over from typed
// structs.
func stripNullTimestamps(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if k == "creationTimestamp" && x == nil {
				delete(t, k)
				continue
			}
			stripNullTimestamps(x)
		}
	case []any:
		for _, x := range t {
			stripNullTimestamps(x)
		}
	}
}

func describe(o translate.Object) string {
	var name string
	if a, err := meta.Accessor(o.Obj); err == nil {
		name = a.GetName()
	}
	s := fmt.Sprintf("%T %q", o.Obj, name)
	if o.Service != "" {
		s += " of service " + o.Service
	}
	return s
}
