package translate

import (
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// workload kinds a service can become.
const (
	kindDeployment  = "Deployment"
	kindStatefulSet = "StatefulSet"
	kindDaemonSet   = "DaemonSet"
	kindJob         = "Job"
)

// service translates one compose service: its workload, its Services and
// whatever ConfigMaps and Secrets it mounts.
func (t *translator) service(name string, s types.ServiceConfig) {
	t.reportObjectName(name)
	if t.refuseService(name, s) {
		return
	}
	kind, why := t.kindOf(name, s)
	template, vols := t.podTemplate(name, s, kind)
	t.addWorkload(name, s, kind, template, vols)
	t.report = append(t.report, ReportLine{Key: strings.Join(svcKey(name), "."), Verdict: Mapped, Detail: fmt.Sprintf("%s %q: %s", kind, t.names[name], why)})
	t.scale(name, s, kind)
	t.restart(name, s, kind)
	t.services(name, s, kind)
}

// reportObjectName says so when a service's objects are not named as
// the service is.
func (t *translator) reportObjectName(name string) {
	obj := t.names[name]
	if obj != name && obj == strings.ToLower(name) {
		t.mapped(svcKey(name), "objects are named %q (Kubernetes names are lower case); DNS is case-insensitive, so %q still resolves", obj, name)
	} else if obj != name {
		t.approx(svcKey(name), "objects are named %q: Kubernetes names are lower-case RFC 1035 labels, so other characters become '-' (a hash is appended where two services would collide); containers that call this service %q must use %q", obj, name, obj)
	}
}

// refuseService refuses, as a whole, a service Kubernetes cannot run:
// one a provider implements, or one sharing another's network namespace.
func (t *translator) refuseService(name string, s types.ServiceConfig) bool {
	if s.Provider != nil {
		t.refuse(svcKey(name, "provider"), "service %q is implemented by provider %q, not by a container; Kubernetes cannot run it", name, s.Provider.Type)
		t.refusedServices[name] = true
		return true
	}
	if strings.HasPrefix(s.NetworkMode, types.ServicePrefix) || strings.HasPrefix(s.NetworkMode, types.ContainerPrefix) {
		t.refuse(svcKey(name, "network_mode"), "service %q shares the network namespace of %q; in Kubernetes that means one pod, which berth does not build from two services", name, s.NetworkMode)
		t.refusedServices[name] = true
		return true
	}
	return false
}

// podTemplate is the pod template of a service's workload, with its
// volumes mounted, and the volumes it needs.
func (t *translator) podTemplate(name string, s types.ServiceConfig, kind string) (corev1.PodTemplateSpec, podVolumes) {
	pod := t.podSpec(name, s, kind)
	vols := t.volumes(name, s, kind)
	pod.Volumes = append(pod.Volumes, vols.volumes...)
	pod.Containers[0].VolumeMounts = append(pod.Containers[0].VolumeMounts, vols.mounts...)
	for i := range pod.InitContainers {
		// pre_start hooks inherit the service's mounts (compose-go's
		// merge rules); the wait containers need none.
		if strings.HasPrefix(pod.InitContainers[i].Name, "pre-start-") {
			pod.InitContainers[i].VolumeMounts = pod.Containers[0].VolumeMounts
		}
	}
	template := corev1.PodTemplateSpec{ObjectMeta: t.meta(""), Spec: pod}
	template.Labels = t.podLabels(s)
	template.Annotations = t.podAnnotations(name, s)
	for k, v := range t.baseLabels(name) {
		template.Labels[k] = v
	}
	return template, vols
}

// addWorkload adds the Job, DaemonSet, StatefulSet or Deployment of kind
// that runs template.
func (t *translator) addWorkload(name string, s types.ServiceConfig, kind string, template corev1.PodTemplateSpec, vols podVolumes) {
	obj := t.names[name]
	selector := t.selector(name)
	replicas := int32(s.GetScale())
	key := svcKey(name)
	switch kind {
	case kindJob:
		job := &batchv1.Job{TypeMeta: typeMeta("batch/v1", kindJob), ObjectMeta: t.meta(obj)}
		job.Spec.Template = template
		job.Spec.Template.Spec.RestartPolicy, job.Spec.BackoffLimit = jobRestart(s)
		if replicas != 1 {
			job.Spec.Completions = ptr.To(replicas)
			job.Spec.Parallelism = ptr.To(replicas)
		}
		t.workloadMeta(&job.ObjectMeta, name, s)
		t.add(job, name, key...)
	case kindDaemonSet:
		ds := &appsv1.DaemonSet{TypeMeta: typeMeta("apps/v1", kindDaemonSet), ObjectMeta: t.meta(obj)}
		ds.Spec.Selector = labelSelector(selector)
		ds.Spec.Template = template
		t.workloadMeta(&ds.ObjectMeta, name, s)
		t.add(ds, name, key...)
	case kindStatefulSet:
		st := &appsv1.StatefulSet{TypeMeta: typeMeta("apps/v1", kindStatefulSet), ObjectMeta: t.meta(obj)}
		st.Spec.Replicas = ptr.To(replicas)
		st.Spec.Selector = labelSelector(selector)
		st.Spec.Template = template
		st.Spec.ServiceName = obj
		st.Spec.VolumeClaimTemplates = vols.claims
		st.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
		t.workloadMeta(&st.ObjectMeta, name, s)
		t.add(st, name, key...)
	default:
		d := &appsv1.Deployment{TypeMeta: typeMeta("apps/v1", kindDeployment), ObjectMeta: t.meta(obj)}
		d.Spec.Replicas = ptr.To(replicas)
		d.Spec.Selector = labelSelector(selector)
		d.Spec.Template = template
		d.Spec.Strategy = t.strategy(name, s, vols.rwo)
		t.workloadMeta(&d.ObjectMeta, name, s)
		t.add(d, name, key...)
	}
}

// kindOf picks the workload kind and says which rule picked it.
func (t *translator) kindOf(name string, s types.ServiceConfig) (kind, why string) {
	if t.jobs[name] {
		return kindJob, "another service waits for it with depends_on condition service_completed_successfully, so it is a one-shot run to completion"
	}
	if s.Deploy != nil && s.Deploy.Mode == "global" {
		return kindDaemonSet, "deploy.mode global: one replica per node"
	}
	if s.GetScale() > 1 {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" && len(t.volUse[v.Source]) == 1 && !t.external(v.Source) {
				return kindStatefulSet, fmt.Sprintf("%d replicas with named volume %q of its own: a StatefulSet gives each replica its own claim (Compose would share one volume between the replicas)", s.GetScale(), v.Source)
			}
		}
	}
	return kindDeployment, fmt.Sprintf("%d replica(s)", s.GetScale())
}

