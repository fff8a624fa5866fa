package translate

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// podSpec builds the pod of a service: its one container, the init
// containers of its dependencies and the pod-level settings.
func (t *translator) podSpec(name string, s types.ServiceConfig, kind string) corev1.PodSpec {
	c := corev1.Container{Name: t.names[name], Image: t.image(name, s)}
	t.command(name, s, &c)
	t.env(name, s, &c)
	c.Ports = t.containerPorts(name, s)
	c.ReadinessProbe, c.StartupProbe, c.LivenessProbe = t.probes(name, s)
	c.Resources = t.resources(name, s)
	c.SecurityContext = t.containerSecurity(name, s)
	c.Lifecycle = t.lifecycle(name, s)
	if s.WorkingDir != "" {
		c.WorkingDir = s.WorkingDir
		t.mapped(svcKey(name, "working_dir"), "container workingDir")
	}
	if s.Tty {
		c.TTY = true
		t.mapped(svcKey(name, "tty"), "container tty")
	}
	if s.StdinOpen {
		c.Stdin = true
		t.mapped(svcKey(name, "stdin_open"), "container stdin")
	}
	if pp := pullPolicy(s.PullPolicy); pp != "" {
		c.ImagePullPolicy = pp
		t.mapped(svcKey(name, "pull_policy"), "imagePullPolicy %s", pp)
	}

	pod := corev1.PodSpec{Containers: []corev1.Container{c}}
	pod.InitContainers = append(t.preStart(name, s, c), t.waits(name, s)...)
	for _, ic := range pod.InitContainers {
		if ic.Image == JobWaitImage {
			pod.ServiceAccountName = jobWaiterName
		}
	}
	t.podSettings(name, s, &pod)
	return pod
}

// image is the service's image; with a registry, a built service's image
// is the one `k8s up --push` pushes.
func (t *translator) image(name string, s types.ServiceConfig) string {
	if s.Build != nil {
		k := svcKey(name, "build")
		if t.o.Registry != "" {
			img := fmt.Sprintf("%s/%s-%s:latest", strings.TrimSuffix(t.o.Registry, "/"), t.p.Name, name)
			t.approx(k, "not built by the cluster: image %s, which `berth k8s up --push` builds and pushes", img)
			if s.Image != "" {
				t.approx(svcKey(name, "image"), "replaced by %s (--registry): the cluster pulls what `berth k8s up --push` pushed", img)
			}
			return img
		}
		img := s.Image
		if img == "" {
			img = t.p.Name + "-" + name
		}
		t.approx(k, "not built by the cluster: image %s must already be in a registry the cluster pulls from (use --registry and `berth k8s up --push`)", img)
		if s.Image != "" {
			t.mapped(svcKey(name, "image"), "container image %s", s.Image)
		}
		return img
	}
	t.mapped(svcKey(name, "image"), "container image %s", s.Image)
	return s.Image
}

func (t *translator) command(name string, s types.ServiceConfig, c *corev1.Container) {
	if s.Entrypoint != nil {
		c.Command = []string(s.Entrypoint)
		t.mapped(svcKey(name, "entrypoint"), "container command (replaces the image's ENTRYPOINT)")
		// Kubernetes, like Docker, ignores the image's CMD once the
		// command (entrypoint) is set and no args are given.
	}
	if s.Command != nil {
		c.Args = []string(s.Command)
		t.mapped(svcKey(name, "command"), "container args (replaces the image's CMD)")
	}
}

func (t *translator) env(name string, s types.ServiceConfig, c *corev1.Container) {
	for _, k := range sortedKeys(s.Environment) {
		v := s.Environment[k]
		if v == nil {
			t.dropped(svcKey(name, "environment", k), "no value: the variable was not set when the project was loaded")
			continue
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: *v})
	}
	if len(s.Environment) > 0 {
		t.mapped(svcKey(name, "environment"), "container env (%d variables, env_file contents included, interpolated at load time)", len(c.Env))
	}
	if len(s.EnvFiles) > 0 {
		t.mapped(svcKey(name, "env_file"), "read at load time into the container env")
	}
}

func pullPolicy(p string) corev1.PullPolicy {
	switch p {
	case types.PullPolicyAlways, types.PullPolicyRefresh:
		return corev1.PullAlways
	case types.PullPolicyNever:
		return corev1.PullNever
	case types.PullPolicyMissing, types.PullPolicyIfNotPresent, types.PullPolicyBuild:
		return corev1.PullIfNotPresent
	}
	return ""
}

// portSpec is one container port of a service.
type portSpec struct {
	port        int32
	protocol    corev1.Protocol
	name        string // compose's port name, where valid as a Service port name
	appProtocol string
}

