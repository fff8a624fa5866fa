package translate

import (
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
)

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
	if pre == nil {
		pre = t.stopSignal(name, s)
	} else if s.StopSignal != "" && !isTerm(s.StopSignal) {
		t.dropped(svcKey(name, "stop_signal"), "the service has pre_stop hooks, which take the preStop handler; Kubernetes stops with SIGTERM")
	}
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
			Name:       fmt.Sprintf("pre-start-%d", i),
			Image:      main.Image,
			Command:    main.Command,
			Args:       main.Args,
			Env:        main.Env,
			WorkingDir: main.WorkingDir,
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
		c.Env = mergeEnv(main.Env, h.Environment)
		out = append(out, c)
	}
	if len(out) > 0 {
		t.approx(svcKey(name, "pre_start"), "init containers pre-start-N, run before the service's container in every pod (per replica), with its volumes; image, command, entrypoint, environment and working_dir kept, other container keys of the hook not")
	}
	return out
}

// stopSignal approximates stop_signal: Kubernetes stops a container with
// the image's STOPSIGNAL or SIGTERM (lifecycle.stopSignal is still
// feature-gated), so a preStop handler sends the service's signal to its
// PID 1 first and waits for it to exit within the grace period.
func (t *translator) stopSignal(name string, s types.ServiceConfig) *corev1.LifecycleHandler {
	sig := strings.TrimPrefix(strings.ToUpper(s.StopSignal), "SIG")
	k := svcKey(name, "stop_signal")
	switch {
	case s.StopSignal == "":
		return nil
	case isTerm(s.StopSignal):
		t.mapped(k, "SIGTERM is what Kubernetes sends")
		return nil
	case s.Init != nil && *s.Init:
		t.dropped(k, "with init: true the pod's PID 1 is the pause process, so there is no process to send %s to first; Kubernetes stops with SIGTERM", s.StopSignal)
		return nil
	}
	t.approx(k, "preStop handler `kill -s %s 1`, then waiting for the process to exit (needs /bin/sh and kill in the image); Kubernetes sends SIGTERM only after it", sig)
	return &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c",
		"kill -s " + sig + " 1; while kill -0 1 2>/dev/null; do sleep 1; done"}}}
}

func isTerm(sig string) bool {
	switch strings.TrimPrefix(strings.ToUpper(sig), "SIG") {
	case "TERM", "15":
		return true
	}
	return false
}

// mergeEnv is env with the hook's variables added, a hook's value
// replacing the service's (Kubernetes rejects a name given twice).
func mergeEnv(env []corev1.EnvVar, add types.MappingWithEquals) []corev1.EnvVar {
	out := append([]corev1.EnvVar(nil), env...)
	for _, k := range sortedKeys(add) {
		v := add[k]
		if v == nil {
			continue
		}
		replaced := false
		for i := range out {
			if out[i].Name == k {
				out[i].Value, replaced = *v, true
			}
		}
		if !replaced {
			out = append(out, corev1.EnvVar{Name: k, Value: *v})
		}
	}
	return out
}
