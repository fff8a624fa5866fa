package translate

import (
	"reflect"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// rule is the verdict on a service key that the translation did not
// report on itself (most often: a key Kubernetes has no place for).
type rule struct {
	verdict, detail string
}

// serviceKeys has an entry for every key of compose-go's ServiceConfig
// (TestServiceKeysCoverServiceConfig fails when compose-go grows one
// without it). Keys the translation maps report their own line; the
// entry is the fallback.
var serviceKeys = map[string]rule{
	"annotations":         {Mapped, "pod template annotations"},
	"attach":              {Dropped, "log attachment is a `berth up` concern; use `berth k8s logs`"},
	"blkio_config":        {Dropped, "Kubernetes has no block I/O weights or limits"},
	"build":               {Approximated, "not built by the cluster"},
	"cap_add":             {Mapped, "securityContext capabilities.add"},
	"cap_drop":            {Mapped, "securityContext capabilities.drop"},
	"cgroup":              {Dropped, "the kubelet owns cgroups"},
	"cgroup_parent":       {Dropped, "the kubelet owns cgroups"},
	"command":             {Mapped, "container args"},
	"configs":             {Mapped, "ConfigMap volumes"},
	"container_name":      {Mapped, "a Service of that name"},
	"cpu_count":           {Dropped, "Windows only; Kubernetes has cpu limits"},
	"cpu_percent":         {Dropped, "Windows only; Kubernetes has cpu limits"},
	"cpu_period":          {Dropped, "CFS tuning is the kubelet's; use deploy.resources.limits.cpus"},
	"cpu_quota":           {Dropped, "CFS tuning is the kubelet's; use deploy.resources.limits.cpus"},
	"cpu_rt_period":       {Dropped, "Kubernetes has no real-time scheduling settings"},
	"cpu_rt_runtime":      {Dropped, "Kubernetes has no real-time scheduling settings"},
	"cpus":                {Mapped, "resources.limits.cpu"},
	"cpuset":              {Dropped, "CPU pinning is the kubelet's CPU manager policy"},
	"cpu_shares":          {Dropped, "relative weights come from resources.requests.cpu"},
	"credential_spec":     {Dropped, "Windows gMSA credential specs are set through windowsOptions, not translated"},
	"depends_on":          {Mapped, "init containers"},
	"deploy":              {Mapped, "workload kind, replicas, resources, placement"},
	"develop":             {Dropped, "`berth watch` works on local containers only"},
	"device_cgroup_rules": {Dropped, "devices reach pods through device plugins"},
	"devices":             {Dropped, "host devices reach pods through device plugins (or privileged: true)"},
	"dns":                 {Approximated, "pod dnsConfig"},
	"dns_opt":             {Approximated, "pod dnsConfig"},
	"dns_search":          {Approximated, "pod dnsConfig"},
	"dockerfile":          {Dropped, "build details stay with the build"},
	"domainname":          {Dropped, "set by the Service and namespace"},
	"entrypoint":          {Mapped, "container command"},
	"env_file":            {Mapped, "read into the container env at load time"},
	"environment":         {Mapped, "container env"},
	"expose":              {Mapped, "ClusterIP Service ports"},
	"extends":             {Mapped, "resolved when the project was loaded"},
	"external_links":      {Dropped, "containers outside the project do not exist in the cluster"},
	"extra_hosts":         {Mapped, "pod hostAliases"},
	"gpus":                {Mapped, "nvidia.com/gpu"},
	"group_add":           {Mapped, "supplementalGroups"},
	"healthcheck":         {Mapped, "probes"},
	"hostname":            {Mapped, "pod hostname"},
	"image":               {Mapped, "container image"},
	"init":                {Approximated, "shareProcessNamespace"},
	"ipc":                 {Dropped, "no IPC namespace sharing across pods"},
	"isolation":           {Dropped, "Windows isolation mode has no pod equivalent"},
	"label_file":          {Mapped, "read into labels at load time"},
	"labels":              {Mapped, "labels and annotations"},
	"links":               {Mapped, "names resolve through Services"},
	"log_driver":          {Dropped, "container logs are the cluster's (kubectl logs, berth k8s logs)"},
	"log_opt":             {Dropped, "container logs are the cluster's"},
	"logging":             {Dropped, "container logs are the cluster's (kubectl logs, berth k8s logs)"},
	"mac_address":         {Dropped, "pod addresses are the CNI plugin's"},
	"mem_limit":           {Mapped, "resources.limits.memory"},
	"mem_reservation":     {Mapped, "resources.requests.memory"},
	"mem_swappiness":      {Dropped, "swap is a node setting"},
	"memswap_limit":       {Dropped, "swap is a node setting"},
	"models":              {Dropped, "Docker Model Runner is not available in Kubernetes"},
	"net":                 {Dropped, "legacy key"},
	"network_mode":        {Mapped, "hostNetwork"},
	"networks":            {Mapped, "NetworkPolicy membership"},
	"oom_kill_disable":    {Dropped, "the kubelet manages OOM behaviour (QoS classes)"},
	"oom_score_adj":       {Dropped, "the kubelet sets oom_score_adj from the QoS class"},
	"pid":                 {Mapped, "hostPID"},
	"pids_limit":          {Dropped, "pid limits are per node (kubelet podPidsLimit)"},
	"platform":            {Mapped, "nodeSelector"},
	"ports":               {Mapped, "Services"},
	"post_start":          {Mapped, "lifecycle postStart"},
	"pre_start":           {Approximated, "init containers"},
	"pre_stop":            {Mapped, "lifecycle preStop"},
	"privileged":          {Mapped, "securityContext privileged"},
	"profiles":            {Mapped, "only the services of the active profiles are translated"},
	"provider":            {Refused, "provider services are not containers"},
	"pull_policy":         {Mapped, "imagePullPolicy"},
	"pull_refresh_after":  {Dropped, "the kubelet pulls per imagePullPolicy"},
	"read_only":           {Mapped, "readOnlyRootFilesystem"},
	"restart":             {Mapped, "restartPolicy"},
	"runtime":             {Approximated, "runtimeClassName"},
	"scale":               {Mapped, "replicas"},
	"secrets":             {Mapped, "Secret volumes"},
	"security_opt":        {Approximated, "securityContext"},
	"shm_size":            {Approximated, "memory emptyDir at /dev/shm"},
	"stdin_open":          {Mapped, "container stdin"},
	"stop_grace_period":   {Mapped, "terminationGracePeriodSeconds"},
	"stop_signal":         {Approximated, "a preStop handler sends the signal"},
	"storage_opt":         {Dropped, "ephemeral storage is limited with resources, not driver options"},
	"sysctls":             {Approximated, "pod securityContext.sysctls"},
	"tmpfs":               {Approximated, "memory emptyDir"},
	"tty":                 {Mapped, "container tty"},
	"ulimits":             {Dropped, "Kubernetes has no per-container rlimits"},
	"umask":               {Dropped, "Kubernetes has no umask setting; set it in the entrypoint"},
	"use_api_socket":      {Dropped, "there is no Docker API socket in a pod"},
	"user":                {Mapped, "runAsUser"},
	"userns_mode":         {Dropped, "user namespaces are the pod's hostUsers setting, left at the cluster's default"},
	"uts":                 {Dropped, "Kubernetes has no UTS namespace sharing"},
	"volume_driver":       {Dropped, "storage comes from the storage class"},
	"volumes":             {Mapped, "volumes"},
	"volumes_from":        {Approximated, "the named volumes of the other service, shared"},
	"working_dir":         {Mapped, "container workingDir"},
}

// serviceFields lists the keys of a ServiceConfig that are set, by their
// YAML name, walking inline structs.
func serviceFields(s types.ServiceConfig) []string {
	var out []string
	walkFields(reflect.ValueOf(s), func(key string, v reflect.Value) {
		if set(v) {
			out = append(out, key)
		}
	})
	sort.Strings(out)
	return out
}

// walkFields calls fn for every YAML key of struct v (inline structs
// flattened); fields without a YAML key (name, extensions, -) are skipped.
func walkFields(v reflect.Value, fn func(key string, v reflect.Value)) {
	tp := v.Type()
	for i := 0; i < tp.NumField(); i++ {
		f := tp.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") && !strings.HasPrefix(name, "#") {
			walkFields(v.Field(i), fn)
			continue
		}
		if name == "" || name == "-" || strings.HasPrefix(name, "#") || name == "name" {
			continue
		}
		fn(name, v.Field(i))
	}
}

