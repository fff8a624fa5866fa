package translate

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
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
	port     int32
	protocol corev1.Protocol
	name     string
}

// servicePorts are the ports other services reach a service on: ports'
// targets and expose, once each.
func (t *translator) servicePorts(s types.ServiceConfig) []portSpec {
	var out []portSpec
	seen := map[string]bool{}
	addPort := func(port int32, proto string, name string) {
		p := protocol(proto)
		id := fmt.Sprintf("%d/%s", port, p)
		if port <= 0 || seen[id] {
			return
		}
		seen[id] = true
		out = append(out, portSpec{port: port, protocol: p, name: name})
	}
	for _, p := range s.Ports {
		addPort(int32(p.Target), p.Protocol, p.Name)
	}
	for _, e := range s.Expose {
		lo, hi, proto, err := parseExpose(e)
		if err != nil {
			continue
		}
		for port := lo; port <= hi && port-lo < 100; port++ {
			addPort(port, proto, "")
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
	set := func(l *corev1.ResourceList, n corev1.ResourceName, q resource.Quantity) {
		if *l == nil {
			*l = corev1.ResourceList{}
		}
		(*l)[n] = q
	}
	cpu := func(v float64) resource.Quantity {
		return *resource.NewMilliQuantity(int64(v*1000+0.5), resource.DecimalSI)
	}
	mem := func(v int64) resource.Quantity { return *resource.NewQuantity(v, resource.BinarySI) }
	gpus := func(l *corev1.ResourceList, key []string, reqs []types.DeviceRequest) {
		var n int64
		for _, d := range reqs {
			if !isGPU(d) {
				t.dropped(key, "device request for %v: only GPUs (nvidia.com/gpu) have a Kubernetes resource name here", d.Capabilities)
				continue
			}
			c := int64(d.Count)
			if c <= 0 {
				c = 1
				if len(d.IDs) > 0 {
					c = int64(len(d.IDs))
				}
				t.approx(key, "GPU count %q: Kubernetes needs a number; asked for %d nvidia.com/gpu (device_ids are chosen by the device plugin)", countText(d), c)
			}
			n += c
		}
		if n > 0 {
			q := *resource.NewQuantity(n, resource.DecimalSI)
			set(l, "nvidia.com/gpu", q)
			// Extended resources must be requested as much as limited.
			set(&rr.Limits, "nvidia.com/gpu", q)
			set(&rr.Requests, "nvidia.com/gpu", q)
			t.mapped(key, "nvidia.com/gpu: %d (limits and requests: Kubernetes requires both equal for extended resources)", n)
		}
	}
	if s.Deploy != nil {
		if l := s.Deploy.Resources.Limits; l != nil {
			k := svcKey(name, "deploy", "resources", "limits")
			if l.NanoCPUs > 0 {
				set(&rr.Limits, corev1.ResourceCPU, cpu(float64(l.NanoCPUs)))
			}
			if l.MemoryBytes > 0 {
				set(&rr.Limits, corev1.ResourceMemory, mem(int64(l.MemoryBytes)))
			}
			if l.Pids > 0 {
				t.dropped(append(k, "pids"), "Kubernetes sets pid limits per node (kubelet podPidsLimit), not per container")
			}
			gpus(&rr.Limits, append(k, "devices"), l.Devices)
			t.mapped(k, "container resources.limits")
		}
		if r := s.Deploy.Resources.Reservations; r != nil {
			k := svcKey(name, "deploy", "resources", "reservations")
			if r.NanoCPUs > 0 {
				set(&rr.Requests, corev1.ResourceCPU, cpu(float64(r.NanoCPUs)))
			}
			if r.MemoryBytes > 0 {
				set(&rr.Requests, corev1.ResourceMemory, mem(int64(r.MemoryBytes)))
			}
			gpus(&rr.Requests, append(k, "devices"), r.Devices)
			for _, g := range r.GenericResources {
				if g.DiscreteResourceSpec != nil {
					t.dropped(append(k, "generic_resources"), "Swarm generic resource %q: name the Kubernetes extended resource in deploy.resources devices instead", g.DiscreteResourceSpec.Kind)
				}
			}
			t.mapped(k, "container resources.requests")
		}
	}
	if s.CPUS > 0 {
		set(&rr.Limits, corev1.ResourceCPU, cpu(float64(s.CPUS)))
		t.mapped(svcKey(name, "cpus"), "container resources.limits.cpu")
	}
	if s.MemLimit > 0 {
		set(&rr.Limits, corev1.ResourceMemory, mem(int64(s.MemLimit)))
		t.mapped(svcKey(name, "mem_limit"), "container resources.limits.memory")
	}
	if s.MemReservation > 0 {
		set(&rr.Requests, corev1.ResourceMemory, mem(int64(s.MemReservation)))
		t.mapped(svcKey(name, "mem_reservation"), "container resources.requests.memory")
	}
	if len(s.Gpus) > 0 {
		gpus(&rr.Limits, svcKey(name, "gpus"), s.Gpus)
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

// lifecycle maps post_start and pre_stop hooks to exec handlers; several
// hooks run in order in one shell.
func (t *translator) lifecycle(name string, s types.ServiceConfig) *corev1.Lifecycle {
	handler := func(key string, hooks []types.ServiceHook) *corev1.LifecycleHandler {
		if len(hooks) == 0 {
			return nil
		}
		k := svcKey(name, key)
		var cmd []string
		if len(hooks) == 1 {
			cmd = hooks[0].Command
		} else {
			parts := make([]string, len(hooks))
			for i, h := range hooks {
				parts[i] = shellJoin(h.Command)
			}
			cmd = []string{"/bin/sh", "-c", strings.Join(parts, " && ")}
		}
		var lost []string
		for _, h := range hooks {
			if h.User != "" {
				lost = append(lost, "user")
			}
			if h.Privileged {
				lost = append(lost, "privileged")
			}
			if h.WorkingDir != "" {
				lost = append(lost, "working_dir")
			}
			if len(h.Environment) > 0 {
				lost = append(lost, "environment")
			}
		}
		switch {
		case len(lost) > 0:
			t.approx(k, "lifecycle exec handler; the hooks' %s cannot be set on a handler (it runs as the container does)", strings.Join(lost, ", "))
		case len(hooks) > 1:
			t.approx(k, "one lifecycle exec handler running the %d hooks in order with /bin/sh -c", len(hooks))
		default:
			t.mapped(k, "lifecycle exec handler")
		}
		return &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: cmd}}
	}
	post := handler("post_start", s.PostStart)
	pre := handler("pre_stop", s.PreStop)
	if post == nil && pre == nil {
		return nil
	}
	return &corev1.Lifecycle{PostStart: post, PreStop: pre}
}

// shellJoin quotes args for /bin/sh.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

// preStart maps pre_start hooks to init containers run before the
// service's container, in its image unless the hook names another.
func (t *translator) preStart(name string, s types.ServiceConfig, main corev1.Container) []corev1.Container {
	var out []corev1.Container
	for i, h := range s.PreStart {
		c := corev1.Container{
			Name:         fmt.Sprintf("pre-start-%d", i),
			Image:        main.Image,
			Command:      main.Command,
			Args:         main.Args,
			Env:          main.Env,
			WorkingDir:   main.WorkingDir,
			VolumeMounts: nil,
		}
		if h.Image != "" {
			c.Image = h.Image
		}
		if h.Entrypoint != nil {
			c.Command = h.Entrypoint
		}
		if h.Command != nil {
			c.Args = h.Command
		}
		if h.WorkingDir != "" {
			c.WorkingDir = h.WorkingDir
		}
		for _, k := range sortedKeys(h.Environment) {
			if v := h.Environment[k]; v != nil {
				c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: *v})
			}
		}
		out = append(out, c)
	}
	if len(out) > 0 {
		t.approx(svcKey(name, "pre_start"), "init containers pre-start-N, run before the service's container in every pod (per replica); image, command, entrypoint, environment and working_dir kept, other container keys of the hook not")
	}
	return out
}

