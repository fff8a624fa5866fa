package translate

import (
	"fmt"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
)

// Docker's healthcheck defaults, which apply where the file leaves a
// field out.
const (
	defaultInterval      = 30 * time.Second
	defaultTimeout       = 30 * time.Second
	defaultRetries       = 3
	defaultStartInterval = 5 * time.Second
)

// probes maps a healthcheck to a readiness probe (interval, timeout,
// retries), a startup probe that gives the container start_period to come
// up (probing every start_interval) before the others take over, and, when
// Options.Liveness, a liveness probe like the readiness one.
func (t *translator) probes(name string, s types.ServiceConfig) (readiness, startup, liveness *corev1.Probe) {
	h := s.HealthCheck
	if h == nil {
		return nil, nil, nil
	}
	cmd, ok := t.probeCommand(name, h)
	if !ok {
		return nil, nil, nil
	}
	pt := healthTiming(h)
	probe := func(period time.Duration, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: cmd}},
			PeriodSeconds:    int32(ceilSeconds(period)),
			TimeoutSeconds:   int32(ceilSeconds(pt.timeout)),
			SuccessThreshold: 1,
			FailureThreshold: failures,
		}
	}
	readiness = probe(pt.interval, pt.retries)
	startup = probe(pt.startInterval, pt.startFailures)
	if t.o.Liveness {
		liveness = probe(pt.interval, pt.retries)
	}
	t.reportProbes(svcKey(name, "healthcheck"), h, readiness, startup)
	return readiness, startup, liveness
}

// probeCommand is the exec command of a healthcheck's test; ok is false
// (and the report says why) when the healthcheck is disabled, has no test
// or its test is malformed.
func (t *translator) probeCommand(name string, h *types.HealthCheckConfig) (cmd []string, ok bool) {
	k := svcKey(name, "healthcheck")
	if h.Disable || (len(h.Test) > 0 && h.Test[0] == "NONE") {
		t.mapped(k, "no probes: the healthcheck is disabled")
		return nil, false
	}
	switch {
	case len(h.Test) == 0:
		t.dropped(k, "no test: the image's HEALTHCHECK would run, which Kubernetes ignores; add a test to get probes")
		return nil, false
	case h.Test[0] == "CMD":
		cmd = h.Test[1:]
	case h.Test[0] == "CMD-SHELL":
		cmd = []string{"/bin/sh", "-c", strings.Join(h.Test[1:], " ")}
	default:
		t.refuse(append(k, "test"), "test must start with CMD, CMD-SHELL or NONE, not %q", h.Test[0])
		return nil, false
	}
	if len(cmd) == 0 || strings.TrimSpace(strings.Join(cmd, "")) == "" || cmd[len(cmd)-1] == "" {
		t.refuse(append(k, "test"), "service %q: the healthcheck's %s test has no command", name, h.Test[0])
		return nil, false
	}
	return cmd, true
}

// probeTiming is a healthcheck's timing with Docker's defaults filled in.
type probeTiming struct {
	interval, timeout, startInterval time.Duration
	retries                          int32
	// startFailures is the startup probe's failureThreshold: enough
	// start_interval tries to cover start_period plus the retries
	// Docker would grant after it.
	startFailures int32
}

// healthTiming fills in Docker's defaults for what h leaves out: at
// least one retry, and a start_interval no longer than the interval
// unless it is given.
func healthTiming(h *types.HealthCheckConfig) probeTiming {
	pt := probeTiming{
		interval:      durOr(h.Interval, defaultInterval),
		timeout:       durOr(h.Timeout, defaultTimeout),
		retries:       int32(defaultRetries),
		startInterval: durOr(h.StartInterval, defaultStartInterval),
	}
	if h.Retries != nil {
		pt.retries = int32(*h.Retries)
	}
	if pt.retries < 1 {
		pt.retries = 1
	}
	if h.StartInterval == nil && pt.startInterval > pt.interval {
		pt.startInterval = pt.interval
	}
	budget := durOr(h.StartPeriod, 0) + time.Duration(pt.retries)*pt.interval
	pt.startFailures = int32((budget + pt.startInterval - 1) / pt.startInterval)
	if pt.startFailures < 1 {
		pt.startFailures = 1
	}
	return pt
}

