package cluster

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/berth-dev/berth/k8s/translate"
	"github.com/berth-dev/berth/project"
)

func labels(svc string) map[string]string {
	return map[string]string{project.LabelProject: "shop", translate.LabelManagedBy: "berth", project.LabelService: svc}
}

func deployment(name string, replicas int32, st appsv1.DeploymentStatus) *appsv1.Deployment {
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labels(name), Generation: 2},
		Spec:       appsv1.DeploymentSpec{Replicas: &replicas},
		Status:     st,
	}
}

func job(name string, conds ...batchv1.JobCondition) *batchv1.Job {
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labels(name)},
		Status:     batchv1.JobStatus{Conditions: conds},
	}
}

func toU(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

var available = appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}

// TestReady: what Wait counts as ready, for each kind and status.
func TestReady(t *testing.T) {
	for _, tc := range []struct {
		name string
		obj  runtime.Object
		ok   bool
		why  string
	}{
		{"deployment unseen", deployment("web", 1, appsv1.DeploymentStatus{ObservedGeneration: 1}), false, "not yet seen by its controller"},
		{"deployment not updated", deployment("web", 2, appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 1}), false, "1/2 updated"},
		{"deployment unavailable", deployment("web", 2, appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 2, AvailableReplicas: 1}), false, "1/2 available"},
		{"deployment available", deployment("web", 2, appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 2, AvailableReplicas: 2, Conditions: []appsv1.DeploymentCondition{available}}), true, ""},
		{"daemonset not ready", &appsv1.DaemonSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"}, Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, NumberReady: 1}}, false, "1/2 ready"},
		{"daemonset without nodes", &appsv1.DaemonSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"}}, true, ""},
		{"job running", job("migrate"), false, "not complete"},
		{"job complete", job("migrate", batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}), true, ""},
		{"service", &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, why, err := Ready(toU(t, tc.obj))
			if err != nil || ok != tc.ok || why != tc.why {
				t.Errorf("Ready = %v, %q, %v; want %v, %q", ok, why, err, tc.ok, tc.why)
			}
		})
	}
	_, _, err := Ready(toU(t, job("migrate", batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"})))
	var jf *JobFailedError
	if !errors.As(err, &jf) || !strings.Contains(err.Error(), "job migrate failed: BackoffLimitExceeded") {
		t.Errorf("failed job: %v", err)
	}
}

var (
	deployGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	jobGVR    = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
)

func refs() []Ref {
	return []Ref{
		{deployGVR, schema.GroupKind{Group: "apps", Kind: "Deployment"}, "shop", "web"},
		{jobGVR, schema.GroupKind{Group: "batch", Kind: "Job"}, "shop", "migrate"},
	}
}

// TestWaitTimeout: with no kubelet nothing becomes ready; Wait gives up at
// its timeout and names each workload and why.
func TestWaitTimeout(t *testing.T) {
	c := &Client{Namespace: "shop", dyn: dynfake.NewSimpleDynamicClient(scheme.Scheme,
		deployment("web", 1, appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 1}), job("migrate"))}
	start := time.Now()
	err := c.Wait(t.Context(), refs(), 300*time.Millisecond, 50*time.Millisecond)
	if !errors.Is(err, ErrWaitTimeout) {
		t.Fatalf("Wait = %v, want ErrWaitTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Wait took %v past a 300ms timeout", d)
	}
	for _, want := range []string{"deployment/web (0/1 available)", "job/migrate (not complete)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Wait error %q lacks %q", err, want)
		}
	}
}

// TestWaitReady: ready workloads end Wait at once; a failed Job ends it
// with the Job's reason.
func TestWaitReady(t *testing.T) {
	done := deployment("web", 1, appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 1, AvailableReplicas: 1, Conditions: []appsv1.DeploymentCondition{available}})
	c := &Client{Namespace: "shop", dyn: dynfake.NewSimpleDynamicClient(scheme.Scheme,
		done, job("migrate", batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}))}
	if err := c.Wait(t.Context(), refs(), 5*time.Second, 10*time.Millisecond); err != nil {
		t.Errorf("Wait on ready workloads: %v", err)
	}
	c = &Client{Namespace: "shop", dyn: dynfake.NewSimpleDynamicClient(scheme.Scheme,
		done, job("migrate", batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "DeadlineExceeded"}))}
	var jf *JobFailedError
	if err := c.Wait(t.Context(), refs(), 5*time.Second, 10*time.Millisecond); !errors.As(err, &jf) || jf.Reason != "DeadlineExceeded" {
		t.Errorf("Wait with a failed job = %v", err)
	}
}

func pod(name, svc string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labels(svc)}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	return p
}

