package translate

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

func TestProbesFromHealthcheck(t *testing.T) {
	p := loadYAML(t, `
name: probes
services:
  shell:
    image: nginx
    healthcheck:
      test: curl -f http://localhost/
      interval: 10s
      timeout: 3s
      retries: 5
      start_period: 30s
      start_interval: 2s
  exec:
    image: nginx
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "app"]
  off:
    image: nginx
    healthcheck:
      disable: true
`)
	r := mustTranslate(t, p, Options{})
	c := find[*appsv1.Deployment](t, r, "Deployment", "shell").Spec.Template.Spec.Containers[0]
	rp, sp := c.ReadinessProbe, c.StartupProbe
	if rp == nil || sp == nil || c.LivenessProbe != nil {
		t.Fatalf("probes: readiness %v startup %v liveness %v", rp, sp, c.LivenessProbe)
	}
	if got := rp.Exec.Command; !reflect.DeepEqual(got, []string{"/bin/sh", "-c", "curl -f http://localhost/"}) {
		t.Errorf("CMD-SHELL command %q", got)
	}
	if rp.PeriodSeconds != 10 || rp.TimeoutSeconds != 3 || rp.FailureThreshold != 5 || rp.SuccessThreshold != 1 {
		t.Errorf("readiness %+v", rp)
	}
	// start_period 30s + 5 retries × 10s, probed every 2s: 40 tries.
	if sp.PeriodSeconds != 2 || sp.FailureThreshold != 40 {
		t.Errorf("startup period %d failures %d, want 2 and 40", sp.PeriodSeconds, sp.FailureThreshold)
	}
	e := find[*appsv1.Deployment](t, r, "Deployment", "exec").Spec.Template.Spec.Containers[0]
	if !reflect.DeepEqual(e.ReadinessProbe.Exec.Command, []string{"pg_isready", "-U", "app"}) {
		t.Errorf("CMD command %q", e.ReadinessProbe.Exec.Command)
	}
	// Docker's defaults: 30s interval and timeout, 3 retries.
	if e.ReadinessProbe.PeriodSeconds != 30 || e.ReadinessProbe.TimeoutSeconds != 30 || e.ReadinessProbe.FailureThreshold != 3 {
		t.Errorf("defaults %+v", e.ReadinessProbe)
	}
	if o := find[*appsv1.Deployment](t, r, "Deployment", "off").Spec.Template.Spec.Containers[0]; o.ReadinessProbe != nil || o.StartupProbe != nil {
		t.Error("disabled healthcheck made probes")
	}
	if l := reportLine(t, r, "services.shell.healthcheck.start_period"); l.Verdict != Mapped {
		t.Errorf("start_period line %+v", l)
	}

	r = mustTranslate(t, p, Options{Liveness: true})
	c = find[*appsv1.Deployment](t, r, "Deployment", "shell").Spec.Template.Spec.Containers[0]
	if c.LivenessProbe == nil || c.LivenessProbe.PeriodSeconds != 10 || c.LivenessProbe.FailureThreshold != 5 {
		t.Errorf("liveness %+v", c.LivenessProbe)
	}
}

