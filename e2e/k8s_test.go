package e2e

// `berth k8s up|ps|logs|down` against a real kube-apiserver
// (internal/kubetest: Debian's etcd and kube-apiserver v1.37.2 built by
// `make kube-assets`). There is no scheduler or kubelet: pods never run, so
// these scenarios check what a cluster's control plane checks.

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/kubetest"
	"github.com/berth-dev/berth/internal/testregistry"
)

// kubeEnv is an Env whose KUBECONFIG names a fresh API server, with the
// example copied into its project dir.
func kubeEnv(t *testing.T, example string) (*Env, *kubetest.Server) {
	t.Helper()
	s := kubetest.Start(t)
	e := NewEnv(t)
	if out, err := exec.Command("cp", "-a", exampleDir(t, example)+"/.", e.Dir).CombinedOutput(); err != nil {
		t.Fatalf("copy the example: %v\n%s", err, out)
	}
	e.ExtraEnv = append(e.ExtraEnv, "KUBECONFIG="+s.Kubeconfig)
	return e, s
}

// projectObjects lists, with the assets' kubectl, every live object of
// the project across the kinds berth renders, in all namespaces, as
// kind/name.
func projectObjects(t *testing.T, s *kubetest.Server, project string) []string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), s.Kubectl, "--kubeconfig", s.Kubeconfig, "get",
		"deployments,statefulsets,jobs,services,configmaps,secrets,persistentvolumeclaims,networkpolicies,serviceaccounts,roles,rolebindings",
		"-A", "-l", "com.docker.compose.project="+project, "--no-headers",
		"-o", "custom-columns=KIND:.kind,NAME:.metadata.name,DELETING:.metadata.deletionTimestamp").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl get: %v\n%s", err, out)
	}
	// An object being deleted is gone for this purpose: a claim keeps its
	// pvc-protection finalizer until kube-controller-manager, absent here,
	// removes it.
	var live []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[2] == "<none>" {
			live = append(live, strings.ToLower(f[0])+"/"+f[1])
		}
	}
	return live
}

// TestK8sWebstack: `k8s up` of examples/webstack applies every object, a
// second up reports every object unchanged, ps lists the three workloads
// and web's NodePort, --wait gives up at its timeout naming what is not
// available, logs says there are no pods, down keeps the volume claim,
// down -v leaves nothing of the project.
func TestK8sWebstack(t *testing.T) {
	e, s := kubeEnv(t, "webstack")
	checkRender(t, e, s)
	r := e.MustBerth(t, "k8s", "up")
	if !strings.Contains(r.Stdout, "deployment.apps/web created") || strings.Contains(r.Stdout, "unchanged") {
		t.Errorf("first up:\n%s", r)
	}
	created := strings.Count(r.Stdout, " created")

	r = e.MustBerth(t, "k8s", "up")
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	for _, l := range lines {
		if !strings.HasSuffix(l, " unchanged") {
			t.Errorf("second up changed something: %q", l)
		}
	}
	if len(lines) != created-1 { // the namespace is created once, then not applied
		t.Errorf("second up: %d objects, first created %d (with the namespace):\n%s", len(lines), created, r)
	}

	r = e.MustBerth(t, "k8s", "ps")
	for _, want := range []string{"web ", "worker ", "cache", "0/1", "NodePort", "8080:"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("ps lacks %q:\n%s", want, r.Stdout)
		}
	}

	start := time.Now()
	r = e.Berth(t, "k8s", "up", "--wait", "--timeout", "2s")
	if r.Code == 0 || !strings.Contains(r.Stderr, "timed out") || !strings.Contains(r.Stderr, "deployment/web (not yet seen by its controller)") {
		t.Errorf("up --wait without a kubelet: want a timeout naming web:\n%s", r)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("up --wait --timeout 2s took %v", d)
	}

	r = e.Berth(t, "k8s", "logs", "web")
	if r.Code == 0 || !strings.Contains(r.Stderr, "no pods of service web") {
		t.Errorf("logs without pods:\n%s", r)
	}

	r = e.MustBerth(t, "k8s", "down")
	left := projectObjects(t, s, "webstack")
	if len(left) != 1 || !strings.HasPrefix(left[0], "persistentvolumeclaim/") {
		t.Errorf("down left %v, want only the volume claim", left)
	}
	r = e.MustBerth(t, "k8s", "down", "-v")
	if left := projectObjects(t, s, "webstack"); len(left) != 0 {
		t.Errorf("down -v left %v:\n%s", left, r)
	}
	if !strings.Contains(r.Stdout, "namespace/webstack deleted") {
		t.Errorf("down -v did not delete the namespace berth made:\n%s", r)
	}
}