// cover gives every set key of a service a report line: its own where
// the translation made one, else the key table's, else "dropped".
func (t *translator) cover(name string, s types.ServiceConfig) {
	for _, key := range serviceFields(s) {
		k := svcKey(name, key)
		if t.reportedUnder(strings.Join(k, ".")) {
			continue
		}
		r, ok := serviceKeys[key]
		if t.refusedServices[name] {
			t.dropped(k, "not translated: the service is refused")
			continue
		}
		if !ok {
			t.dropped(k, "berth does not know this key")
			continue
		}
		t.line(k, r.verdict, "%s", r.detail)
	}
	for _, x := range sortedKeys(s.Extensions) {
		t.dropped(svcKey(name, x), "extension: ignored")
	}
	if s.Deploy != nil && !t.refusedServices[name] {
		walkFields(reflect.ValueOf(*s.Deploy), func(key string, v reflect.Value) {
			k := svcKey(name, "deploy", key)
			if !set(v) || t.reportedUnder(strings.Join(k, ".")) {
				return
			}
			r, ok := deployKeys[key]
			if !ok {
				r = rule{Dropped, "berth does not know this key"}
			}
			t.line(k, r.verdict, "%s", r.detail)
		})
	}
}

// set says whether a field holds a value (an empty map or list does not).
func set(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Map, reflect.Slice:
		return v.Len() > 0
	}
	return !v.IsZero()
}