// podSettings maps the pod-level keys.
func (t *translator) podSettings(name string, s types.ServiceConfig, pod *corev1.PodSpec) {
	if s.StopGracePeriod != nil {
		secs := ceilSeconds(time.Duration(*s.StopGracePeriod))
		pod.TerminationGracePeriodSeconds = ptr.To(secs)
		t.mapped(svcKey(name, "stop_grace_period"), "terminationGracePeriodSeconds: %d", secs)
	}
	if s.Hostname != "" {
		if errs := validateLabelLower(s.Hostname); errs == "" {
			pod.Hostname = s.Hostname
			t.mapped(svcKey(name, "hostname"), "pod hostname")
		} else {
			t.dropped(svcKey(name, "hostname"), "%q is not a valid pod hostname (%s)", s.Hostname, errs)
		}
	}
	if s.DomainName != "" {
		t.dropped(svcKey(name, "domainname"), "a pod's domain is set by its Service and namespace (subdomain), not freely")
	}
	if len(s.DNS) > 0 || len(s.DNSSearch) > 0 || len(s.DNSOpts) > 0 {
		dc := &corev1.PodDNSConfig{Nameservers: s.DNS, Searches: s.DNSSearch}
		for _, o := range s.DNSOpts {
			n, v, hasValue := strings.Cut(o, ":")
			opt := corev1.PodDNSConfigOption{Name: n}
			if hasValue {
				opt.Value = ptr.To(v)
			}
			dc.Options = append(dc.Options, opt)
		}
		pod.DNSConfig = dc
		for k, set := range map[string]bool{"dns": len(s.DNS) > 0, "dns_search": len(s.DNSSearch) > 0, "dns_opt": len(s.DNSOpts) > 0} {
			if set {
				t.approx(svcKey(name, k), "pod dnsConfig, added to the cluster's DNS settings (dnsPolicy ClusterFirst), so service names still resolve")
			}
		}
	}
	for _, h := range sortedKeys(hostMap(s.ExtraHosts)) {
		ips := hostMap(s.ExtraHosts)[h]
		for _, ip := range ips {
			if ip == "host-gateway" {
				t.dropped(svcKey(name, "extra_hosts", h), "host-gateway: a pod has no single host to point at")
				continue
			}
			if net.ParseIP(ip) == nil {
				t.dropped(svcKey(name, "extra_hosts", h), "%q is not an IP address", ip)
				continue
			}
			pod.HostAliases = appendHostAlias(pod.HostAliases, ip, h)
		}
	}
	if len(pod.HostAliases) > 0 {
		t.mapped(svcKey(name, "extra_hosts"), "pod hostAliases")
	}
	if s.Init != nil && *s.Init {
		pod.ShareProcessNamespace = ptr.To(true)
		t.approx(svcKey(name, "init"), "shareProcessNamespace: the pod's pause process is PID 1 and reaps zombies, as docker-init does; containers of the pod see each other's processes")
	}
	switch s.NetworkMode {
	case "host":
		pod.HostNetwork = true
		t.mapped(svcKey(name, "network_mode"), "hostNetwork: true")
	case "", "bridge", "default":
	case "none":
		t.dropped(svcKey(name, "network_mode"), "network_mode none: every pod gets a network; no NetworkPolicy membership is added for it")
	default:
		t.dropped(svcKey(name, "network_mode"), "network_mode %q has no Kubernetes equivalent; the pod joins the cluster network", s.NetworkMode)
	}
	if s.Pid == "host" {
		pod.HostPID = true
		t.mapped(svcKey(name, "pid"), "hostPID: true")
	} else if s.Pid != "" {
		t.dropped(svcKey(name, "pid"), "pid %q: only host (hostPID) has a Kubernetes equivalent", s.Pid)
	}
	if s.Ipc == "host" {
		pod.HostIPC = true
		t.mapped(svcKey(name, "ipc"), "hostIPC: true")
	} else if s.Ipc != "" {
		t.dropped(svcKey(name, "ipc"), "ipc %q: containers of one pod share IPC; across services there is no equivalent", s.Ipc)
	}
	if s.Platform != "" {
		parts := strings.Split(s.Platform, "/")
		pod.NodeSelector = map[string]string{"kubernetes.io/os": parts[0]}
		if len(parts) > 1 {
			pod.NodeSelector["kubernetes.io/arch"] = parts[1]
		}
		t.mapped(svcKey(name, "platform"), "nodeSelector kubernetes.io/os and kubernetes.io/arch")
	}
	if s.Runtime != "" {
		pod.RuntimeClassName = ptr.To(dnsLabel(s.Runtime))
		t.approx(svcKey(name, "runtime"), "runtimeClassName %q: a RuntimeClass of that name must exist in the cluster", dnsLabel(s.Runtime))
	}
	if s.Deploy != nil && len(s.Deploy.Placement.Constraints) > 0 {
		t.placement(name, s.Deploy.Placement.Constraints, pod)
	}
	t.podSecurity(name, s, pod)
	if s.ShmSize > 0 {
		q := resource.NewQuantity(int64(s.ShmSize), resource.BinarySI)
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: q}}})
		pod.Containers[0].VolumeMounts = append(pod.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "dshm", MountPath: "/dev/shm"})
		t.approx(svcKey(name, "shm_size"), "memory-backed emptyDir of %s mounted at /dev/shm", q)
	}
}

