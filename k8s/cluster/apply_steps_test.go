package cluster

import (
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/berth-dev/berth/k8s/translate"
)

// Tests for the steps of Up that need no API server.

// stepMapper maps the kinds these tests use.
func stepMapper() meta.ResettableRESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	for _, k := range []struct {
		gvk   schema.GroupVersionKind
		scope meta.RESTScope
	}{
		{schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot},
		{schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Version: "v1", Kind: "Service"}, meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace},
		{schema.GroupVersionKind{Group: "scheduling.k8s.io", Version: "v1", Kind: "PriorityClass"}, meta.RESTScopeRoot},
	} {
		m.Add(k.gvk, k.scope)
	}
	return meta.MultiRESTMapper{m}
}

func object(obj runtime.Object, apiVersion, kind, name string) translate.Object {
	a, _ := meta.Accessor(obj)
	a.SetName(name)
	obj.GetObjectKind().SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
	return translate.Object{Obj: obj, Service: "web"}
}

func TestPrepare(t *testing.T) {
	c := &Client{Namespace: "shop-ns", Host: "https://127.0.0.1:6443", mapper: stepMapper()}
	res := &translate.Result{Objects: []translate.Object{
		object(&appsv1.Deployment{}, "apps/v1", "Deployment", "web"),
		object(&corev1.Namespace{}, "v1", "Namespace", "shop"),
		object(&schedulingv1.PriorityClass{}, "scheduling.k8s.io/v1", "PriorityClass", "high"),
		object(&corev1.Service{}, "v1", "Service", "web"),
		object(&corev1.ConfigMap{}, "v1", "ConfigMap", "conf"),
	}}
	objs, err := c.prepare(res)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.obj.GetKind()+"/"+o.obj.GetName()+"@"+o.obj.GetNamespace())
	}
	// The Namespace is the client's; kinds by rank; namespaced ones placed.
	want := []string{"ConfigMap/conf@shop-ns", "Service/web@shop-ns", "PriorityClass/high@", "Deployment/web@shop-ns"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("prepared %q, want %q", got, want)
	}
	kinds := upKinds(objs)
	if len(kinds) != len(ownedKinds)+1 || kinds[len(kinds)-1].Kind != "PriorityClass" || !reflect.DeepEqual(kinds[:len(ownedKinds)], ownedKinds) {
		t.Errorf("upKinds = %v, want the owned kinds then PriorityClass", kinds)
	}

	res.Objects = append(res.Objects, translate.Object{Obj: &metav1.PartialObjectMetadata{TypeMeta: metav1.TypeMeta{APIVersion: "example.com/v1", Kind: "Widget"}, ObjectMeta: metav1.ObjectMeta{Name: "w"}}, Service: "web"})
	_, err = c.prepare(res)
	if err == nil || !strings.Contains(err.Error(), `of service web: the cluster at https://127.0.0.1:6443 does not serve example.com/v1, Kind=Widget`) {
		t.Errorf("unserved kind: %v", err)
	}
}