func TestDependsOnInitContainers(t *testing.T) {
	r := mustTranslate(t, loadYAML(t, `
name: deps
services:
  app:
    image: app
    depends_on:
      db: {condition: service_healthy}
      cache: {condition: service_started}
      migrate: {condition: service_completed_successfully}
  db:
    image: postgres
    expose: ["5432"]
    healthcheck:
      test: ["CMD", "pg_isready"]
  cache:
    image: redis
  migrate:
    image: app
    command: ["migrate"]
    restart: on-failure:3
`), Options{})
	pod := find[*appsv1.Deployment](t, r, "Deployment", "app").Spec.Template.Spec
	byName := map[string]corev1.Container{}
	for _, c := range pod.InitContainers {
		byName[c.Name] = c
	}
	db := byName["wait-for-db"]
	if db.Image != WaitImage || !strings.Contains(strings.Join(db.Command, " "), "nc -z -w 2 db 5432") {
		t.Errorf("wait-for-db: %s %q", db.Image, db.Command)
	}
	// cache has no ports: its Service is headless and resolves once a
	// replica is ready.
	cache := byName["wait-for-cache"]
	if !strings.Contains(strings.Join(cache.Command, " "), "nslookup cache ") {
		t.Errorf("wait-for-cache: %q", cache.Command)
	}
	if svc := find[*corev1.Service](t, r, "Service", "cache"); svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("cache Service not headless: %+v", svc.Spec)
	}
	mig := byName["wait-for-migrate"]
	if mig.Image != JobWaitImage || !reflect.DeepEqual(mig.Command[len(mig.Command)-1], "job/migrate") {
		t.Errorf("wait-for-migrate: %s %q", mig.Image, mig.Command)
	}
	if pod.ServiceAccountName != jobWaiterName {
		t.Errorf("serviceAccountName %q", pod.ServiceAccountName)
	}
	job := find[*batchv1.Job](t, r, "Job", "migrate")
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure || *job.Spec.BackoffLimit != 3 {
		t.Errorf("job: %s backoff %d", job.Spec.Template.Spec.RestartPolicy, *job.Spec.BackoffLimit)
	}
	role := find[*rbacv1.Role](t, r, "Role", jobWaiterName)
	if role.Rules[0].Resources[0] != "jobs" {
		t.Errorf("role %+v", role.Rules)
	}
	find[*rbacv1.RoleBinding](t, r, "RoleBinding", jobWaiterName)
	find[*corev1.ServiceAccount](t, r, "ServiceAccount", jobWaiterName)
	if l := reportLine(t, r, "services.app.depends_on.db"); l.Verdict != Mapped {
		t.Errorf("db line %+v", l)
	}
	if l := reportLine(t, r, "services.app.depends_on.cache"); l.Verdict != Approximated {
		t.Errorf("cache line %+v", l)
	}
	if l := reportLine(t, r, "services.migrate"); !strings.Contains(l.Detail, "service_completed_successfully") {
		t.Errorf("migrate rule %+v", l)
	}
}

func TestVolumesPVCOrStatefulSet(t *testing.T) {
	r := mustTranslate(t, loadYAML(t, `
name: vols
services:
  db:
    image: postgres
    deploy: {replicas: 3}
    volumes: [dbdata:/var/lib/postgresql/data]
  single:
    image: app
    volumes: [own:/data]
  a:
    image: app
    volumes: [shared:/shared]
  b:
    image: app
    volumes: [shared:/shared, /cache]
volumes:
  dbdata:
  own:
  shared:
`), Options{StorageClass: "fast"})
	st := find[*appsv1.StatefulSet](t, r, "StatefulSet", "db")
	if *st.Spec.Replicas != 3 || len(st.Spec.VolumeClaimTemplates) != 1 || st.Spec.ServiceName != "db" {
		t.Fatalf("statefulset %+v", st.Spec)
	}
	if ct := st.Spec.VolumeClaimTemplates[0]; *ct.Spec.StorageClassName != "fast" || ct.Spec.AccessModes[0] != corev1.ReadWriteOnce {
		t.Errorf("claim template %+v", ct.Spec)
	}
	if m := st.Spec.Template.Spec.Containers[0].VolumeMounts[0]; m.Name != st.Spec.VolumeClaimTemplates[0].Name {
		t.Errorf("mount %s, claim template %s", m.Name, st.Spec.VolumeClaimTemplates[0].Name)
	}
	if svc := find[*corev1.Service](t, r, "Service", "db"); svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Error("a StatefulSet's Service must be headless")
	}
	for _, o := range r.Objects {
		if objectID(o) == "PersistentVolumeClaim/dbdata" {
			t.Error("dbdata is a claim template, not a PVC")
		}
	}
	if l := reportLine(t, r, "services.db"); !strings.Contains(l.Detail, "StatefulSet") || !strings.Contains(l.Detail, "dbdata") {
		t.Errorf("rule line %+v", l)
	}
	single := find[*appsv1.Deployment](t, r, "Deployment", "single")
	if single.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("a Deployment with a ReadWriteOnce claim rolls with %s", single.Spec.Strategy.Type)
	}
	if pvc := find[*corev1.PersistentVolumeClaim](t, r, "PersistentVolumeClaim", "own"); pvc.Spec.AccessModes[0] != corev1.ReadWriteOnce || *pvc.Spec.StorageClassName != "fast" {
		t.Errorf("own %+v", pvc.Spec)
	}
	if pvc := find[*corev1.PersistentVolumeClaim](t, r, "PersistentVolumeClaim", "shared"); pvc.Spec.AccessModes[0] != corev1.ReadWriteMany {
		t.Errorf("shared by two services: %v", pvc.Spec.AccessModes)
	}
	b := find[*appsv1.Deployment](t, r, "Deployment", "b").Spec.Template.Spec
	var anon bool
	for _, v := range b.Volumes {
		anon = anon || v.EmptyDir != nil
	}
	if !anon {
		t.Error("anonymous volume is no emptyDir")
	}
}