// validateLabelLower says why h is not a DNS-1123 label, or "".
func validateLabelLower(h string) string {
	return strings.Join(validationDNS1123Label(h), "; ")
}

// hostMap is extra_hosts as name -> addresses.
func hostMap(h types.HostsList) map[string][]string {
	return map[string][]string(h)
}

func appendHostAlias(aliases []corev1.HostAlias, ip, host string) []corev1.HostAlias {
	for i := range aliases {
		if aliases[i].IP == ip {
			aliases[i].Hostnames = append(aliases[i].Hostnames, host)
			return aliases
		}
	}
	return append(aliases, corev1.HostAlias{IP: ip, Hostnames: []string{host}})
}

// placement maps Swarm constraints that name node labels or hostnames.
func (t *translator) placement(name string, constraints []string, pod *corev1.PodSpec) {
	k := svcKey(name, "deploy", "placement", "constraints")
	var kept, lost []string
	for _, c := range constraints {
		l, r, ok := strings.Cut(c, "==")
		l, r = strings.TrimSpace(l), strings.TrimSpace(r)
		var key string
		switch {
		case !ok:
		case strings.HasPrefix(l, "node.labels."):
			key = strings.TrimPrefix(l, "node.labels.")
		case l == "node.hostname":
			key = "kubernetes.io/hostname"
		case l == "node.platform.os":
			key = "kubernetes.io/os"
		case l == "node.platform.arch":
			key = "kubernetes.io/arch"
		}
		if key == "" || validationQualifiedName(key) != "" || validationLabelValue(r) != "" {
			lost = append(lost, c)
			continue
		}
		if pod.NodeSelector == nil {
			pod.NodeSelector = map[string]string{}
		}
		pod.NodeSelector[key] = r
		kept = append(kept, c)
	}
	switch {
	case len(lost) == 0:
		t.mapped(k, "nodeSelector")
	case len(kept) == 0:
		t.dropped(k, "%s: only node.labels.X==V, node.hostname==H and node.platform.os/arch==V map to a nodeSelector", strings.Join(lost, ", "))
	default:
		t.approx(k, "nodeSelector from %s; dropped %s (only == on node labels, hostname and platform map)", strings.Join(kept, ", "), strings.Join(lost, ", "))
	}
}
