package translate

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

func TestWebstackDeploymentAndService(t *testing.T) {
	r := mustTranslate(t, loadDir(t, "../../examples/webstack"), Options{})
	if r.Namespace != "webstack" {
		t.Errorf("namespace %q", r.Namespace)
	}
	if k := r.Objects[0].Obj.GetObjectKind().GroupVersionKind().Kind; k != "Namespace" {
		t.Errorf("first object is a %s, want the Namespace", k)
	}
	web := find[*appsv1.Deployment](t, r, "Deployment", "web")
	if *web.Spec.Replicas != 1 || web.Spec.Template.Spec.Containers[0].Image != "httpecho:latest" {
		t.Errorf("web deployment: %+v", web.Spec)
	}
	for _, o := range r.Objects {
		m := o.Obj.(interface{ GetLabels() map[string]string })
		l := m.GetLabels()
		if l[LabelManagedBy] != "berth" || l[LabelProject] != "webstack" {
			t.Errorf("%s labels %v", objectID(o), l)
		}
		if o.Service != "" && l[LabelService] != o.Service {
			t.Errorf("%s service label %q, from service %q", objectID(o), l[LabelService], o.Service)
		}
		if ns := o.Obj.(interface{ GetNamespace() string }).GetNamespace(); o.Obj.GetObjectKind().GroupVersionKind().Kind != "Namespace" && ns != "webstack" {
			t.Errorf("%s in namespace %q", objectID(o), ns)
		}
	}
	sel := web.Spec.Selector.MatchLabels
	if sel[LabelService] != "web" || sel[LabelProject] != "webstack" {
		t.Errorf("selector %v", sel)
	}
	svc := find[*corev1.Service](t, r, "Service", "web")
	if svc.Spec.Type != "" || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 {
		t.Errorf("web Service: %+v", svc.Spec)
	}
	pub := find[*corev1.Service](t, r, "Service", "web-published")
	if pub.Spec.Type != corev1.ServiceTypeNodePort || pub.Spec.Ports[0].Port != 8080 || pub.Spec.Ports[0].NodePort != 0 {
		t.Errorf("web-published: %+v", pub.Spec)
	}
	if l := reportLine(t, r, "services.web.ports"); l.Verdict != Approximated || !strings.Contains(l.Detail, "NodePort range") {
		t.Errorf("ports line %+v", l)
	}
	y, err := Manifests(r)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(y), "creationTimestamp") || strings.Contains(string(y), "status:") {
		t.Errorf("manifests carry empty status/timestamps:\n%s", y)
	}
}
