package translate

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
)

// NodePort range of a default cluster: a published port inside it is
// kept as the nodePort.
const nodePortMin, nodePortMax = 30000, 32767

// headless says whether a service's own Service has no cluster IP: when
// it has no known ports (a headless Service resolves to the ready pods, so
// every port is reachable, as under berth), when deploy.endpoint_mode is
// dnsrr, and for StatefulSets (their governing Service).
func (t *translator) headless(name string, s types.ServiceConfig) bool {
	if len(t.servicePorts(s)) == 0 {
		return true
	}
	if s.Deploy != nil && s.Deploy.EndpointMode == "dnsrr" {
		return true
	}
	kind, _ := t.kindOf(name, s)
	return kind == kindStatefulSet
}

// services makes the Services of one compose service: one per name it is
// known by (service name, network aliases, link aliases used by others,
// container_name), each selecting its pods, and one for its published
// ports.
func (t *translator) services(name string, s types.ServiceConfig, kind string) {
	ports := t.servicePorts(s)
	if kind == kindJob && len(ports) == 0 {
		return
	}
	headless := t.headless(name, s)
	t.add(t.serviceObject(name, t.names[name], ports, headless), name, svcKey(name)...)
	if s.Deploy != nil && s.Deploy.EndpointMode != "" {
		if s.Deploy.EndpointMode == "dnsrr" {
			t.mapped(svcKey(name, "deploy", "endpoint_mode"), "headless Service (DNS round robin over the pods)")
		} else {
			t.mapped(svcKey(name, "deploy", "endpoint_mode"), "ClusterIP Service (a virtual IP)")
		}
	}
	done := map[string]bool{t.names[name]: true}
	for _, a := range serviceAliases(t.p, name, s) {
		t.aliasService(name, a, done, func(n string) *corev1.Service { return t.serviceObject(name, n, ports, headless) })
	}
	if len(s.Links) > 0 {
		t.mapped(svcKey(name, "links"), "the linked services' names (and link aliases, as Services) resolve cluster-wide in the namespace")
	}

	t.published(name, s)
}

// serviceObject is a Service named svcName selecting the pods of service
// name on ports; a headless one has no cluster IP.
func (t *translator) serviceObject(name, svcName string, ports []portSpec, headless bool) *corev1.Service {
	svc := &corev1.Service{TypeMeta: typeMeta("v1", "Service"), ObjectMeta: t.meta(svcName)}
	svc.Spec.Selector = t.selector(name)
	if headless {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
		// Waiters resolve the name only once a replica is ready.
		svc.Spec.PublishNotReadyAddresses = false
	}
	for _, p := range ports {
		sp := corev1.ServicePort{Name: p.serviceName(), Port: p.port, Protocol: p.protocol, TargetPort: intstr.FromInt32(p.port)}
		if p.appProtocol != "" {
			sp.AppProtocol = ptr.To(p.appProtocol)
		}
		svc.Spec.Ports = append(svc.Spec.Ports, sp)
	}
	return svc
}

// serviceAlias is another name a service answers to, and the key that
// gave it.
type serviceAlias struct {
	name string
	key  []string
}

// serviceAliases lists the other names service name answers to: its
// network aliases (in network name order), its container_name and the
// link aliases other services give it.
func serviceAliases(p *types.Project, name string, s types.ServiceConfig) []serviceAlias {
	var aliases []serviceAlias
	for _, net := range sortedKeys(s.Networks) {
		if n := s.Networks[net]; n != nil {
			for _, a := range n.Aliases {
				aliases = append(aliases, serviceAlias{a, svcKey(name, "networks", net, "aliases")})
			}
		}
	}
	if s.ContainerName != "" {
		aliases = append(aliases, serviceAlias{s.ContainerName, svcKey(name, "container_name")})
	}
	for _, other := range p.ServiceNames() {
		for _, l := range p.Services[other].Links {
			target, a, hasAlias := strings.Cut(l, ":")
			if target == name && hasAlias {
				aliases = append(aliases, serviceAlias{a, svcKey(other, "links")})
			}
		}
	}
	return aliases
}

// aliasService makes the Service for alias a of service name with mk,
// unless the alias's DNS name is already answered for (done holds the
// names made for this service), names another service, or another
// service's Service has it.
func (t *translator) aliasService(name string, a serviceAlias, done map[string]bool, mk func(svcName string) *corev1.Service) {
	n := dnsLabel(a.name)
	if n == t.names[name] {
		t.mapped(a.key, "%q resolves through the service's own Service %q", a.name, n)
		return
	}
	if done[n] {
		t.mapped(a.key, "%q resolves through Service %q, made for another of the service's names", a.name, n)
		return
	}
	done[n] = true
	if _, isService := t.p.Services[a.name]; isService {
		t.dropped(a.key, "alias %q is also a service's name; the service keeps it", a.name)
		return
	}
	if prev, taken := t.taken["Service/"+n]; taken {
		t.dropped(a.key, "alias %q: Service %q already answers for %s; a Service selects the pods of one service, so the first keeps the name (Compose would resolve it to both)", a.name, n, prev)
		return
	}
	if !t.add(mk(n), name, a.key...) {
		return
	}
	if n == a.name {
		t.mapped(a.key, "Service %q selecting the pods of %q, so the name %q resolves", n, name, a.name)
	} else {
		t.approx(a.key, "Service %q selecting the pods of %q: %q is not a valid Service name, so clients must use %q", n, name, a.name, n)
	}
}

