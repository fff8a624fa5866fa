package translate

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// Table tests for the steps the per-service mapping is made of; each
// needs no compose file.

// bareTranslator is a translator of an empty project, for the steps.
func bareTranslator(t *testing.T, o Options) *translator {
	t.Helper()
	tr, err := newTranslator(&types.Project{Name: "steps"}, o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// spec is a service made of container settings only.
func spec(c types.ContainerSpec) types.ServiceConfig { return types.ServiceConfig{ContainerSpec: c} }

// lines is the report as "key verdict: detail", in the order added.
func lines(tr *translator) []string {
	var out []string
	for _, l := range tr.report {
		out = append(out, l.Key+" "+l.Verdict+": "+l.Detail)
	}
	return out
}

func TestDNSOptions(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []corev1.PodDNSConfigOption
	}{
		{nil, nil},
		{[]string{"rotate"}, []corev1.PodDNSConfigOption{{Name: "rotate"}}},
		{[]string{"ndots:2", "timeout:"}, []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr.To("2")}, {Name: "timeout", Value: ptr.To("")}}},
	} {
		if got := dnsOptions(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("dnsOptions(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestHostAliasProblem(t *testing.T) {
	for _, tc := range []struct{ host, ip, want string }{
		{"db.local", "10.0.0.2", ""},
		{"db.local", "::1", ""},
		{"db.local", "host-gateway", "host-gateway: a pod has no single host to point at"},
		{"db.local", "ten", `"ten" is not an IP address`},
		{"Bad_Name", "10.0.0.2", `"Bad_Name" is not a host name Kubernetes accepts in hostAliases`},
	} {
		if got := hostAliasProblem(tc.host, tc.ip); got != tc.want {
			t.Errorf("hostAliasProblem(%q, %q) = %q, want %q", tc.host, tc.ip, got, tc.want)
		}
	}
}

func TestHostAliasesGroupsByAddress(t *testing.T) {
	tr := bareTranslator(t, Options{})
	pod := &corev1.PodSpec{}
	tr.hostAliases("web", types.HostsList{"b": {"10.0.0.1"}, "a": {"10.0.0.1", "host-gateway"}, "c": {"10.0.0.3"}}, pod)
	want := []corev1.HostAlias{{IP: "10.0.0.1", Hostnames: []string{"a", "b"}}, {IP: "10.0.0.3", Hostnames: []string{"c"}}}
	if !reflect.DeepEqual(pod.HostAliases, want) {
		t.Errorf("host aliases %+v, want %+v", pod.HostAliases, want)
	}
	wantLines := []string{
		"services.web.extra_hosts.a dropped: host-gateway: a pod has no single host to point at",
		"services.web.extra_hosts mapped: pod hostAliases",
	}
	if got := lines(tr); !reflect.DeepEqual(got, wantLines) {
		t.Errorf("report %q, want %q", got, wantLines)
	}
}

func TestHostNamespaces(t *testing.T) {
	for _, tc := range []struct {
		s         types.ServiceConfig
		net, pid  bool
		ipc       bool
		wantLines []string
	}{
		{s: spec(types.ContainerSpec{})},
		{s: spec(types.ContainerSpec{NetworkMode: "bridge"})},
		{s: spec(types.ContainerSpec{NetworkMode: "host", Pid: "host", Ipc: "host"}), net: true, pid: true, ipc: true, wantLines: []string{
			"services.web.network_mode mapped: hostNetwork: true",
			"services.web.pid mapped: hostPID: true",
			"services.web.ipc mapped: hostIPC: true",
		}},
		{s: spec(types.ContainerSpec{NetworkMode: "none", Pid: "container:x", Ipc: "shareable"}), wantLines: []string{
			"services.web.network_mode dropped: network_mode none: every pod gets a network; no NetworkPolicy membership is added for it",
			`services.web.pid dropped: pid "container:x": only host (hostPID) has a Kubernetes equivalent`,
			`services.web.ipc dropped: ipc "shareable": containers of one pod share IPC; across services there is no equivalent`,
		}},
		{s: spec(types.ContainerSpec{NetworkMode: "overlay"}), wantLines: []string{
			`services.web.network_mode dropped: network_mode "overlay" has no Kubernetes equivalent; the pod joins the cluster network`,
		}},
	} {
		tr := bareTranslator(t, Options{})
		pod := &corev1.PodSpec{}
		tr.hostNamespaces("web", tc.s, pod)
		if pod.HostNetwork != tc.net || pod.HostPID != tc.pid || pod.HostIPC != tc.ipc {
			t.Errorf("%+v: hostNetwork %v hostPID %v hostIPC %v", tc.s, pod.HostNetwork, pod.HostPID, pod.HostIPC)
		}
		if got := lines(tr); !reflect.DeepEqual(got, tc.wantLines) {
			t.Errorf("%+v: report %q, want %q", tc.s, got, tc.wantLines)
		}
	}
}

func TestPlatformSelector(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
	}{
		{"linux", map[string]string{"kubernetes.io/os": "linux"}},
		{"linux/arm64", map[string]string{"kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64"}},
		{"linux/arm/v7", map[string]string{"kubernetes.io/os": "linux", "kubernetes.io/arch": "arm"}},
	} {
		if got := platformSelector(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("platformSelector(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestTmpfsListVolume(t *testing.T) {
	for _, tc := range []struct {
		in, target, size string // size "" is no limit
	}{
		{"/run", "/run", ""},
		{"/run:size=64m", "/run", "64Mi"},
		{"/cache:mode=1777,size=1gb", "/cache", "1Gi"},
		{"/x:size=lots", "/x", ""},
	} {
		vol, mount := tmpfsListVolume(3, tc.in)
		if vol.Name != "tmpfs-list-3" || mount.Name != vol.Name || mount.MountPath != tc.target {
			t.Errorf("%q: volume %q mount %+v", tc.in, vol.Name, mount)
		}
		ed := vol.EmptyDir
		if ed == nil || ed.Medium != corev1.StorageMediumMemory {
			t.Fatalf("%q: %+v is not a memory emptyDir", tc.in, vol.VolumeSource)
		}
		got := ""
		if ed.SizeLimit != nil {
			got = ed.SizeLimit.String()
		}
		if got != tc.size {
			t.Errorf("%q: sizeLimit %q, want %q", tc.in, got, tc.size)
		}
	}
}

func TestTmpfsVolume(t *testing.T) {
	v := types.ServiceVolumeConfig{Type: types.VolumeTypeTmpfs, Target: "/t", Tmpfs: &types.ServiceVolumeTmpfs{Size: 1 << 20, Mode: 0o1777}}
	vol, notes := tmpfsVolume("tmpfs-0", v)
	if vol.EmptyDir == nil || vol.EmptyDir.SizeLimit.String() != "1Mi" {
		t.Errorf("volume %+v", vol)
	}
	want := []string{"tmpfs mode 1777 at /t dropped (emptyDir has none)", "tmpfs at /t: memory-backed emptyDir"}
	if !reflect.DeepEqual(notes, want) {
		t.Errorf("notes %q, want %q", notes, want)
	}
	_, notes = tmpfsVolume("tmpfs-0", types.ServiceVolumeConfig{Target: "/u"})
	if !reflect.DeepEqual(notes, []string{"tmpfs at /u: memory-backed emptyDir"}) {
		t.Errorf("notes without options %q", notes)
	}
}

func TestGPUCount(t *testing.T) {
	for _, tc := range []struct {
		d       types.DeviceRequest
		n       int64
		guessed bool
	}{
		{types.DeviceRequest{Count: 2}, 2, false},
		{types.DeviceRequest{Count: -1}, 1, true},
		{types.DeviceRequest{}, 1, true},
		{types.DeviceRequest{IDs: []string{"0", "3"}}, 2, true},
	} {
		if n, g := gpuCount(tc.d); n != tc.n || g != tc.guessed {
			t.Errorf("gpuCount(%+v) = %d, %v; want %d, %v", tc.d, n, g, tc.n, tc.guessed)
		}
	}
}

func TestGPUsSetLimitsAndRequests(t *testing.T) {
	tr := bareTranslator(t, Options{})
	var rr corev1.ResourceRequirements
	tr.gpus(&rr, &rr.Requests, []string{"services", "w", "gpus"}, []types.DeviceRequest{
		{Driver: "nvidia", Count: 2}, {Capabilities: []string{"tpu"}},
	})
	two := resource.MustParse("2")
	if q := rr.Limits["nvidia.com/gpu"]; q.Cmp(two) != 0 {
		t.Errorf("limits %v", rr.Limits)
	}
	if q := rr.Requests["nvidia.com/gpu"]; q.Cmp(two) != 0 {
		t.Errorf("requests %v", rr.Requests)
	}
	want := []string{
		"services.w.gpus dropped: device request for [tpu]: only GPUs (nvidia.com/gpu) have a Kubernetes resource name here",
		"services.w.gpus mapped: nvidia.com/gpu: 2 (limits and requests: Kubernetes requires both equal for extended resources)",
	}
	if got := lines(tr); !reflect.DeepEqual(got, want) {
		t.Errorf("report %q, want %q", got, want)
	}
}

func TestCPUQuantity(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{{0.5, "500m"}, {1, "1"}, {0.0004, "0"}, {0.0006, "1m"}, {2.25, "2250m"}} {
		if q := cpuQuantity(tc.in); q.String() != tc.want {
			t.Errorf("cpuQuantity(%v) = %s, want %s", tc.in, q.String(), tc.want)
		}
	}
}

func TestHealthTiming(t *testing.T) {
	d := func(x time.Duration) *types.Duration { v := types.Duration(x); return &v }
	u := func(x uint64) *uint64 { return &x }
	for _, tc := range []struct {
		name string
		h    types.HealthCheckConfig
		want probeTiming
	}{
		{"docker defaults", types.HealthCheckConfig{},
			probeTiming{interval: 30 * time.Second, timeout: 30 * time.Second, startInterval: 5 * time.Second, retries: 3, startFailures: 18}},
		{"short interval caps the default start_interval", types.HealthCheckConfig{Interval: d(2 * time.Second)},
			probeTiming{interval: 2 * time.Second, timeout: 30 * time.Second, startInterval: 2 * time.Second, retries: 3, startFailures: 3}},
		{"a given start_interval is kept", types.HealthCheckConfig{Interval: d(2 * time.Second), StartInterval: d(5 * time.Second)},
			probeTiming{interval: 2 * time.Second, timeout: 30 * time.Second, startInterval: 5 * time.Second, retries: 3, startFailures: 2}},
		{"zero retries is one", types.HealthCheckConfig{Retries: u(0), Interval: d(time.Second), StartInterval: d(time.Second)},
			probeTiming{interval: time.Second, timeout: 30 * time.Second, startInterval: time.Second, retries: 1, startFailures: 1}},
		{"start_period and retries", types.HealthCheckConfig{Interval: d(10 * time.Second), Retries: u(5), StartPeriod: d(30 * time.Second), StartInterval: d(2 * time.Second)},
			probeTiming{interval: 10 * time.Second, timeout: 30 * time.Second, startInterval: 2 * time.Second, retries: 5, startFailures: 40}},
	} {
		if got := healthTiming(&tc.h); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestProbeCommand(t *testing.T) {
	for _, tc := range []struct {
		h    types.HealthCheckConfig
		cmd  []string
		line string // the report line, "" when none
	}{
		{types.HealthCheckConfig{Test: []string{"CMD", "true"}}, []string{"true"}, ""},
		{types.HealthCheckConfig{Test: []string{"CMD-SHELL", "curl", "-f", "x"}}, []string{"/bin/sh", "-c", "curl -f x"}, ""},
		{types.HealthCheckConfig{Disable: true}, nil, "services.w.healthcheck mapped: no probes: the healthcheck is disabled"},
		{types.HealthCheckConfig{Test: []string{"NONE"}}, nil, "services.w.healthcheck mapped: no probes: the healthcheck is disabled"},
		{types.HealthCheckConfig{}, nil, "services.w.healthcheck dropped: no test: the image's HEALTHCHECK would run, which Kubernetes ignores; add a test to get probes"},
		{types.HealthCheckConfig{Test: []string{"RUN", "x"}}, nil, `services.w.healthcheck.test refused: test must start with CMD, CMD-SHELL or NONE, not "RUN"`},
		{types.HealthCheckConfig{Test: []string{"CMD-SHELL"}}, nil, `services.w.healthcheck.test refused: service "w": the healthcheck's CMD-SHELL test has no command`},
		{types.HealthCheckConfig{Test: []string{"CMD"}}, nil, `services.w.healthcheck.test refused: service "w": the healthcheck's CMD test has no command`},
	} {
		tr := bareTranslator(t, Options{})
		cmd, ok := tr.probeCommand("w", &tc.h)
		if !reflect.DeepEqual(cmd, tc.cmd) || ok != (tc.cmd != nil) {
			t.Errorf("%q: command %q ok %v, want %q", tc.h.Test, cmd, ok, tc.cmd)
		}
		if got := strings.Join(lines(tr), "\n"); got != tc.line {
			t.Errorf("%q: report %q, want %q", tc.h.Test, got, tc.line)
		}
	}
}

func TestSecurityOpts(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    types.ServiceConfig
		lost []string
		set  bool
		want corev1.SecurityContext
	}{
		{"none", spec(types.ContainerSpec{}), nil, false, corev1.SecurityContext{}},
		{"no-new-privileges", spec(types.ContainerSpec{SecurityOpt: []string{"no-new-privileges:true"}}), nil, true,
			corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false)}},
		{"privileged wins", spec(types.ContainerSpec{Privileged: true, SecurityOpt: []string{"no-new-privileges"}}),
			[]string{"no-new-privileges (the container is privileged or has CAP_SYS_ADMIN)"}, false, corev1.SecurityContext{}},
		{"CAP_SYS_ADMIN wins", spec(types.ContainerSpec{CapAdd: []string{"CAP_SYS_ADMIN"}, SecurityOpt: []string{"no-new-privileges=true"}}),
			[]string{"no-new-privileges=true (the container is privileged or has CAP_SYS_ADMIN)"}, false, corev1.SecurityContext{}},
		{"unconfined", spec(types.ContainerSpec{SecurityOpt: []string{"seccomp=unconfined", "apparmor=unconfined"}}), nil, true,
			corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}, AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}}},
		{"apparmor profile and lost ones", spec(types.ContainerSpec{SecurityOpt: []string{"apparmor=mine", "seccomp=/p.json", "label=disable"}}),
			[]string{"seccomp=/p.json", "label=disable"}, true,
			corev1.SecurityContext{AppArmorProfile: &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: ptr.To("mine")}}},
	} {
		var sc corev1.SecurityContext
		lost, set := securityOpts(tc.s, &sc)
		if !reflect.DeepEqual(lost, tc.lost) || set != tc.set || !reflect.DeepEqual(sc, tc.want) {
			t.Errorf("%s: lost %q set %v context %+v; want %q %v %+v", tc.name, lost, set, sc, tc.lost, tc.set, tc.want)
		}
	}
}

