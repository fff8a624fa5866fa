package translate

import (
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// containerSecurity maps user, capabilities, read_only, privileged and
// the security_opt entries Kubernetes has.
func (t *translator) containerSecurity(name string, s types.ServiceConfig) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{}
	set := false
	if s.User != "" {
		set = t.runAs(name, s.User, sc)
	}
	if len(s.CapAdd) > 0 || len(s.CapDrop) > 0 {
		sc.Capabilities = &corev1.Capabilities{Add: caps(s.CapAdd), Drop: caps(s.CapDrop)}
		set = true
		if len(s.CapAdd) > 0 {
			t.mapped(svcKey(name, "cap_add"), "securityContext capabilities.add")
		}
		if len(s.CapDrop) > 0 {
			t.mapped(svcKey(name, "cap_drop"), "securityContext capabilities.drop")
		}
	}
	if s.ReadOnly {
		sc.ReadOnlyRootFilesystem, set = ptr.To(true), true
		t.mapped(svcKey(name, "read_only"), "securityContext readOnlyRootFilesystem")
	}
	if s.Privileged {
		sc.Privileged, set = ptr.To(true), true
		t.mapped(svcKey(name, "privileged"), "securityContext privileged")
	}
	lost, optSet := securityOpts(s, sc)
	set = set || optSet
	if len(s.SecurityOpt) > 0 {
		k := svcKey(name, "security_opt")
		if len(lost) == 0 {
			t.mapped(k, "securityContext (allowPrivilegeEscalation, seccompProfile, appArmorProfile)")
		} else {
			t.approx(k, "dropped %s: only no-new-privileges, seccomp=unconfined and apparmor profiles map (a seccomp profile file must be installed on the nodes as a Localhost profile)", strings.Join(lost, ", "))
		}
	}
	if !set {
		return nil
	}
	return sc
}

// runAs maps user "uid[:gid]" to runAsUser and runAsGroup; Kubernetes
// needs numbers, so a user name is dropped and a group name is dropped
// alone. It says whether it set anything.
func (t *translator) runAs(name, user string, sc *corev1.SecurityContext) bool {
	k := svcKey(name, "user")
	u, g, hasGroup := strings.Cut(user, ":")
	uid, uerr := strconv.ParseInt(u, 10, 64)
	gid, gerr := strconv.ParseInt(g, 10, 64)
	switch {
	case uerr != nil:
		t.dropped(k, "user %q: Kubernetes needs a numeric UID (runAsUser); the image's user name is not resolved", user)
		return false
	case hasGroup && gerr != nil:
		sc.RunAsUser = ptr.To(uid)
		t.approx(k, "runAsUser %d; group %q dropped: Kubernetes needs a numeric GID", uid, g)
	default:
		sc.RunAsUser = ptr.To(uid)
		if hasGroup {
			sc.RunAsGroup = ptr.To(gid)
		}
		t.mapped(k, "securityContext runAsUser/runAsGroup")
	}
	return true
}

// securityOpts maps the security_opt entries Kubernetes has
// (no-new-privileges, seccomp=unconfined, apparmor) onto sc; lost are
// the entries it could not map, set whether it set anything.
func securityOpts(s types.ServiceConfig, sc *corev1.SecurityContext) (lost []string, set bool) {
	for _, o := range s.SecurityOpt {
		k, v := splitOpt(o)
		switch {
		case k == "no-new-privileges" && (v == "" || v == "true") && (s.Privileged || hasCap(s.CapAdd, "SYS_ADMIN")):
			// The API server rejects the combination; privileged wins,
			// as it does in Docker.
			lost = append(lost, o+" (the container is privileged or has CAP_SYS_ADMIN)")
		case k == "no-new-privileges" && (v == "" || v == "true"):
			sc.AllowPrivilegeEscalation, set = ptr.To(false), true
		case k == "seccomp" && v == "unconfined":
			sc.SeccompProfile, set = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}, true
		case k == "apparmor" && v == "unconfined":
			sc.AppArmorProfile, set = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}, true
		case k == "apparmor" && v != "":
			sc.AppArmorProfile, set = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr.To(v)}, true
		default:
			lost = append(lost, o)
		}
	}
	return lost, set
}

func hasCap(list []string, c string) bool {
	for _, x := range caps(list) {
		if string(x) == c || x == "ALL" {
			return true
		}
	}
	return false
}

// caps are Docker capability names as Kubernetes writes them (no CAP_).
func caps(list []string) []corev1.Capability {
	var out []corev1.Capability
	for _, c := range list {
		out = append(out, corev1.Capability(strings.TrimPrefix(strings.ToUpper(c), "CAP_")))
	}
	return out
}

// podSecurity maps sysctls, group_add and ulimits (which Kubernetes
// lacks).
func (t *translator) podSecurity(name string, s types.ServiceConfig, pod *corev1.PodSpec) {
	psc := &corev1.PodSecurityContext{}
	set := false
	for _, k := range sortedKeys(s.Sysctls) {
		if pod.HostNetwork && strings.HasPrefix(k, "net.") {
			t.dropped(svcKey(name, "sysctls", k), "a pod on the host's network cannot set network sysctls")
			continue
		}
		psc.Sysctls = append(psc.Sysctls, corev1.Sysctl{Name: k, Value: s.Sysctls[k]})
		set = true
	}
	if len(s.Sysctls) > 0 {
		t.approx(svcKey(name, "sysctls"), "pod securityContext.sysctls; sysctls outside Kubernetes' safe set need the kubelet's --allowed-unsafe-sysctls on the nodes, or the pod is rejected at admission")
	}
	var lost []string
	for _, g := range s.GroupAdd {
		if gid, err := strconv.ParseInt(g, 10, 64); err == nil {
			psc.SupplementalGroups = append(psc.SupplementalGroups, gid)
			set = true
		} else {
			lost = append(lost, g)
		}
	}
	if len(s.GroupAdd) > 0 {
		if len(lost) == 0 {
			t.mapped(svcKey(name, "group_add"), "pod securityContext.supplementalGroups")
		} else {
			t.approx(svcKey(name, "group_add"), "supplementalGroups; dropped group names %s (Kubernetes needs numeric GIDs)", strings.Join(lost, ", "))
		}
	}
	if len(s.Ulimits) > 0 {
		t.dropped(svcKey(name, "ulimits"), "Kubernetes has no per-container rlimits; containers get the container runtime's defaults (set them on the nodes, or raise them in the entrypoint)")
	}
	if set {
		pod.SecurityContext = psc
	}
}

// splitOpt splits a security_opt entry at its first ':' or '='.
func splitOpt(o string) (key, value string) {
	if i := strings.IndexAny(o, ":="); i >= 0 {
		return o[:i], o[i+1:]
	}
	return o, ""
}
