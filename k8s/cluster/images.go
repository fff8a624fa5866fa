package cluster

import (
	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/k8s/translate"
)

// BuiltImages maps each service with `build:` to the image its workload's
// container runs, as the translation named it (with a registry:
// REGISTRY/PROJECT-SERVICE:latest): what `k8s up --push` must build and
// push before the cluster can pull it.
func BuiltImages(p *types.Project, res *translate.Result) map[string]string {
	out := map[string]string{}
	for _, o := range res.Objects {
		svc, ok := p.Services[o.Service]
		if !ok || svc.Build == nil {
			continue
		}
		var pod *corev1.PodSpec
		switch w := o.Obj.(type) {
		case *appsv1.Deployment:
			pod = &w.Spec.Template.Spec
		case *appsv1.StatefulSet:
			pod = &w.Spec.Template.Spec
		case *appsv1.DaemonSet:
			pod = &w.Spec.Template.Spec
		case *batchv1.Job:
			pod = &w.Spec.Template.Spec
		}
		if pod != nil && len(pod.Containers) > 0 {
			out[o.Service] = pod.Containers[0].Image
		}
	}
	return out
}