func TestBindMounts(t *testing.T) {
	p := loadYAML(t, `
name: binds
services:
  web:
    image: nginx
    volumes:
      - ./nginx.conf:/etc/nginx/nginx.conf:ro
      - ./html:/usr/share/nginx/html
`, "nginx.conf", "events {}\n", "html/index.html", "<h1>hi</h1>\n", "html/about.html", "about\n")
	r := mustTranslate(t, p, Options{})
	cm := find[*corev1.ConfigMap](t, r, "ConfigMap", "web-bind-0")
	if cm.Data["nginx.conf"] != "events {}\n" {
		t.Errorf("file ConfigMap %v", cm.Data)
	}
	dir := find[*corev1.ConfigMap](t, r, "ConfigMap", "web-bind-1")
	if len(dir.Data) != 2 || dir.Data["index.html"] != "<h1>hi</h1>\n" {
		t.Errorf("directory ConfigMap %v", dir.Data)
	}
	c := find[*appsv1.Deployment](t, r, "Deployment", "web").Spec.Template.Spec.Containers[0]
	m := c.VolumeMounts[0]
	if m.MountPath != "/etc/nginx/nginx.conf" || m.SubPath != "nginx.conf" || !m.ReadOnly {
		t.Errorf("file mount %+v", m)
	}
	if l := reportLine(t, r, "services.web.volumes"); !strings.Contains(l.Detail, "writes now fail") {
		t.Errorf("read-write bind not flagged: %+v", l)
	}

	for _, tc := range []struct{ yaml, want string }{
		{"/var/run/docker.sock:/var/run/docker.sock", `services.web.volumes.0: service "web": bind mount of host path /var/run/docker.sock (outside the project directory)`},
		{"./missing.txt:/x", `services.web.volumes.0: service "web": bind mount source missing.txt: no such file or directory`},
		{"./sub:/x", `bind mount of directory sub holds sub/deeper, which is not a regular file`},
	} {
		p := loadYAML(t, "name: refuse\nservices:\n  web:\n    image: nginx\n    volumes: [\""+tc.yaml+"\"]\n", "sub/deeper/f", "x")
		r, err := Translate(p, Options{})
		var re *RefusalError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.yaml, err, tc.want)
		}
		if r == nil || reportLine(t, r, "services.web.volumes.0").Verdict != Refused {
			t.Errorf("%s: no refused report line", tc.yaml)
		}
	}
}

