package translate

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// podSettings maps the pod-level keys, one step per group of keys.
func (t *translator) podSettings(name string, s types.ServiceConfig, pod *corev1.PodSpec) {
	if s.StopGracePeriod != nil {
		secs := ceilSeconds(time.Duration(*s.StopGracePeriod))
		pod.TerminationGracePeriodSeconds = ptr.To(secs)
		t.mapped(svcKey(name, "stop_grace_period"), "terminationGracePeriodSeconds: %d", secs)
	}
	t.podHostname(name, s, pod)
	if s.DomainName != "" {
		t.dropped(svcKey(name, "domainname"), "a pod's domain is set by its Service and namespace (subdomain), not freely")
	}
	t.podDNS(name, s, pod)
	t.hostAliases(name, s.ExtraHosts, pod)
	t.podInit(name, s, pod)
	t.hostNamespaces(name, s, pod)
	if s.Platform != "" {
		pod.NodeSelector = platformSelector(s.Platform)
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
	t.shmVolume(name, s.ShmSize, pod)
}

// podHostname maps hostname to the pod's hostname when it is a DNS-1123
// label, and drops it otherwise.
func (t *translator) podHostname(name string, s types.ServiceConfig, pod *corev1.PodSpec) {
	if s.Hostname == "" {
		return
	}
	if errs := validateLabelLower(s.Hostname); errs == "" {
		pod.Hostname = s.Hostname
		t.mapped(svcKey(name, "hostname"), "pod hostname")
	} else {
		t.dropped(svcKey(name, "hostname"), "%q is not a valid pod hostname (%s)", s.Hostname, errs)
	}
}

// podDNS maps dns, dns_search and dns_opt to the pod's dnsConfig; a
// nameserver that is not an IP address is dropped.
func (t *translator) podDNS(name string, s types.ServiceConfig, pod *corev1.PodSpec) {
	if len(s.DNS) == 0 && len(s.DNSSearch) == 0 && len(s.DNSOpts) == 0 {
		return
	}
	dc := &corev1.PodDNSConfig{Searches: s.DNSSearch, Options: dnsOptions(s.DNSOpts)}
	for _, ns := range s.DNS {
		if net.ParseIP(ns) == nil {
			t.dropped(svcKey(name, "dns", ns), "not an IP address")
			continue
		}
		dc.Nameservers = append(dc.Nameservers, ns)
	}
	pod.DNSConfig = dc
	for k, set := range map[string]bool{"dns": len(s.DNS) > 0, "dns_search": len(s.DNSSearch) > 0, "dns_opt": len(s.DNSOpts) > 0} {
		if set {
			t.approx(svcKey(name, k), "pod dnsConfig, added to the cluster's DNS settings (dnsPolicy ClusterFirst), so service names still resolve")
		}
	}
}

// dnsOptions turns dns_opt entries ("ndots:2", "rotate") into pod DNS
// options; an entry without ":" has no value.
func dnsOptions(opts []string) []corev1.PodDNSConfigOption {
	var out []corev1.PodDNSConfigOption
	for _, o := range opts {
		n, v, hasValue := strings.Cut(o, ":")
		opt := corev1.PodDNSConfigOption{Name: n}
		if hasValue {
			opt.Value = ptr.To(v)
		}
		out = append(out, opt)
	}
	return out
}

// hostAliases maps extra_hosts to the pod's hostAliases, in host name
// order; host-gateway, addresses that are not IPs and names Kubernetes
// refuses are dropped one by one.
func (t *translator) hostAliases(name string, extra types.HostsList, pod *corev1.PodSpec) {
	hosts := hostMap(extra)
	for _, h := range sortedKeys(hosts) {
		for _, ip := range hosts[h] {
			if why := hostAliasProblem(h, ip); why != "" {
				t.dropped(svcKey(name, "extra_hosts", h), "%s", why)
				continue
			}
			pod.HostAliases = appendHostAlias(pod.HostAliases, ip, h)
		}
	}
	if len(pod.HostAliases) > 0 {
		t.mapped(svcKey(name, "extra_hosts"), "pod hostAliases")
	}
}

// hostAliasProblem says why host h at ip cannot be a hostAlias, or "".
func hostAliasProblem(h, ip string) string {
	switch {
	case ip == "host-gateway":
		return "host-gateway: a pod has no single host to point at"
	case net.ParseIP(ip) == nil:
		return fmt.Sprintf("%q is not an IP address", ip)
	case len(validationDNS1123Subdomain(h)) > 0:
		return fmt.Sprintf("%q is not a host name Kubernetes accepts in hostAliases", h)
	}
	return ""
}

// podInit maps init: true to a shared process namespace, whose pause
// process reaps zombies; with pid: host there is none of its own.
func (t *translator) podInit(name string, s types.ServiceConfig, pod *corev1.PodSpec) {
	if s.Init == nil || !*s.Init {
		return
	}
	if s.Pid == "host" {
		t.dropped(svcKey(name, "init"), "with pid: host the pod cannot share a process namespace of its own")
		return
	}
	pod.ShareProcessNamespace = ptr.To(true)
	t.approx(svcKey(name, "init"), "shareProcessNamespace: the pod's pause process is PID 1 and reaps zombies, as docker-init does; containers of the pod see each other's processes")
}

// hostNamespaces maps network_mode, pid and ipc: only "host" has a pod
// equivalent (hostNetwork, hostPID, hostIPC); other modes are dropped.
func (t *translator) hostNamespaces(name string, s types.ServiceConfig, pod *corev1.PodSpec) {
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
}

// platformSelector is the nodeSelector for a platform "os[/arch[/variant]]".
func platformSelector(platform string) map[string]string {
	parts := strings.Split(platform, "/")
	sel := map[string]string{"kubernetes.io/os": parts[0]}
	if len(parts) > 1 {
		sel["kubernetes.io/arch"] = parts[1]
	}
	return sel
}

// shmVolume maps shm_size to a memory-backed emptyDir at /dev/shm of the
// first container.
func (t *translator) shmVolume(name string, size types.UnitBytes, pod *corev1.PodSpec) {
	if size <= 0 {
		return
	}
	q := resource.NewQuantity(int64(size), resource.BinarySI)
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: q}}})
	pod.Containers[0].VolumeMounts = append(pod.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "dshm", MountPath: "/dev/shm"})
	t.approx(svcKey(name, "shm_size"), "memory-backed emptyDir of %s mounted at /dev/shm", q)
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
