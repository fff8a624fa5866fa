package cluster

// Root tier: these tests run a real kube-apiserver (internal/kubetest) and
// skip with a visible message when not root.

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth-dev/berth/internal/kubetest"
	"github.com/berth-dev/berth/k8s/translate"
	"github.com/berth-dev/berth/project"
)

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func load(t *testing.T, dir string, files ...string) *types.Project {
	t.Helper()
	p, err := project.Load(t.Context(), project.Options{WorkingDir: dir, Files: files, Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustTranslate(t *testing.T, p *types.Project, o translate.Options) *translate.Result {
	t.Helper()
	r, err := translate.Translate(p, o)
	if err != nil {
		t.Fatalf("translate %s: %v", p.Name, err)
	}
	return r
}

func connect(t *testing.T, s *kubetest.Server, name, namespace string) *Client {
	t.Helper()
	rc, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(rc, name, namespace)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// versions is every object of the project on the server (PVCs included)
// by kind/name, with its resourceVersion. An object being deleted is not
// counted: a claim keeps its kubernetes.io/pvc-protection finalizer until
// kube-controller-manager, which this control plane lacks, removes it.
func versions(t *testing.T, c *Client) map[string]string {
	t.Helper()
	found, err := c.listOwned(t.Context(), ownedKinds)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, u := range found {
		if u.GetDeletionTimestamp() == nil {
			out[k.gvr.Resource+"/"+k.name] = u.GetResourceVersion()
		}
	}
	return out
}

func actions(changes []Change) map[Action]int {
	out := map[Action]int{}
	for _, c := range changes {
		out[c.Action]++
	}
	return out
}

// TestUpPsDownWebstack: examples/webstack on a real API server. Up creates
// the namespace and every object; a second up changes nothing (every
// resourceVersion as it was); ps lists the three workloads and the
// Services with their node ports; --wait times out naming the workloads
// (no kubelet here); dropping a service from the file prunes its objects
// but keeps volume claims; down keeps the claims and namespace, down -v
// leaves nothing of the project.
func TestUpPsDownWebstack(t *testing.T) {
	s := kubetest.Start(t)
	rss, _ := s.RSS()
	t.Logf("kube-apiserver ready in %v, RSS %d MiB", s.Ready.Round(100*time.Millisecond), rss>>20)
	ctx := t.Context()
	p := load(t, filepath.Join(repoRoot(t), "examples", "webstack"))
	res := mustTranslate(t, p, translate.Options{})
	c := connect(t, s, p.Name, res.Namespace)

	start := time.Now()
	up, err := c.Up(ctx, res, p.ComposeFiles)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first up: %d objects in %v", len(up.Changes), time.Since(start).Round(time.Millisecond))
	if a := actions(up.Changes); a[Created] != len(up.Changes) || len(up.Changes) < len(res.Objects) {
		t.Errorf("first up: %v, want all %d created:\n%v", a, len(res.Objects), up.Changes)
	}
	if _, err := c.kube.CoreV1().Namespaces().Get(ctx, res.Namespace, metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace: %v", err)
	}
	before := versions(t, c)
	if len(before) == 0 {
		t.Fatal("no objects found by label after up")
	}

	up2, err := c.Up(ctx, mustTranslate(t, load(t, filepath.Join(repoRoot(t), "examples", "webstack")), translate.Options{}), p.ComposeFiles)
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(up2.Changes); a[Unchanged] != len(up2.Changes) {
		t.Errorf("second up: %v, want all unchanged:\n%v", a, up2.Changes)
	}
	after := versions(t, c)
	for k, rv := range before {
		if after[k] != rv {
			t.Errorf("second up changed %s: resourceVersion %s → %s", k, rv, after[k])
		}
	}
	if len(after) != len(before) {
		t.Errorf("second up: %d objects, was %d", len(after), len(before))
	}

	st, err := c.Ps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var svcs []string
	for _, w := range st.Workloads {
		svcs = append(svcs, w.Service)
		if w.Ready != 0 || w.Desired < 1 {
			t.Errorf("workload %+v: want 0 ready of ≥1 (no kubelet)", w)
		}
	}
	slices.Sort(svcs)
	if strings.Join(svcs, ",") != "cache,web,worker" {
		t.Errorf("ps workloads of services %v, want cache, web, worker: %+v", svcs, st.Workloads)
	}
	nodePort := false
	for _, sv := range st.Services {
		for _, port := range sv.Ports {
			nodePort = nodePort || (sv.Type == corev1.ServiceTypeNodePort && strings.HasPrefix(port, "8080:"))
		}
	}
	if !nodePort {
		t.Errorf("ps: no NodePort Service for web's published 8080: %+v", st.Services)
	}

	err = c.Wait(ctx, up.Workloads, time.Second, 200*time.Millisecond)
	if !errors.Is(err, ErrWaitTimeout) || !strings.Contains(err.Error(), "/web (") {
		t.Errorf("wait without a kubelet = %v, want a timeout naming web", err)
	}

	// worker leaves the file: its objects are pruned.
	p2 := load(t, filepath.Join(repoRoot(t), "examples", "webstack"))
	delete(p2.Services, "worker")
	up3, err := c.Up(ctx, mustTranslate(t, p2, translate.Options{}), p.ComposeFiles)
	if err != nil {
		t.Fatal(err)
	}
	pruned := 0
	for _, ch := range up3.Changes {
		if ch.Action == Pruned {
			pruned++
			if ch.Service != "worker" {
				t.Errorf("pruned %v, not of worker", ch)
			}
		}
	}
	if pruned == 0 {
		t.Errorf("up without worker pruned nothing:\n%v", up3.Changes)
	}
	if _, err := c.kube.AppsV1().Deployments(res.Namespace).Get(ctx, "worker", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("worker's Deployment after prune: %v", err)
	}

	down, err := c.Down(ctx, DownOptions{})
	if err != nil {
		t.Fatal(err)
	}
	left := versions(t, c)
	for k := range left {
		if !strings.HasPrefix(k, "persistentvolumeclaims/") {
			t.Errorf("down left %s", k)
		}
	}
	if len(left) == 0 {
		t.Errorf("down without -v removed the volume claims: %v", down)
	}
	if a := actions(down); a[Kept] != len(left)+1 {
		t.Errorf("down: %v, want the %d claims and the namespace kept", down, len(left))
	}

	down, err = c.Down(ctx, DownOptions{Volumes: true})
	if err != nil {
		t.Fatal(err)
	}
	if left := versions(t, c); len(left) != 0 {
		t.Errorf("down -v left %v", left)
	}
	ns, err := c.kube.CoreV1().Namespaces().Get(ctx, res.Namespace, metav1.GetOptions{})
	if err == nil && ns.DeletionTimestamp == nil {
		t.Errorf("down -v: namespace %s still there and not terminating (%v)", res.Namespace, down)
	}
}

// TestUpKeepsForeignNamespace: a namespace that existed before up is not
// berth's: down leaves it (and what else is in it).
func TestUpKeepsForeignNamespace(t *testing.T) {
	s := kubetest.Start(t)
	ctx := t.Context()
	p := load(t, filepath.Join(repoRoot(t), "examples", "webstack"))
	res := mustTranslate(t, p, translate.Options{Namespace: "team-a"})
	c := connect(t, s, p.Name, res.Namespace)
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	keep := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "theirs", Namespace: "team-a"}}
	if _, err := c.kube.CoreV1().ConfigMaps("team-a").Create(ctx, keep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Up(ctx, res, p.ComposeFiles); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Down(ctx, DownOptions{Volumes: true}); err != nil {
		t.Fatal(err)
	}
	ns, err := c.kube.CoreV1().Namespaces().Get(ctx, "team-a", metav1.GetOptions{})
	if err != nil || ns.DeletionTimestamp != nil {
		t.Errorf("down removed a namespace berth did not create: %v %v", err, ns.DeletionTimestamp)
	}
	if _, err := c.kube.CoreV1().ConfigMaps("team-a").Get(ctx, "theirs", metav1.GetOptions{}); err != nil {
		t.Errorf("down removed an object not of the project: %v", err)
	}
	if left := versions(t, c); len(left) != 0 {
		t.Errorf("down -v left %v", left)
	}
}

// TestUpRejected: an object the server refuses fails up with the server's
// own message and the compose file and line of the key it came from. The
// translator validates what it emits, so the invalid value is injected
// into its result: web's Service gets port 0.
func TestUpRejected(t *testing.T) {
	s := kubetest.Start(t)
	dir := t.TempDir()
	compose := "name: rejected\nservices:\n  web:\n    image: nginx\n    ports:\n      - \"8080:80\"\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	p := load(t, dir)
	res := mustTranslate(t, p, translate.Options{})
	injected := false
	for _, o := range res.Objects {
		if svc, ok := o.Obj.(*corev1.Service); ok && o.Service == "web" && len(svc.Spec.Ports) > 0 && slices.Equal(o.Key[:2], []string{"services", "web"}) {
			svc.Spec.Ports[0].Port = 0
			injected = true
			break
		}
	}
	if !injected {
		t.Fatalf("no Service of web with ports in %d objects", len(res.Objects))
	}
	c := connect(t, s, p.Name, res.Namespace)
	_, err := c.Up(t.Context(), res, p.ComposeFiles)
	var rej *RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("up = %v, want a RejectedError", err)
	}
	msg := err.Error()
	t.Log(msg)
	if !apierrors.IsInvalid(rej.Err) || !strings.Contains(msg, "must be between 1 and 65535") {
		t.Errorf("error lacks the server's validation message: %s", msg)
	}
	if file := filepath.Join(dir, "compose.yaml"); rej.File != file || rej.Line < 3 || rej.Line > 6 {
		t.Errorf("position %s:%d, want %s line 3–6 (services.web…)", rej.File, rej.Line, file)
	}
	if !strings.HasPrefix(msg, rej.File+":") {
		t.Errorf("message does not start with the position: %s", msg)
	}
}