func TestVolumesFrom(t *testing.T) {
	r := mustTranslate(t, loadYAML(t, `
name: vf
services:
  data:
    image: app
    volumes: [store:/store, /scratch]
  reader:
    image: app
    volumes_from: ["data:ro"]
volumes:
  store:
`), Options{})
	m := find[*appsv1.Deployment](t, r, "Deployment", "reader").Spec.Template.Spec.Containers[0].VolumeMounts
	if len(m) != 1 || m[0].MountPath != "/store" || !m[0].ReadOnly {
		t.Errorf("mounts %+v", m)
	}
	if pvc := find[*corev1.PersistentVolumeClaim](t, r, "PersistentVolumeClaim", "store"); pvc.Spec.AccessModes[0] != corev1.ReadWriteMany {
		t.Errorf("shared claim %v", pvc.Spec.AccessModes)
	}
	if l := reportLine(t, r, "services.reader.volumes_from"); l.Verdict != Approximated || !strings.Contains(l.Detail, "/scratch not shared") {
		t.Errorf("line %+v", l)
	}
	_, err := Translate(loadYAML(t, "services:\n  a:\n    image: x\n    volumes_from: [\"container:other\"]\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "services.a.volumes_from") {
		t.Errorf("container: source: %v", err)
	}
}

func TestConfigsAndSecrets(t *testing.T) {
	r := mustTranslate(t, loadYAML(t, `
name: files
services:
  app:
    image: app
    configs:
      - source: conf
        target: /etc/app.conf
        mode: 0440
      - inline
    secrets:
      - token
      - source: token
        target: other
configs:
  conf: {file: ./app.conf}
  inline: {content: "hello"}
secrets:
  token: {file: ./token.txt}
`, "app.conf", "a=1\n", "token.txt", "s3cret"), Options{})
	if cm := find[*corev1.ConfigMap](t, r, "ConfigMap", "config-conf"); cm.Data["app.conf"] != "a=1\n" {
		t.Errorf("config %v", cm.Data)
	}
	if cm := find[*corev1.ConfigMap](t, r, "ConfigMap", "config-inline"); cm.Data["inline"] != "hello" {
		t.Errorf("inline config %v", cm.Data)
	}
	if s := find[*corev1.Secret](t, r, "Secret", "secret-token"); string(s.Data["token.txt"]) != "s3cret" {
		t.Errorf("secret %v", s.Data)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range find[*appsv1.Deployment](t, r, "Deployment", "app").Spec.Template.Spec.Containers[0].VolumeMounts {
		mounts[m.MountPath] = m
	}
	for _, path := range []string{"/etc/app.conf", "/inline", "/run/secrets/token", "/run/secrets/other"} {
		if m, ok := mounts[path]; !ok || !m.ReadOnly || m.SubPath == "" {
			t.Errorf("no read-only mount at %s: %v", path, mounts)
		}
	}
}

func TestNetworkPolicies(t *testing.T) {
	r := mustTranslate(t, loadYAML(t, `
name: nets
services:
  web:
    image: nginx
    ports: ["8080:80"]
    networks: [front]
  api:
    image: api
    networks:
      front:
      back:
        aliases: [api.internal, backend]
  db:
    image: postgres
    networks: [back]
networks:
  front:
  back:
    internal: true
`), Options{})
	back := find[*networkingv1.NetworkPolicy](t, r, "NetworkPolicy", "network-back")
	sel := back.Spec.PodSelector.MatchLabels
	if sel[LabelNetworkPrefix+"back"] != "true" || sel[LabelProject] != "nets" {
		t.Errorf("back selector %v", sel)
	}
	if from := back.Spec.Ingress[0].From[0].PodSelector.MatchLabels; !reflect.DeepEqual(from, sel) {
		t.Errorf("back ingress from %v", from)
	}
	if len(back.Spec.Egress) != 2 || back.Spec.Egress[0].To == nil {
		t.Errorf("internal network lets pods out: %+v", back.Spec.Egress)
	}
	front := find[*networkingv1.NetworkPolicy](t, r, "NetworkPolicy", "network-front")
	if len(front.Spec.Egress) != 1 || len(front.Spec.Egress[0].To) != 0 {
		t.Errorf("front egress %+v", front.Spec.Egress)
	}
	labels := find[*appsv1.Deployment](t, r, "Deployment", "api").Spec.Template.Labels
	if labels[LabelNetworkPrefix+"front"] != "true" || labels[LabelNetworkPrefix+"back"] != "true" {
		t.Errorf("api pod labels %v", labels)
	}
	if l := find[*appsv1.Deployment](t, r, "Deployment", "db").Spec.Template.Labels; l[LabelNetworkPrefix+"front"] != "" {
		t.Errorf("db is on front: %v", l)
	}
	pub := find[*networkingv1.NetworkPolicy](t, r, "NetworkPolicy", "web-published")
	if pub.Spec.Ingress[0].From != nil || pub.Spec.Ingress[0].Ports[0].Port.IntValue() != 80 {
		t.Errorf("published policy %+v", pub.Spec.Ingress)
	}
	// aliases are Services of their own; api.internal is no valid name
	find[*corev1.Service](t, r, "Service", "backend")
	find[*corev1.Service](t, r, "Service", "api-internal")
	if l := reportLine(t, r, "services.api.networks.back.aliases"); l.Verdict != Mapped && l.Verdict != Approximated {
		t.Errorf("alias line %+v", l)
	}
	if l := reportLine(t, r, "networks.back.internal"); l.Verdict != Mapped {
		t.Errorf("internal line %+v", l)
	}
}

func validateLabelValue(v string) string { return validationLabelValue(v) }

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"web": "web", "my_svc": "my-svc", "Web.API": "web-api", "1st": "x1st", "a__": "a",
	} {
		if got := dnsLabel(in); got != want {
			t.Errorf("dnsLabel(%q) = %q, want %q", in, got, want)
		}
	}
	long := strings.Repeat("a", 80)
	if got := dnsLabel(long); len(got) > 63 || got != dnsLabel(long) {
		t.Errorf("long name %q", got)
	}
	n := serviceNames([]string{"web_1", "web-1", "db"})
	if n["web-1"] != "web-1" || n["web_1"] == "web-1" || n["db"] != "db" || len(validateLabel(n["web_1"])) != 0 {
		t.Errorf("collision: %v", n)
	}
	for _, in := range []string{"web", strings.Repeat("p", 70), "trailing_"} {
		got := LabelValue(in)
		if len(validateLabelValue(got)) != 0 || (len(in) <= 63 && in != "trailing_" && got != in) {
			t.Errorf("LabelValue(%q) = %q", in, got)
		}
	}
	if got := withSuffix(strings.Repeat("b", 60), "published"); len(got) > 63 || !strings.HasSuffix(got, "-published") {
		t.Errorf("withSuffix %q", got)
	}

	r := mustTranslate(t, loadYAML(t, "name: names\nservices:\n  my_api:\n    image: x\n    expose: [\"80\"]\n  client:\n    image: y\n    depends_on: [my_api]\n"), Options{})
	find[*appsv1.Deployment](t, r, "Deployment", "my-api")
	if svc := find[*corev1.Service](t, r, "Service", "my-api"); svc.Spec.Selector[LabelService] != "my_api" {
		t.Errorf("selector %v", svc.Spec.Selector)
	}
	if l := reportLine(t, r, "services.my_api"); l.Verdict != Approximated || !strings.Contains(l.Detail, `"my-api"`) {
		t.Errorf("rename line %+v", l)
	}
}