func (t *translator) external(volume string) bool {
	v, ok := t.p.Volumes[volume]
	return ok && bool(v.External)
}

func labelSelector(m map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: m}
}

// jobRestart maps restart to a Job's restart policy and backoff limit.
func jobRestart(s types.ServiceConfig) (corev1.RestartPolicy, *int32) {
	switch {
	case strings.HasPrefix(s.Restart, types.RestartPolicyOnFailure):
		n := int32(6)
		if _, after, ok := strings.Cut(s.Restart, ":"); ok {
			fmt.Sscanf(after, "%d", &n)
		}
		return corev1.RestartPolicyOnFailure, ptr.To(n)
	case s.Restart == types.RestartPolicyAlways || s.Restart == types.RestartPolicyUnlessStopped:
		return corev1.RestartPolicyOnFailure, ptr.To(int32(6))
	}
	return corev1.RestartPolicyNever, ptr.To(int32(0))
}

func (t *translator) scale(name string, s types.ServiceConfig, kind string) {
	if kind == kindDaemonSet {
		if s.Scale != nil {
			t.dropped(svcKey(name, "scale"), "a DaemonSet (deploy.mode global) runs one pod per node")
		}
		if s.Deploy != nil && s.Deploy.Replicas != nil {
			t.dropped(svcKey(name, "deploy", "replicas"), "a DaemonSet (deploy.mode global) runs one pod per node")
		}
		return
	}
	if s.Scale != nil {
		t.mapped(svcKey(name, "scale"), "%s replicas: %d", kind, *s.Scale)
	}
	if s.Deploy != nil && s.Deploy.Replicas != nil {
		t.mapped(svcKey(name, "deploy", "replicas"), "%s replicas: %d", kind, *s.Deploy.Replicas)
	}
}