// checkRender: `berth k8s render -o DIR` writes manifests that the API
// server accepts: `kubectl apply --dry-run=server -k DIR` (the directory's
// kustomization.yaml lists every object; `-f DIR` would also read the
// kustomization as an object of an unknown kind), in a namespace of its
// own that exists for real, as a dry run creates none.
func checkRender(t *testing.T, e *Env, s *kubetest.Server) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "manifests")
	e.MustBerth(t, "k8s", "render", "--namespace", "render-check", "-o", dir)
	kubectl := func(args ...string) string {
		out, err := exec.CommandContext(t.Context(), s.Kubectl, append([]string{"--kubeconfig", s.Kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	kubectl("create", "namespace", "render-check")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	out := kubectl("apply", "--dry-run=server", "-k", dir, "-o", "name")
	n := 0 // kind/name lines; kubectl also warns the namespace lacks its annotation
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "/") && !strings.Contains(l, " ") {
			n++
		}
	}
	if want := len(files) - 1; n != want || n < 5 {
		t.Errorf("kubectl accepted %d objects of %d rendered:\n%s", n, want, out)
	}
	kubectl("delete", "namespace", "render-check", "--wait=false")
}

// TestK8sBuildstackPush: `k8s up --push --registry` builds the three
// images of examples/buildstack, pushes them to a registry on 127.0.0.1,
// and applies Deployments naming exactly those references (the cluster
// never pulls here: the API server only validates).
func TestK8sBuildstackPush(t *testing.T) {
	e, s := kubeEnv(t, "buildstack")
	reg, err := testregistry.Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	loadGolang(t, func(args ...string) { e.MustBerth(t, args...) })
	e.Timeout = 10 * time.Minute

	r := e.Berth(t, "k8s", "up", "--push")
	if r.Code == 0 || !strings.Contains(r.Stderr, "--push needs --registry") {
		t.Errorf("--push without --registry:\n%s", r)
	}
	r = e.MustBerth(t, "k8s", "up", "--push", "--registry", reg.Addr())
	for _, svc := range []string{"api", "worker", "site"} {
		ref := reg.Addr() + "/buildstack-" + svc + ":latest"
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodHead, "http://"+reg.Addr()+"/v2/buildstack-"+svc+"/manifests/latest", nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s not in the registry after up --push: %s", ref, resp.Status)
		}
		out, err := exec.CommandContext(t.Context(), s.Kubectl, "--kubeconfig", s.Kubeconfig, "get", "deployment", svc, "-n", "buildstack",
			"-o", "jsonpath={.spec.template.spec.containers[0].image}").CombinedOutput()
		if err != nil || string(out) != ref {
			t.Errorf("deployment %s runs %q (%v), want %s", svc, out, err, ref)
		}
	}
	r = e.MustBerth(t, "k8s", "ps")
	for _, svc := range []string{"api", "worker", "site"} {
		if !strings.Contains(r.Stdout, svc+" ") {
			t.Errorf("ps lacks %s:\n%s", svc, r.Stdout)
		}
	}
	e.MustBerth(t, "k8s", "down", "-v")
	if left := projectObjects(t, s, "buildstack"); len(left) != 0 {
		t.Errorf("down -v left %v", left)
	}
}