// serviceName is the Service port name: compose's where it has a valid
// one, else protocol-port.
func (p portSpec) serviceName() string {
	if p.name != "" && len(validation.IsValidPortName(p.name)) == 0 {
		return p.name
	}
	return portName(string(p.protocol), p.port)
}

// servicePorts are the ports other services reach a service on: ports'
// targets and expose, once each.
func (t *translator) servicePorts(s types.ServiceConfig) []portSpec {
	var out []portSpec
	seen := map[string]bool{}
	names := map[string]bool{}
	addPort := func(port int32, proto string, name, app string) {
		p := protocol(proto)
		id := fmt.Sprintf("%d/%s", port, p)
		if port <= 0 || seen[id] {
			return
		}
		seen[id] = true
		if names[name] {
			name = ""
		}
		names[name] = true
		out = append(out, portSpec{port: port, protocol: p, name: name, appProtocol: app})
	}
	for _, p := range s.Ports {
		addPort(int32(p.Target), p.Protocol, p.Name, p.AppProtocol)
	}
	for _, e := range s.Expose {
		lo, hi, proto, err := parseExpose(e)
		if err != nil {
			continue
		}
		for port := lo; port <= hi && port-lo < 100; port++ {
			addPort(port, proto, "", "")
		}
	}
	return out
}

// parseExpose reads "80", "8000-8010", "53/udp".
func parseExpose(e string) (lo, hi int32, proto string, err error) {
	ports, proto, _ := strings.Cut(e, "/")
	a, b, isRange := strings.Cut(ports, "-")
	l, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return 0, 0, "", fmt.Errorf("expose %q: %w", e, err)
	}
	h := l
	if isRange {
		if h, err = strconv.ParseUint(b, 10, 16); err != nil {
			return 0, 0, "", fmt.Errorf("expose %q: %w", e, err)
		}
	}
	return int32(l), int32(h), proto, nil
}

func protocol(p string) corev1.Protocol {
	switch strings.ToLower(p) {
	case "udp":
		return corev1.ProtocolUDP
	case "sctp":
		return corev1.ProtocolSCTP
	}
	return corev1.ProtocolTCP
}

func (t *translator) containerPorts(name string, s types.ServiceConfig) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, e := range s.Expose {
		if _, _, _, err := parseExpose(e); err != nil {
			t.dropped(svcKey(name, "expose"), "%v", err)
		}
	}
	for _, p := range t.servicePorts(s) {
		out = append(out, corev1.ContainerPort{ContainerPort: p.port, Protocol: p.protocol})
	}
	if len(s.Expose) > 0 {
		t.mapped(svcKey(name, "expose"), "ClusterIP ports of Service %q (other services reach them; nothing is published)", t.names[name])
	}
	return out
}

// resources maps deploy.resources and the service-level cpus/mem_*
// shorthands; GPUs become nvidia.com/gpu.
func (t *translator) resources(name string, s types.ServiceConfig) corev1.ResourceRequirements {
	var rr corev1.ResourceRequirements
	if s.Deploy != nil {
		if l := s.Deploy.Resources.Limits; l != nil {
			t.resourceLimits(name, l, &rr)
		}
		if r := s.Deploy.Resources.Reservations; r != nil {
			t.resourceReservations(name, r, &rr)
		}
	}
	if s.CPUS > 0 {
		setResource(&rr.Limits, corev1.ResourceCPU, cpuQuantity(float64(s.CPUS)))
		t.mapped(svcKey(name, "cpus"), "container resources.limits.cpu")
	}
	if s.MemLimit > 0 {
		setResource(&rr.Limits, corev1.ResourceMemory, memQuantity(int64(s.MemLimit)))
		t.mapped(svcKey(name, "mem_limit"), "container resources.limits.memory")
	}
	if s.MemReservation > 0 {
		setResource(&rr.Requests, corev1.ResourceMemory, memQuantity(int64(s.MemReservation)))
		t.mapped(svcKey(name, "mem_reservation"), "container resources.requests.memory")
	}
	if len(s.Gpus) > 0 {
		t.gpus(&rr, &rr.Limits, svcKey(name, "gpus"), s.Gpus)
	}
	// A request above the limit is invalid; Compose lets it pass.
	for n, req := range rr.Requests {
		if lim, ok := rr.Limits[n]; ok && req.Cmp(lim) > 0 {
			rr.Requests[n] = lim
			t.approx(svcKey(name, "deploy", "resources"), "%s reservation above the limit lowered to the limit (Kubernetes rejects requests above limits)", n)
		}
	}
	return rr
}

