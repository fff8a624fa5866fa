package translate

import (
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Labels every translated object carries.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by" // value ManagedBy
	ManagedBy      = "berth"
	LabelProject   = "com.docker.compose.project"
	LabelService   = "com.docker.compose.service"
	// LabelNetworkPrefix + network name = "true" marks the pods of the
	// services on a compose network; the network's NetworkPolicy selects
	// by it.
	LabelNetworkPrefix = "networks.berth.dev/"
)

// Images of the helper containers berth adds.
const (
	// WaitImage runs the init containers that wait for a dependency's
	// Service (busybox: nc and nslookup, a few MB).
	WaitImage = "busybox:1.37"
	// JobWaitImage runs the init containers that wait for a dependency's
	// Job to complete (kubectl wait, which needs the API).
	JobWaitImage = "registry.k8s.io/kubectl:v1.37.2"
)

// Options steer the translation; the zero value is usable.
type Options struct {
	Namespace    string             // default: the project name
	ServiceType  corev1.ServiceType // for published ports: NodePort (default) or LoadBalancer
	StorageClass string             // PVCs' storageClassName; "" = cluster default
	Registry     string             // when set, services with build: get image Registry/<project>-<service>:latest (what `k8s up --push` pushes)
	Liveness     bool               // also emit liveness probes from healthchecks

	// Model is the project as the files wrote it (project.Model), so
	// keys the loader resolves away (env_file, extends, include,
	// label_file, disabled services) get report lines too; nil skips
	// that pass.
	Model map[string]any

	// Files reads the files the project names (bind mount sources,
	// config and secret files); nil means the local file system.
	Files Files
}

// Files is the read access Translate needs to the project's files.
type Files interface {
	Stat(name string) (fs.FileInfo, error)
	ReadFile(name string) ([]byte, error)
	ReadDir(name string) ([]fs.DirEntry, error)
}

type osFiles struct{}

func (osFiles) Stat(name string) (fs.FileInfo, error)      { return os.Stat(name) }
func (osFiles) ReadFile(name string) ([]byte, error)       { return os.ReadFile(name) }
func (osFiles) ReadDir(name string) ([]fs.DirEntry, error) { return os.ReadDir(name) }

// Object is one translated Kubernetes object and where it came from.
type Object struct {
	Obj     runtime.Object // typed k8s.io/api object with TypeMeta (apiVersion/kind) and ObjectMeta (name, namespace except for cluster-scoped) set
	Service string         // compose service it came from ("" for project-wide)
	Key     []string       // compose key path it came from, e.g. {"services","web","ports"} — used to point at file:line when the server rejects it
}

// Verdicts of a report line.
const (
	Mapped       = "mapped"
	Approximated = "approximated"
	Dropped      = "dropped"
	Refused      = "refused"
)

// ReportLine is the verdict on one compose key.
type ReportLine struct {
	Key     string // dotted compose path: services.web.ports
	Verdict string // "mapped", "approximated", "dropped", "refused"
	Detail  string
}

// Result is a translated project.
type Result struct {
	Namespace string
	Objects   []Object
	Report    []ReportLine
}

// RefusalError lists what Translate refused; each line names the service
// and key.
type RefusalError struct {
	Refusals []ReportLine
}

func (e *RefusalError) Error() string {
	var b strings.Builder
	b.WriteString("cannot translate to Kubernetes:")
	for _, r := range e.Refusals {
		fmt.Fprintf(&b, "\n  %s: %s", r.Key, r.Detail)
	}
	return b.String()
}

// Translate turns the project into Kubernetes objects. When it refuses
// some key the error is a *RefusalError and the Result (with its report)
// is still returned, so callers can show what else was found.
func Translate(p *types.Project, o Options) (*Result, error) {
	t, err := newTranslator(p, o)
	if err != nil {
		return nil, err
	}
	t.run()
	r := &Result{Namespace: t.ns, Objects: t.objects, Report: t.report}
	var refused []ReportLine
	for _, l := range t.report {
		if l.Verdict == Refused {
			refused = append(refused, l)
		}
	}
	if len(refused) > 0 {
		return r, &RefusalError{Refusals: refused}
	}
	return r, nil
}

// translator holds one translation's state.
type translator struct {
	p        *types.Project
	o        Options
	files    Files
	ns       string
	names    map[string]string // compose service -> object name
	objects  []Object
	report   []ReportLine
	reported map[string]bool
	taken    map[string]string // "Kind/name" -> what claimed it
	jobs     map[string]bool   // services run as Jobs (one-shots)
	volUse   map[string][]string
	// jobWaiter: some pod waits for a Job, so the ServiceAccount that
	// may read Jobs is needed.
	jobWaiter bool
	// stsVolumes: named volumes that became a StatefulSet's claim
	// templates, by service.
	stsVolumes map[string]string
	// fileObjects: ConfigMaps/Secrets made from top-level configs and
	// secrets, by "configs/NAME" or "secrets/NAME".
	fileObjects map[string]fileObject
	// refusedServices were refused as a whole: their other keys are
	// reported as dropped with them.
	refusedServices map[string]bool
}