func TestResourcesSecurityLifecycle(t *testing.T) {
	r := mustTranslate(t, loadYAML(t, `
name: res
services:
  gpu:
    image: cuda
    user: "1000:2000"
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    read_only: true
    privileged: true
    sysctls: {net.core.somaxconn: "1024"}
    ulimits: {nofile: {soft: 1024, hard: 2048}}
    stop_grace_period: 45s
    post_start: [{command: ["touch", "/ready"]}]
    pre_stop: [{command: ["sh", "-c", "sleep 2"]}]
    deploy:
      resources:
        limits: {cpus: "0.5", memory: 512M}
        reservations:
          memory: 256M
          devices: [{capabilities: [gpu], count: 2}]
`), Options{})
	pod := find[*appsv1.Deployment](t, r, "Deployment", "gpu").Spec.Template.Spec
	c := pod.Containers[0]
	if q := c.Resources.Limits[corev1.ResourceCPU]; q.MilliValue() != 500 {
		t.Errorf("cpu limit %s", q.String())
	}
	if q := c.Resources.Limits[corev1.ResourceMemory]; q.Value() != 512<<20 {
		t.Errorf("memory limit %s", q.String())
	}
	if q := c.Resources.Requests[corev1.ResourceMemory]; q.Value() != 256<<20 {
		t.Errorf("memory request %s", q.String())
	}
	if q := c.Resources.Limits["nvidia.com/gpu"]; q.Value() != 2 {
		t.Errorf("gpus %v", c.Resources.Limits)
	}
	sc := c.SecurityContext
	if *sc.RunAsUser != 1000 || *sc.RunAsGroup != 2000 || !*sc.ReadOnlyRootFilesystem || !*sc.Privileged ||
		sc.Capabilities.Add[0] != "NET_ADMIN" || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("security context %+v", sc)
	}
	if pod.SecurityContext.Sysctls[0].Name != "net.core.somaxconn" {
		t.Errorf("sysctls %+v", pod.SecurityContext)
	}
	if l := reportLine(t, r, "services.gpu.ulimits"); l.Verdict != Dropped {
		t.Errorf("ulimits %+v", l)
	}
	if *pod.TerminationGracePeriodSeconds != 45 {
		t.Errorf("grace %d", *pod.TerminationGracePeriodSeconds)
	}
	if c.Lifecycle.PostStart.Exec.Command[0] != "touch" || c.Lifecycle.PreStop.Exec.Command[2] != "sleep 2" {
		t.Errorf("lifecycle %+v", c.Lifecycle)
	}
}