// published makes the NodePort or LoadBalancer Service for the ports a
// service publishes.
func (t *translator) published(name string, s types.ServiceConfig) {
	k := svcKey(name, "ports")
	svc := &corev1.Service{TypeMeta: typeMeta("v1", "Service"), ObjectMeta: t.meta(withSuffix(t.names[name], "published"))}
	svc.Spec.Type = t.o.ServiceType
	svc.Spec.Selector = t.selector(name)
	var notes []string
	seen := map[string]bool{}
	for _, p := range s.Ports {
		first := p.Published
		if first == "" {
			// Docker publishes on a port of its choosing.
			first = strconv.FormatUint(uint64(p.Target), 10)
			notes = append(notes, fmt.Sprintf("port %d published on a host port Docker would choose: Service port %d, node port chosen by the cluster", p.Target, p.Target))
		}
		if lo, _, isRange := strings.Cut(p.Published, "-"); isRange {
			first = lo
			notes = append(notes, fmt.Sprintf("published range %s: port %s", p.Published, lo))
		}
		pub, err := strconv.ParseUint(first, 10, 16)
		if err != nil || pub == 0 {
			t.dropped(k, "published port %q is not a number", p.Published)
			continue
		}
		proto := protocol(p.Protocol)
		id := fmt.Sprintf("%d/%s", pub, proto)
		if seen[id] {
			notes = append(notes, fmt.Sprintf("%s published twice (host addresses differ): one Service port", id))
			continue
		}
		seen[id] = true
		sp := corev1.ServicePort{Name: portName(string(proto), int32(pub)), Port: int32(pub), Protocol: proto, TargetPort: intstr.FromInt32(int32(p.Target))}
		if p.AppProtocol != "" {
			sp.AppProtocol = ptr.To(p.AppProtocol)
		}
		if t.o.ServiceType == corev1.ServiceTypeNodePort && p.Published != "" {
			if pub >= nodePortMin && pub <= nodePortMax {
				sp.NodePort = int32(pub)
			} else {
				notes = append(notes, fmt.Sprintf("host port %d is outside the NodePort range %d-%d: the cluster picks the node port (the Service port stays %d)", pub, nodePortMin, nodePortMax, pub))
			}
		}
		if p.HostIP != "" {
			notes = append(notes, fmt.Sprintf("host_ip %s dropped: a Service listens on every node address", p.HostIP))
		}
		if p.Mode == "host" {
			notes = append(notes, "mode host: published through the Service, not on the pod's node only")
		}
		svc.Spec.Ports = append(svc.Spec.Ports, sp)
	}
	if len(svc.Spec.Ports) == 0 {
		return
	}
	if !t.add(svc, name, k...) {
		return
	}
	if len(notes) == 0 {
		t.mapped(k, "%s Service %q", t.o.ServiceType, svc.Name)
	} else {
		t.approx(k, "%s Service %q; %s", t.o.ServiceType, svc.Name, strings.Join(notes, "; "))
	}
}

