package translate

import (
	"net"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

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
		dc := &corev1.PodDNSConfig{Searches: s.DNSSearch}
		for _, ns := range s.DNS {
			if net.ParseIP(ns) == nil {
				t.dropped(svcKey(name, "dns", ns), "not an IP address")
				continue
			}
			dc.Nameservers = append(dc.Nameservers, ns)
		}
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
			if len(validationDNS1123Subdomain(h)) > 0 {
				t.dropped(svcKey(name, "extra_hosts", h), "%q is not a host name Kubernetes accepts in hostAliases", h)
				continue
			}
			pod.HostAliases = appendHostAlias(pod.HostAliases, ip, h)
		}
	}
	if len(pod.HostAliases) > 0 {
		t.mapped(svcKey(name, "extra_hosts"), "pod hostAliases")
	}
	if s.Init != nil && *s.Init && s.Pid == "host" {
		t.dropped(svcKey(name, "init"), "with pid: host the pod cannot share a process namespace of its own")
	} else if s.Init != nil && *s.Init {
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