// TestLogs: pods are found by the project's labels (another project's pod
// in the namespace is not read), a SERVICE argument narrows them, every
// line is prefixed with its pod (and container, when the pod has several).
func TestLogs(t *testing.T) {
	other := pod("intruder", "web", "web")
	other.Labels[project.LabelProject] = "other"
	kube := fake.NewClientset(pod("web-7d4-abcde", "web", "web"), pod("db-0", "db", "db", "exporter"), other)
	c := &Client{Project: "shop", Namespace: "shop", kube: kube}

	var out bytes.Buffer
	if err := c.Logs(t.Context(), LogsOptions{Out: &out}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"web-7d4-abcde | fake logs\n", "db-0/db | fake logs\n", "db-0/exporter | fake logs\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("logs lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "intruder") {
		t.Errorf("logs read another project's pod:\n%s", got)
	}

	out.Reset()
	if err := c.Logs(t.Context(), LogsOptions{Services: []string{"web"}, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if out.String() != "web-7d4-abcde | fake logs\n" {
		t.Errorf("logs web = %q", out.String())
	}
	if err := c.Logs(t.Context(), LogsOptions{Services: []string{"cache"}, Out: &out}); !errors.Is(err, ErrNoPods) {
		t.Errorf("logs of a service without pods = %v, want ErrNoPods", err)
	}
}

// TestPs: workloads and Services of the project, with ready/desired and
// the ports (node ports after the colon); another project's are not listed.
func TestPs(t *testing.T) {
	three := int32(3)
	web := deployment("web", 3, appsv1.DeploymentStatus{ReadyReplicas: 1})
	web.Spec.Replicas = &three
	foreign := deployment("theirs", 1, appsv1.DeploymentStatus{})
	foreign.Labels[project.LabelProject] = "other"
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Labels: labels("web")},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIP: "10.0.0.7", Ports: []corev1.ServicePort{
			{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP}, {Port: 53, Protocol: corev1.ProtocolUDP}}}}
	c := &Client{Project: "shop", Namespace: "shop", kube: fake.NewClientset(web, foreign, job("migrate"), svc)}
	st, err := c.Ps(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []Workload{{"Job", "migrate", "migrate", 0, 1}, {"Deployment", "web", "web", 1, 3}}
	if len(st.Workloads) != len(want) {
		t.Fatalf("workloads = %+v, want %+v", st.Workloads, want)
	}
	for i := range want {
		if st.Workloads[i] != want[i] {
			t.Errorf("workload %d = %+v, want %+v", i, st.Workloads[i], want[i])
		}
	}
	if len(st.Services) != 1 || strings.Join(st.Services[0].Ports, ",") != "80:30080/TCP,53/UDP" {
		t.Errorf("services = %+v", st.Services)
	}
}

// TestToUnstructured: typed objects lose their empty status and null
// timestamps (top-level and in pod templates) so apply claims no such
// fields; an object without apiVersion/kind is refused.
func TestToUnstructured(t *testing.T) {
	u, err := toUnstructured(deployment("web", 1, appsv1.DeploymentStatus{}))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := u.MarshalJSON()
	for _, bad := range []string{`"status"`, `"creationTimestamp"`} {
		if bytes.Contains(data, []byte(bad)) {
			t.Errorf("apply body has %s: %s", bad, data)
		}
	}
	if _, err := toUnstructured(&corev1.ConfigMap{}); err == nil {
		t.Error("object without TypeMeta accepted")
	}
}

// TestRank: apply order puts the namespace first, what pods reference next,
// workloads last with Jobs before Deployments.
func TestRank(t *testing.T) {
	order := []string{"Namespace", "ConfigMap", "Service", "NetworkPolicy", "PodDisruptionBudget", "Job", "Deployment"}
	for i := 1; i < len(order); i++ {
		if rank(schema.GroupKind{Kind: order[i-1]}) >= rank(schema.GroupKind{Kind: order[i]}) {
			t.Errorf("%s not applied before %s", order[i-1], order[i])
		}
	}
}

// TestBuiltImages: the images `up --push` pushes are those the workloads
// of services with build: run, as the translation named them.
func TestBuiltImages(t *testing.T) {
	dir := t.TempDir()
	compose := "name: shop\nservices:\n  api:\n    build: .\n  cache:\n    image: redis\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := load(t, dir)
	got := BuiltImages(p, mustTranslate(t, p, translate.Options{Registry: "127.0.0.1:5000"}))
	if len(got) != 1 || got["api"] != "127.0.0.1:5000/shop-api:latest" {
		t.Errorf("BuiltImages = %v", got)
	}
}