// networksOf are the project networks a service is on (sorted).
func (t *translator) networksOf(s types.ServiceConfig) []string {
	if s.NetworkMode != "" && s.NetworkMode != "bridge" && s.NetworkMode != "default" {
		return nil
	}
	var out []string
	for n := range s.Networks {
		if _, ok := t.p.Networks[n]; ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// networkLabel is the label name part for a network: compose network
// names fit it unless long.
func networkLabel(n string) string {
	if len(n) <= validation.LabelValueMaxLength && len(validation.IsQualifiedName(n)) == 0 {
		return n
	}
	return dnsLabel(n)
}

// networkPolicies: one NetworkPolicy per compose network, selecting the
// pods on it and letting in traffic only from pods on it, so services
// reach each other exactly where they share a network. Policies add up:
// a pod on two networks takes traffic from both. An internal network's
// policy lets its pods out only to pods on it (and DNS); other networks'
// let them out anywhere. Published ports get a policy that lets anyone
// reach them.
func (t *translator) networkPolicies() {
	for _, n := range sortedKeys(t.p.Networks) {
		nc := t.p.Networks[n]
		k := []string{"networks", n}
		if bool(nc.External) {
			t.dropped(k, "external network: pods on it get no NetworkPolicy from berth (in Kubernetes the namespace's pods share one network)")
			continue
		}
		var members []string
		for _, sn := range t.p.ServiceNames() {
			for _, m := range t.networksOf(t.p.Services[sn]) {
				if m == n {
					members = append(members, sn)
				}
			}
		}
		member := metav1.LabelSelector{MatchLabels: map[string]string{LabelProject: LabelValue(t.p.Name), LabelNetworkPrefix + networkLabel(n): "true"}}
		np := &networkingv1.NetworkPolicy{TypeMeta: typeMeta("networking.k8s.io/v1", "NetworkPolicy"), ObjectMeta: t.meta(withSuffix("network", dnsLabel(n)))}
		np.Spec.PodSelector = member
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
		np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &member}}}}
		if nc.Internal {
			udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
			dns := intstr.FromInt32(53)
			np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{
				{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &member}}},
				{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}, {Protocol: &tcp, Port: &dns}}},
			}
			t.mapped(append(k, "internal"), "NetworkPolicy %q lets its pods reach only each other (and DNS): no way out of the cluster", np.Name)
		} else {
			np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{}}
		}
		if t.add(np, "", k...) {
			t.mapped(k, "NetworkPolicy %q: pods of %s take traffic only from pods on this network (needs a CNI plugin that enforces NetworkPolicies)", np.Name, listOrNone(members))
		}
		t.networkKeys(n, nc)
	}
	for _, name := range t.p.ServiceNames() {
		s := t.p.Services[name]
		if len(t.networksOf(s)) == 0 {
			continue
		}
		var ports []networkingv1.NetworkPolicyPort
		for _, p := range s.Ports {
			proto := protocol(p.Protocol)
			port := intstr.FromInt32(int32(p.Target))
			ports = append(ports, networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &port})
		}
		if len(ports) == 0 {
			continue
		}
		np := &networkingv1.NetworkPolicy{TypeMeta: typeMeta("networking.k8s.io/v1", "NetworkPolicy"), ObjectMeta: t.meta(withSuffix(t.names[name], "published"))}
		np.Spec.PodSelector = metav1.LabelSelector{MatchLabels: t.selector(name)}
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{Ports: ports}}
		t.add(np, name, svcKey(name, "ports")...)
	}
	for _, name := range t.p.ServiceNames() {
		s := t.p.Services[name]
		if len(s.Networks) > 0 && !t.refusedServices[name] {
			t.mapped(svcKey(name, "networks"), "pod labels %s<network>=true, which the networks' NetworkPolicies select", LabelNetworkPrefix)
			for _, n := range sortedKeys(s.Networks) {
				t.serviceNetworkKeys(name, n, s.Networks[n])
			}
		}
	}
}

// networkKeys reports the network keys Kubernetes has no place for.
func (t *translator) networkKeys(n string, nc types.NetworkConfig) {
	k := []string{"networks", n}
	why := "the cluster's CNI plugin owns pod networking"
	if nc.Driver != "" {
		t.dropped(append(k, "driver"), "%s", why)
	}
	if len(nc.DriverOpts) > 0 {
		t.dropped(append(k, "driver_opts"), "%s", why)
	}
	if nc.Ipam.Driver != "" || len(nc.Ipam.Config) > 0 {
		t.dropped(append(k, "ipam"), "pod addresses come from the cluster's pod CIDR")
	}
	if nc.EnableIPv6 != nil || nc.EnableIPv4 != nil {
		t.dropped(append(k, "enable_ipv6"), "address families are the cluster's")
	}
	if nc.Attachable {
		t.dropped(append(k, "attachable"), "no Swarm overlay in Kubernetes")
	}
	if len(nc.Labels) > 0 {
		t.dropped(append(k, "labels"), "a network is no object in Kubernetes; its NetworkPolicy carries berth's labels")
	}
	if nc.Name != "" && nc.Name != t.p.Name+"_"+n {
		t.dropped(append(k, "name"), "the network's Docker name does not exist in Kubernetes")
	}
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "no service"
	}
	return strings.Join(l, ", ")
}

// jobWaiterName is the ServiceAccount of pods that wait for Jobs.
const jobWaiterName = "berth-job-waiter"

// jobWaiterObjects let the waiting pods read Jobs in the namespace.
func (t *translator) jobWaiterObjects() {
	sa := &corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: t.meta(jobWaiterName)}
	role := &rbacv1.Role{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "Role"), ObjectMeta: t.meta(jobWaiterName),
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"batch"}, Resources: []string{"jobs"}, Verbs: []string{"get", "list", "watch"}}}}
	rb := &rbacv1.RoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: t.meta(jobWaiterName),
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: jobWaiterName},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: jobWaiterName, Namespace: t.ns}}}
	t.add(sa, "", "services")
	t.add(role, "", "services")
	t.add(rb, "", "services")
}

// serviceNetworkKeys reports the per-network keys of a service that
// Kubernetes has no place for (aliases are Services, reported there).
func (t *translator) serviceNetworkKeys(name, network string, c *types.ServiceNetworkConfig) {
	if c == nil {
		return
	}
	k := svcKey(name, "networks", network)
	walkFields(reflect.ValueOf(*c), func(key string, v reflect.Value) {
		if key == "aliases" || v.IsZero() || (v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0 {
			return
		}
		why := "the cluster's CNI plugin assigns pod addresses and interfaces"
		switch key {
		case "priority", "gw_priority":
			why = "a pod has one network interface: there is no order to keep"
		case "use_service_name_alias":
			why = "the service's own Service always exists"
		}
		t.dropped(append(k, key), "%s", why)
	})
}