func (t *translator) restart(name string, s types.ServiceConfig, kind string) {
	if s.Restart == "" {
		return
	}
	k := svcKey(name, "restart")
	switch {
	case kind == kindJob:
		p, b := jobRestart(s)
		t.mapped(k, "Job restartPolicy %s, backoffLimit %d", p, *b)
	case s.Restart == types.RestartPolicyAlways || s.Restart == types.RestartPolicyUnlessStopped:
		t.mapped(k, "restartPolicy Always (the only policy a %s has)", kind)
	default:
		t.approx(k, "restart %q: a %s always restarts its containers (restartPolicy Always); run it as a Job if it must stop", s.Restart, kind)
	}
}

// strategy maps deploy.update_config; a Deployment whose pods mount a
// ReadWriteOnce claim is replaced, not rolled, so two pods never need
// the same volume at once.
func (t *translator) strategy(name string, s types.ServiceConfig, rwo bool) appsv1.DeploymentStrategy {
	if rwo {
		return appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	}
	st := appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType}
	if s.Deploy == nil || s.Deploy.UpdateConfig == nil {
		return st
	}
	u := s.Deploy.UpdateConfig
	ru := &appsv1.RollingUpdateDeployment{}
	par := intstr.FromInt32(1)
	if u.Parallelism != nil && *u.Parallelism > 0 {
		par = intstr.FromInt32(int32(*u.Parallelism))
	}
	zero := intstr.FromInt32(0)
	if u.Order == "start-first" {
		ru.MaxSurge, ru.MaxUnavailable = &par, &zero
	} else {
		ru.MaxSurge, ru.MaxUnavailable = &zero, &par
	}
	st.RollingUpdate = ru
	t.approx(svcKey(name, "deploy", "update_config"), "RollingUpdate strategy: parallelism %s as max%s, order %q; delay, monitor, failure_action and max_failure_ratio have no Deployment equivalent", par.String(), map[bool]string{true: "Surge", false: "Unavailable"}[u.Order == "start-first"], u.Order)
	return st
}

// workloadMeta puts deploy.labels and the service's labels on the
// workload object.
func (t *translator) workloadMeta(m *metav1.ObjectMeta, name string, s types.ServiceConfig) {
	labels, annotations := t.splitLabels(svcKey(name, "labels"), s.Labels)
	if s.Deploy != nil && len(s.Deploy.Labels) > 0 {
		dl, da := t.splitLabels(svcKey(name, "deploy", "labels"), s.Deploy.Labels)
		for k, v := range dl {
			labels[k] = v
		}
		for k, v := range da {
			annotations[k] = v
		}
	}
	if len(labels) > 0 {
		m.Labels = labels
	}
	if len(annotations) > 0 {
		m.Annotations = annotations
	}
}

// podLabels: the service's labels that are valid Kubernetes labels, plus
// the network membership labels NetworkPolicies select on.
func (t *translator) podLabels(s types.ServiceConfig) map[string]string {
	labels, _ := t.splitLabels(nil, s.Labels)
	for _, n := range t.networksOf(s) {
		labels[LabelNetworkPrefix+networkLabel(n)] = "true"
	}
	return labels
}

func (t *translator) podAnnotations(name string, s types.ServiceConfig) map[string]string {
	_, ann := t.splitLabels(nil, s.Labels)
	for _, k := range sortedKeys(s.Annotations) {
		if errs := validationQualifiedName(k); errs != "" {
			t.dropped(svcKey(name, "annotations", k), "not a valid Kubernetes annotation key: %s", errs)
			continue
		}
		ann[k] = s.Annotations[k]
	}
	if len(s.Annotations) > 0 {
		t.mapped(svcKey(name, "annotations"), "pod template annotations")
	}
	if len(ann) == 0 {
		return nil
	}
	return ann
}