// reportProbes adds the report lines for the healthcheck keys h sets.
func (t *translator) reportProbes(k []string, h *types.HealthCheckConfig, readiness, startup *corev1.Probe) {
	kind := "exec"
	if h.Test[0] == "CMD-SHELL" {
		kind = "exec of /bin/sh -c"
	}
	t.mapped(append(k, "test"), "%s probe command", kind)
	if h.Interval != nil {
		t.mapped(append(k, "interval"), "readiness periodSeconds %d", readiness.PeriodSeconds)
	}
	if h.Timeout != nil {
		t.mapped(append(k, "timeout"), "probe timeoutSeconds %d", readiness.TimeoutSeconds)
	}
	if h.Retries != nil {
		t.mapped(append(k, "retries"), "readiness failureThreshold %d", readiness.FailureThreshold)
	}
	if h.StartPeriod != nil {
		t.mapped(append(k, "start_period"), "startup probe failureThreshold %d × periodSeconds %d covers start_period plus retries × interval", startup.FailureThreshold, startup.PeriodSeconds)
	}
	if h.StartInterval != nil {
		t.mapped(append(k, "start_interval"), "startup probe periodSeconds %d", startup.PeriodSeconds)
	}
	live := "no liveness probe (Docker does not restart unhealthy containers; --liveness adds one)"
	if t.o.Liveness {
		live = "a liveness probe like the readiness one (--liveness): Kubernetes restarts a container that fails it, which Docker does not"
	}
	t.approx(k, "readiness probe (the pod leaves its Services' endpoints while unhealthy) and startup probe (a container that never passes is restarted, where Docker only marks it unhealthy); %s", live)
}

func durOr(d *types.Duration, def time.Duration) time.Duration {
	if d == nil || *d <= 0 {
		return def
	}
	return time.Duration(*d)
}

// ceilSeconds rounds up to whole seconds, at least 1.
func ceilSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// waits are the init containers that hold a pod until its dependencies
// are up: for service_started and service_healthy a busybox loop that
// connects to the dependency's Service (kube-proxy forwards only to ready
// pods, so a connection means a ready replica; without ports, the
// dependency's headless Service resolves only once a pod is ready), and
// for service_completed_successfully `kubectl wait` on its Job.
func (t *translator) waits(name string, s types.ServiceConfig) []corev1.Container {
	var out []corev1.Container
	for _, dep := range sortedKeys(s.DependsOn) {
		d := s.DependsOn[dep]
		k := svcKey(name, "depends_on", dep)
		ds, ok := t.p.Services[dep]
		if !ok {
			t.dropped(k, "service %q is not in the project (disabled by a profile, or required: false and missing): nothing to wait for", dep)
			continue
		}
		target := t.names[dep]
		cname := withSuffix("wait-for", target)
		if t.jobs[dep] {
			out = append(out, corev1.Container{
				Name:    cname,
				Image:   JobWaitImage,
				Command: []string{"kubectl", "wait", "--for=condition=complete", "--timeout=-1s", "job/" + target},
			})
			t.jobWaiter = true
			if d.Condition == types.ServiceConditionCompletedSuccessfully {
				t.mapped(k, "init container %s: `kubectl wait --for=condition=complete job/%s` (pods run as ServiceAccount %s, which may read Jobs)", cname, target, jobWaiterName)
			} else {
				t.approx(k, "%q runs as a Job (another service waits for it to complete), so this %s dependency also waits for it to complete (init container %s)", dep, d.Condition, cname)
			}
		} else {
			script := t.waitScript(dep, ds)
			out = append(out, corev1.Container{
				Name:    cname,
				Image:   WaitImage,
				Command: []string{"sh", "-c", script},
			})
			switch {
			case !strings.HasPrefix(script, "until nc") && !t.headless(dep, ds):
				t.approx(k, "init container %s waits only until the name %q resolves: %q has no TCP port to probe and its Service has a cluster IP, so readiness cannot be seen from another pod", cname, t.names[dep], dep)
			case d.Condition == types.ServiceConditionCompletedSuccessfully:
				// not reached: such dependencies are Jobs
			case d.Condition == types.ServiceConditionHealthy && (ds.HealthCheck == nil || len(ds.HealthCheck.Test) == 0):
				t.approx(k, "init container %s waits until a replica of %q is ready; %q has no healthcheck test in the file (an image HEALTHCHECK is not seen by Kubernetes), so ready means running", cname, dep, dep)
			case d.Condition == types.ServiceConditionHealthy:
				t.mapped(k, "init container %s waits until a replica of %q passes its readiness probe (its healthcheck)", cname, dep)
			default:
				t.approx(k, "init container %s waits until a replica of %q is ready: Kubernetes shows other pods no 'started but not yet ready' state", cname, dep)
			}
		}
		if d.Restart {
			t.dropped(append(k, "restart"), "Kubernetes does not restart a pod when one it depends on restarts")
		}
	}
	if len(s.DependsOn) > 0 {
		t.mapped(svcKey(name, "depends_on"), "init containers, one per dependency, before the service's container starts (a restart of %q waits again)", name)
	}
	return out
}

// waitScript is the busybox loop that waits for dep's Service. The name
// stays short: busybox's nslookup applies the pod's search domains (the
// namespace's first) only to names without a dot.
func (t *translator) waitScript(dep string, ds types.ServiceConfig) string {
	host := t.names[dep]
	for _, p := range t.servicePorts(ds) {
		if p.protocol == corev1.ProtocolTCP && !t.headless(dep, ds) {
			return fmt.Sprintf("until nc -z -w 2 %s %d; do echo waiting for %s; sleep 2; done", host, p.port, host)
		}
	}
	return fmt.Sprintf("until nslookup %s >/dev/null 2>&1; do echo waiting for %s; sleep 2; done", host, host)
}