func TestStopSignal(t *testing.T) {
	r := mustTranslate(t, loadYAML(t, `
name: sig
services:
  quit:
    image: nginx
    stop_signal: SIGQUIT
  term:
    image: nginx
    stop_signal: SIGTERM
  hooked:
    image: nginx
    stop_signal: SIGINT
    pre_stop: [{command: ["true"]}]
`), Options{})
	c := find[*appsv1.Deployment](t, r, "Deployment", "quit").Spec.Template.Spec.Containers[0]
	if c.Lifecycle == nil || !strings.Contains(strings.Join(c.Lifecycle.PreStop.Exec.Command, " "), "kill -s QUIT 1") {
		t.Errorf("quit lifecycle %+v", c.Lifecycle)
	}
	if c := find[*appsv1.Deployment](t, r, "Deployment", "term").Spec.Template.Spec.Containers[0]; c.Lifecycle != nil {
		t.Errorf("SIGTERM needs no hook: %+v", c.Lifecycle)
	}
	if c := find[*appsv1.Deployment](t, r, "Deployment", "hooked").Spec.Template.Spec.Containers[0]; c.Lifecycle.PreStop.Exec.Command[0] != "true" {
		t.Errorf("pre_stop replaced: %+v", c.Lifecycle.PreStop)
	}
	for key, verdict := range map[string]string{"services.quit.stop_signal": Approximated, "services.term.stop_signal": Mapped, "services.hooked.stop_signal": Dropped} {
		if l := reportLine(t, r, key); l.Verdict != verdict {
			t.Errorf("%s: %+v", key, l)
		}
	}
}

func TestPublishedPortsAndImages(t *testing.T) {
	p := loadYAML(t, `
name: pub
services:
  web:
    build: .
    image: example/web
    ports: ["30080:80", "127.0.0.1:8443:443", "9000"]
  worker:
    build: ./worker
`, "Dockerfile", "FROM scratch\n", "worker/Dockerfile", "FROM scratch\n")
	r := mustTranslate(t, p, Options{})
	svc := find[*corev1.Service](t, r, "Service", "web-published")
	ports := map[int32]corev1.ServicePort{}
	for _, sp := range svc.Spec.Ports {
		ports[sp.Port] = sp
	}
	if ports[30080].NodePort != 30080 || ports[8443].NodePort != 0 || ports[9000].TargetPort.IntVal != 9000 {
		t.Errorf("ports %+v", svc.Spec.Ports)
	}
	if l := reportLine(t, r, "services.web.ports"); !strings.Contains(l.Detail, "host_ip 127.0.0.1 dropped") {
		t.Errorf("ports line %+v", l)
	}
	if img := find[*appsv1.Deployment](t, r, "Deployment", "worker").Spec.Template.Spec.Containers[0].Image; img != "pub-worker" {
		t.Errorf("worker image %q", img)
	}
	r = mustTranslate(t, p, Options{ServiceType: corev1.ServiceTypeLoadBalancer, Registry: "registry.example:5000"})
	if svc := find[*corev1.Service](t, r, "Service", "web-published"); svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("type %s", svc.Spec.Type)
	}
	if img := find[*appsv1.Deployment](t, r, "Deployment", "web").Spec.Template.Spec.Containers[0].Image; img != "registry.example:5000/pub-web:latest" {
		t.Errorf("registry image %q", img)
	}
	r = mustTranslate(t, loadYAML(t, "name: pn\nservices:\n  web:\n    image: x\n    ports:\n      - {target: 80, published: \"8080\", name: http, app_protocol: http}\n"), Options{})
	if sp := find[*corev1.Service](t, r, "Service", "web").Spec.Ports[0]; sp.Name != "http" || sp.AppProtocol == nil || *sp.AppProtocol != "http" {
		t.Errorf("port name/app_protocol: %+v", sp)
	}
	if _, err := Translate(p, Options{ServiceType: "ClusterIP"}); err == nil {
		t.Error("ClusterIP accepted as the published ports' type")
	}
}