func newTranslator(p *types.Project, o Options) (*translator, error) {
	if p == nil {
		return nil, fmt.Errorf("translate: nil project")
	}
	if o.ServiceType == "" {
		o.ServiceType = corev1.ServiceTypeNodePort
	}
	if o.ServiceType != corev1.ServiceTypeNodePort && o.ServiceType != corev1.ServiceTypeLoadBalancer {
		return nil, fmt.Errorf("service type %q: want NodePort or LoadBalancer", o.ServiceType)
	}
	t := &translator{p: p, o: o, files: o.Files, reported: map[string]bool{}, taken: map[string]string{},
		jobs: map[string]bool{}, volUse: map[string][]string{}, stsVolumes: map[string]string{}, fileObjects: map[string]fileObject{}, refusedServices: map[string]bool{}}
	if t.files == nil {
		t.files = osFiles{}
	}
	t.ns = o.Namespace
	if t.ns == "" {
		t.ns = dnsLabel(p.Name)
	} else if errs := validateLabel(t.ns); errs != "" {
		return nil, fmt.Errorf("namespace %q: %s", t.ns, errs)
	}
	t.names = serviceNames(p.ServiceNames())
	return t, nil
}

func (t *translator) run() {
	t.namespace()
	t.scanUses()
	for _, name := range t.p.ServiceNames() {
		t.service(name, t.p.Services[name])
	}
	t.networkPolicies()
	for _, name := range t.p.ServiceNames() {
		t.cover(name, t.p.Services[name])
	}
	t.topLevel()
	t.coverModel()
	// Report lines in key order, a key's own line before its children.
	sort.SliceStable(t.report, func(i, j int) bool { return keyLess(t.report[i].Key, t.report[j].Key) })
}

// keyLess orders dotted keys segment by segment.
func keyLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] != bs[i] {
			return as[i] < bs[i]
		}
	}
	return len(as) < len(bs)
}

// line adds a report line; the first line for a key wins over the key
// table's generic verdict.
func (t *translator) line(key []string, verdict, format string, args ...any) {
	k := strings.Join(key, ".")
	t.reported[k] = true
	t.report = append(t.report, ReportLine{Key: k, Verdict: verdict, Detail: fmt.Sprintf(format, args...)})
}

func (t *translator) mapped(key []string, format string, args ...any) {
	t.line(key, Mapped, format, args...)
}
func (t *translator) approx(key []string, format string, args ...any) {
	t.line(key, Approximated, format, args...)
}
func (t *translator) dropped(key []string, format string, args ...any) {
	t.line(key, Dropped, format, args...)
}
func (t *translator) refuse(key []string, format string, args ...any) {
	t.line(key, Refused, format, args...)
}

// add records an object; an object whose kind and name another part of
// the project already claimed is refused, naming both.
func (t *translator) add(obj runtime.Object, service string, key ...string) bool {
	m, ok := obj.(metav1.Object)
	if !ok {
		panic(fmt.Sprintf("translate: %T has no ObjectMeta", obj))
	}
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	id := kind + "/" + m.GetName()
	from := strings.Join(key, ".")
	if prev, dup := t.taken[id]; dup {
		t.refuse(key, "%s %q would also be made from %s; rename one of them", kind, m.GetName(), prev)
		return false
	}
	t.taken[id] = from
	if kind != "Namespace" {
		m.SetNamespace(t.ns)
	}
	labels := m.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	for k, v := range t.baseLabels(service) {
		labels[k] = v
	}
	m.SetLabels(labels)
	t.objects = append(t.objects, Object{Obj: obj, Service: service, Key: key})
	return true
}

// baseLabels are the labels of every object of the service ("" for
// project-wide objects); selectors use the project and service labels.
func (t *translator) baseLabels(service string) map[string]string {
	l := map[string]string{LabelManagedBy: ManagedBy, LabelProject: LabelValue(t.p.Name)}
	if service != "" {
		l[LabelService] = LabelValue(service)
	}
	return l
}

// selector matches the pods of a service.
func (t *translator) selector(service string) map[string]string {
	return map[string]string{LabelProject: LabelValue(t.p.Name), LabelService: LabelValue(service)}
}

func (t *translator) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name}
}

func (t *translator) namespace() {
	ns := &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: t.meta(t.ns)}
	t.add(ns, "", "name")
	if t.o.Namespace != "" {
		t.mapped([]string{"name"}, "project %q; objects go into namespace %q (--namespace)", t.p.Name, t.ns)
	} else if t.ns != t.p.Name {
		t.approx([]string{"name"}, "namespace %q (project name %q made DNS-1123-safe)", t.ns, t.p.Name)
	} else {
		t.mapped([]string{"name"}, "Namespace %q; every object carries %s=%s", t.ns, LabelProject, t.p.Name)
	}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// scanUses finds which services use each named volume and which services
// others wait for to complete.
func (t *translator) scanUses() {
	for _, name := range t.p.ServiceNames() {
		s := t.p.Services[name]
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeVolume && v.Source != "" {
				t.volUse[v.Source] = appendUnique(t.volUse[v.Source], name)
			}
		}
		for _, vf := range s.VolumesFrom {
			src, _, _ := strings.Cut(vf, ":")
			if other, ok := t.p.Services[src]; ok {
				for _, v := range other.Volumes {
					if v.Type == types.VolumeTypeVolume && v.Source != "" {
						t.volUse[v.Source] = appendUnique(t.volUse[v.Source], name)
					}
				}
			}
		}
		for dep, d := range s.DependsOn {
			if d.Condition == types.ServiceConditionCompletedSuccessfully {
				t.jobs[dep] = true
			}
		}
	}
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func svcKey(service string, key ...string) []string {
	return append([]string{"services", service}, key...)
}