func TestRunAs(t *testing.T) {
	for _, tc := range []struct {
		user       string
		uid, gid   *int64
		set        bool
		wantReport string
	}{
		{"1000", ptr.To[int64](1000), nil, true, "services.w.user mapped: securityContext runAsUser/runAsGroup"},
		{"1000:50", ptr.To[int64](1000), ptr.To[int64](50), true, "services.w.user mapped: securityContext runAsUser/runAsGroup"},
		{"1000:staff", ptr.To[int64](1000), nil, true, `services.w.user approximated: runAsUser 1000; group "staff" dropped: Kubernetes needs a numeric GID`},
		{"app", nil, nil, false, `services.w.user dropped: user "app": Kubernetes needs a numeric UID (runAsUser); the image's user name is not resolved`},
	} {
		tr := bareTranslator(t, Options{})
		var sc corev1.SecurityContext
		set := tr.runAs("w", tc.user, &sc)
		if set != tc.set || !reflect.DeepEqual(sc.RunAsUser, tc.uid) || !reflect.DeepEqual(sc.RunAsGroup, tc.gid) {
			t.Errorf("%q: set %v user %v group %v", tc.user, set, sc.RunAsUser, sc.RunAsGroup)
		}
		if got := strings.Join(lines(tr), "\n"); got != tc.wantReport {
			t.Errorf("%q: report %q, want %q", tc.user, got, tc.wantReport)
		}
	}
}

func TestServiceAliases(t *testing.T) {
	p := &types.Project{Name: "steps", Services: types.Services{
		"db":  {Name: "db"},
		"web": {Name: "web", Links: []string{"db:database", "db"}},
		"api": {Name: "api", Links: []string{"db:store"}},
	}}
	db := spec(types.ContainerSpec{Networks: map[string]*types.ServiceNetworkConfig{
		"z":    {Aliases: []string{"pg"}},
		"a":    {Aliases: []string{"postgres", "sql"}},
		"none": nil,
	}})
	db.Name, db.ContainerName = "db", "the-db"
	var got []string
	for _, a := range serviceAliases(p, "db", db) {
		got = append(got, a.name+"@"+strings.Join(a.key, "."))
	}
	want := []string{
		"postgres@services.db.networks.a.aliases",
		"sql@services.db.networks.a.aliases",
		"pg@services.db.networks.z.aliases",
		"the-db@services.db.container_name",
		"store@services.api.links",
		"database@services.web.links",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("aliases\n%q\nwant\n%q", got, want)
	}
}