func TestDeployModeGlobalAndPlacement(t *testing.T) {
	r := mustTranslate(t, loadYAML(t, `
name: glob
services:
  agent:
    image: agent
    platform: linux/arm64
    deploy:
      mode: global
      placement:
        constraints: ["node.labels.zone==eu", "node.role==manager"]
`), Options{})
	ds := find[*appsv1.DaemonSet](t, r, "DaemonSet", "agent")
	ns := ds.Spec.Template.Spec.NodeSelector
	if ns["zone"] != "eu" || ns["kubernetes.io/arch"] != "arm64" || ns["kubernetes.io/os"] != "linux" {
		t.Errorf("nodeSelector %v", ns)
	}
	if l := reportLine(t, r, "services.agent.deploy.placement.constraints"); l.Verdict != Approximated || !strings.Contains(l.Detail, "node.role==manager") {
		t.Errorf("placement line %+v", l)
	}
}

// TestServiceKeysCoverServiceConfig fails when compose-go grows a
// service key the key table has no verdict for.
func TestServiceKeysCoverServiceConfig(t *testing.T) {
	walkFields(reflect.ValueOf(types.ServiceConfig{}), func(key string, _ reflect.Value) {
		if _, ok := serviceKeys[key]; !ok {
			t.Errorf("compose-go ServiceConfig key %q has no entry in serviceKeys", key)
		}
	})
}

func TestUnknownAndUntranslatedKeysReported(t *testing.T) {
	p := loadYAML(t, `
name: keys
services:
  app:
    image: app
    cpu_shares: 512
    logging: {driver: syslog}
    x-custom: 1
x-top: 2
`)
	model := map[string]any{"services": map[string]any{"app": map[string]any{"image": "app", "future_key": true, "cpu_shares": 512}}}
	r := mustTranslate(t, p, Options{Model: model})
	for key, verdict := range map[string]string{
		"services.app.cpu_shares": Dropped, "services.app.logging": Dropped, "services.app.x-custom": Dropped,
		"x-top": Dropped, "services.app.future_key": Dropped, "services.app.image": Mapped,
	} {
		if l := reportLine(t, r, key); l.Verdict != verdict || l.Detail == "" {
			t.Errorf("%s: %+v, want %s", key, l, verdict)
		}
	}
}

func TestWriteDir(t *testing.T) {
	r := mustTranslate(t, loadDir(t, "../../examples/webstack"), Options{})
	dir := t.TempDir()
	if err := WriteDir(r, dir); err != nil {
		t.Fatal(err)
	}
	kust, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range r.Objects {
		if !strings.Contains(string(kust), "- "+FileName(o)+"\n") {
			t.Errorf("kustomization lacks %s", FileName(o))
		}
		if _, err := os.Stat(filepath.Join(dir, FileName(o))); err != nil {
			t.Error(err)
		}
	}
	rep, err := os.ReadFile(filepath.Join(dir, ReportFile))
	if err != nil || !strings.Contains(string(rep), "| services.web.ports | approximated |") {
		t.Errorf("report: %v\n%s", err, rep)
	}
}