// deployKeys: the verdicts on deploy's keys the translation did not
// report on itself.
var deployKeys = map[string]rule{
	"mode":            {Mapped, "replicated: a Deployment (global: DaemonSet)"},
	"replicas":        {Mapped, "replicas"},
	"labels":          {Mapped, "labels of the workload object"},
	"update_config":   {Approximated, "Deployment strategy"},
	"rollback_config": {Dropped, "Kubernetes rolls back on request (kubectl rollout undo), not by policy"},
	"resources":       {Mapped, "container resources"},
	"restart_policy":  {Dropped, "a Deployment always restarts its containers, with the kubelet's back-off; Jobs take restart"},
	"placement":       {Dropped, "only constraints map (to a nodeSelector); preferences and max_replicas_per_node need affinity or topology spread rules written by hand"},
	"endpoint_mode":   {Mapped, "Service kind"},
}

// reportedUnder says whether a line was made for key or a key below it.
func (t *translator) reportedUnder(key string) bool {
	if t.reported[key] {
		return true
	}
	for k := range t.reported {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// topLevel reports the project's volumes (making their claims), configs,
// secrets and the keys outside services.
func (t *translator) topLevel() {
	if t.jobWaiter {
		t.jobWaiterObjects()
	}
	t.projectVolumes()
	for _, n := range sortedKeys(t.p.Configs) {
		if !t.reportedUnder("configs." + n) {
			t.dropped([]string{"configs", n}, "no service uses it")
		}
	}
	for _, n := range sortedKeys(t.p.Secrets) {
		if !t.reportedUnder("secrets." + n) {
			t.dropped([]string{"secrets", n}, "no service uses it")
		}
	}
	for _, n := range sortedKeys(t.p.Jobs) {
		t.dropped([]string{"jobs", n}, "top-level jobs are not translated")
	}
	for _, n := range sortedKeys(t.p.Models) {
		t.dropped([]string{"models", n}, "Docker Model Runner is not available in Kubernetes")
	}
	for _, x := range sortedKeys(t.p.Extensions) {
		t.dropped([]string{x}, "extension: ignored")
	}
	for _, n := range sortedKeys(t.p.DisabledServices) {
		t.dropped([]string{"services", n}, "its profile is not active")
	}
}

// splitLabels: compose labels that are valid Kubernetes labels, and the
// rest (values with spaces, long keys) as annotations. With a key, it
// reports what it did.
func (t *translator) splitLabels(key []string, in map[string]string) (labels, annotations map[string]string) {
	labels, annotations = map[string]string{}, map[string]string{}
	var moved, lost []string
	for _, k := range sortedKeys(in) {
		v := in[k]
		switch {
		case validationQualifiedName(k) != "":
			lost = append(lost, k)
		case validationLabelValue(v) == "":
			labels[k] = v
		default:
			annotations[k] = v
			moved = append(moved, k)
		}
	}
	if key == nil || len(in) == 0 {
		return labels, annotations
	}
	switch {
	case len(moved) == 0 && len(lost) == 0:
		t.mapped(key, "kept as Kubernetes labels")
	case len(lost) > 0:
		t.approx(key, "labels; dropped %s (not valid Kubernetes keys)%s", strings.Join(lost, ", "), movedNote(moved))
	default:
		t.approx(key, "labels%s", movedNote(moved))
	}
	return labels, annotations
}

func movedNote(moved []string) string {
	if len(moved) == 0 {
		return ""
	}
	return "; " + strings.Join(moved, ", ") + " kept as annotations (the values are not valid label values)"
}