// resourceLimits maps deploy.resources.limits to the container's limits;
// pids has no per-container equivalent.
func (t *translator) resourceLimits(name string, l *types.Resource, rr *corev1.ResourceRequirements) {
	k := svcKey(name, "deploy", "resources", "limits")
	setCPUAndMemory(&rr.Limits, l)
	if l.Pids > 0 {
		t.dropped(append(k, "pids"), "Kubernetes sets pid limits per node (kubelet podPidsLimit), not per container")
	}
	t.gpus(rr, &rr.Limits, append(k, "devices"), l.Devices)
	t.mapped(k, "container resources.limits")
}

// resourceReservations maps deploy.resources.reservations to the
// container's requests; Swarm generic resources are dropped.
func (t *translator) resourceReservations(name string, r *types.Resource, rr *corev1.ResourceRequirements) {
	k := svcKey(name, "deploy", "resources", "reservations")
	setCPUAndMemory(&rr.Requests, r)
	t.gpus(rr, &rr.Requests, append(k, "devices"), r.Devices)
	for _, g := range r.GenericResources {
		if g.DiscreteResourceSpec != nil {
			t.dropped(append(k, "generic_resources"), "Swarm generic resource %q: name the Kubernetes extended resource in deploy.resources devices instead", g.DiscreteResourceSpec.Kind)
		}
	}
	t.mapped(k, "container resources.requests")
}

// setCPUAndMemory sets the cpu and memory in l that r sets.
func setCPUAndMemory(l *corev1.ResourceList, r *types.Resource) {
	if r.NanoCPUs > 0 {
		setResource(l, corev1.ResourceCPU, cpuQuantity(float64(r.NanoCPUs)))
	}
	if r.MemoryBytes > 0 {
		setResource(l, corev1.ResourceMemory, memQuantity(int64(r.MemoryBytes)))
	}
}

// gpus adds the GPUs among device requests reqs to l as nvidia.com/gpu,
// and to both limits and requests of rr: extended resources must be
// requested as much as limited. Other devices are dropped.
func (t *translator) gpus(rr *corev1.ResourceRequirements, l *corev1.ResourceList, key []string, reqs []types.DeviceRequest) {
	var n int64
	for _, d := range reqs {
		if !isGPU(d) {
			t.dropped(key, "device request for %v: only GPUs (nvidia.com/gpu) have a Kubernetes resource name here", d.Capabilities)
			continue
		}
		c, guessed := gpuCount(d)
		if guessed {
			t.approx(key, "GPU count %q: Kubernetes needs a number; asked for %d nvidia.com/gpu (device_ids are chosen by the device plugin)", countText(d), c)
		}
		n += c
	}
	if n > 0 {
		q := *resource.NewQuantity(n, resource.DecimalSI)
		setResource(l, "nvidia.com/gpu", q)
		setResource(&rr.Limits, "nvidia.com/gpu", q)
		setResource(&rr.Requests, "nvidia.com/gpu", q)
		t.mapped(key, "nvidia.com/gpu: %d (limits and requests: Kubernetes requires both equal for extended resources)", n)
	}
}

// gpuCount is how many GPUs a device request asks for; guessed is true
// when its count is not a number ("all" or unset): then it is the number
// of device_ids, or 1.
func gpuCount(d types.DeviceRequest) (n int64, guessed bool) {
	if c := int64(d.Count); c > 0 {
		return c, false
	}
	if len(d.IDs) > 0 {
		return int64(len(d.IDs)), true
	}
	return 1, true
}

// setResource sets resource n of *l to q, making the list if need be.
func setResource(l *corev1.ResourceList, n corev1.ResourceName, q resource.Quantity) {
	if *l == nil {
		*l = corev1.ResourceList{}
	}
	(*l)[n] = q
}

// cpuQuantity is v CPUs in millicores, rounded to the nearest.
func cpuQuantity(v float64) resource.Quantity {
	return *resource.NewMilliQuantity(int64(v*1000+0.5), resource.DecimalSI)
}

// memQuantity is v bytes as a binary quantity.
func memQuantity(v int64) resource.Quantity { return *resource.NewQuantity(v, resource.BinarySI) }

func isGPU(d types.DeviceRequest) bool {
	if d.Driver == "nvidia" {
		return true
	}
	for _, c := range d.Capabilities {
		if c == "gpu" {
			return true
		}
	}
	return false
}

func countText(d types.DeviceRequest) string {
	if d.Count < 0 {
		return "all"
	}
	return strconv.FormatInt(int64(d.Count), 10)
}