// TestConflictsTheServerRejects: combinations Docker accepts and the API
// server does not are resolved the way Docker behaves, and reported.
func TestConflictsTheServerRejects(t *testing.T) {
	r := mustTranslate(t, loadYAML(t, `
name: conflicts
services:
  priv:
    image: x
    privileged: true
    security_opt: ["no-new-privileges:true"]
  hostnet:
    image: x
    network_mode: host
    sysctls: {net.ipv4.ip_forward: "1", kernel.msgmax: "65536"}
  hostpid:
    image: x
    init: true
    pid: host
`), Options{})
	if sc := find[*appsv1.Deployment](t, r, "Deployment", "priv").Spec.Template.Spec.Containers[0].SecurityContext; sc.AllowPrivilegeEscalation != nil {
		t.Errorf("privileged with allowPrivilegeEscalation=false: %+v", sc)
	}
	if l := reportLine(t, r, "services.priv.security_opt"); l.Verdict != Approximated {
		t.Errorf("security_opt line %+v", l)
	}
	pod := find[*appsv1.Deployment](t, r, "Deployment", "hostnet").Spec.Template.Spec
	if !pod.HostNetwork || len(pod.SecurityContext.Sysctls) != 1 || pod.SecurityContext.Sysctls[0].Name != "kernel.msgmax" {
		t.Errorf("hostnet pod %+v", pod.SecurityContext)
	}
	if l := reportLine(t, r, "services.hostnet.sysctls.net.ipv4.ip_forward"); l.Verdict != Dropped {
		t.Errorf("net sysctl line %+v", l)
	}
	if pod := find[*appsv1.Deployment](t, r, "Deployment", "hostpid").Spec.Template.Spec; !pod.HostPID || pod.ShareProcessNamespace != nil {
		t.Errorf("hostpid pod: hostPID %v shareProcessNamespace %v", pod.HostPID, pod.ShareProcessNamespace)
	}
}

// TestKustomizeBuildsWriteDir runs kustomize (kubectl's) over WriteDir's
// output, where kubectl is installed.
func TestKustomizeBuildsWriteDir(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("no kubectl")
	}
	r := mustTranslate(t, loadDir(t, "../../examples/buildstack"), Options{Registry: "127.0.0.1:5000"})
	dir := t.TempDir()
	if err := WriteDir(r, dir); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kubectl, "kustomize", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "\n---\n") + 1; n != len(r.Objects) {
		t.Errorf("kustomize built %d objects of %d:\n%s", n, len(r.Objects), out)
	}
}

// TestPreStartAndSubpaths: fixes found by dry-running the corpus on
// kube-apiserver v1.37.2 (duplicate env names, absolute subpaths).
func TestPreStartAndSubpaths(t *testing.T) {
	r := mustTranslate(t, loadYAML(t, `
name: hooks
services:
  app:
    image: myapp
    environment: [COMMON=a, OVERRIDDEN=service]
    volumes:
      - type: volume
        source: data
        target: /data
        volume: {subpath: /sub/dir}
    pre_start:
      - command: ["migrate"]
        environment: [OVERRIDDEN=hook]
volumes:
  data: {}
`), Options{})
	pod := find[*appsv1.Deployment](t, r, "Deployment", "app").Spec.Template.Spec
	hook := pod.InitContainers[0]
	if hook.Name != "pre-start-0" || hook.Image != "myapp" || len(hook.Env) != 2 || hook.Env[1].Value != "hook" {
		t.Errorf("hook %+v", hook)
	}
	if len(hook.VolumeMounts) != 1 || hook.VolumeMounts[0].MountPath != "/data" {
		t.Errorf("hook mounts %+v", hook.VolumeMounts)
	}
	if sp := pod.Containers[0].VolumeMounts[0].SubPath; sp != "sub/dir" {
		t.Errorf("subPath %q", sp)
	}
	if relSubPath("../x") != "" || relSubPath("a/../../b") != "" || relSubPath("a..b") != "a..b" {
		t.Error("relSubPath lets a path leave the volume")
	}
}
