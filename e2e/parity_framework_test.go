package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/berth-dev/berth/internal/testimages"
)

// The vocabulary of Docker Compose's pkg/e2e scenarios (its checks.go:
// ServiceState, ServiceNotCreated, ReplicaNumbers, Recreated, OneOffState…),
// observed through `berth ps -a --format json`, so that the parity tests
// (parity_*_test.go, listed in COMPOSE-PARITY.md) read as Compose's do.

// parityImages pushes, once per suite, the names Compose's fixtures use,
// as stand-ins made of the standard test images: alpine (any tag) is
// busybox, bash is busybox, nginx (any tag) is httpecho listening on port 80. The suite's
// registry is berth's docker.io mirror, so `image: alpine` resolves to them.
var parityImages = sync.OnceValue(func() error {
	bb, err := testimages.Busybox()
	if err != nil {
		return err
	}
	he, err := testimages.HTTPEcho()
	if err != nil {
		return err
	}
	cf, err := he.ConfigFile()
	if err != nil {
		return err
	}
	cfg := *cf.Config.DeepCopy()
	cfg.Env = append(cfg.Env, "PORT=80")
	cfg.ExposedPorts = map[string]struct{}{"80/tcp": {}}
	nginx, err := mutate.Config(he, cfg)
	if err != nil {
		return err
	}
	// What the stand-ins add to busybox for Compose's fixtures: alpine's
	// /var/run -> /run and a printenv (busybox-static has none), and
	// nginx's default page.
	alpineLayer, err := testimages.Layer(
		testimages.Dir("usr", 0o755), testimages.Dir("usr/bin", 0o755),
		testimages.Reg("usr/bin/printenv", 0o755, parityPrintenv), testimages.Symlink("usr/bin/env", "/bin/env"),
		testimages.Symlink("var/run", "/run"))
	if err != nil {
		return err
	}
	nginxLayer, err := testimages.Layer(
		testimages.Dir("usr/share", 0o755), testimages.Dir("usr/share/nginx", 0o755),
		testimages.Dir("usr/share/nginx/html", 0o755),
		testimages.Reg("usr/share/nginx/html/index.html", 0o644, "<h1>Welcome to nginx!</h1>\n"),
		testimages.Dir("usr/sbin", 0o755),
		testimages.Reg("usr/sbin/nginx", 0o755, "#!/bin/sh\necho 'nginx: configuration file /etc/nginx/nginx.conf test is successful'\n"))
	if err != nil {
		return err
	}
	if bb, err = mutate.AppendLayers(bb, alpineLayer); err != nil {
		return err
	}
	if nginx, err = mutate.AppendLayers(nginx, alpineLayer, nginxLayer); err != nil {
		return err
	}
	imgs := map[string]v1.Image{
		"alpine:latest": bb, "alpine:3.13.12": bb, "alpine:3.14": bb, "alpine:3.15": bb,
		"alpine:3.18": bb, "alpine:3.19": bb, "alpine:3.20": bb, "alpine:3.22": bb,
		"nginx:alpine": nginx, "nginx:latest": nginx, "bash:latest": bb, "busybox:1.35.0": bb,
	}
	for name, img := range imgs {
		if _, err := suite.registry.Push(context.Background(), name, img); err != nil {
			return fmt.Errorf("push %s: %w", name, err)
		}
	}
	return nil
})

// parityPrintenv is printenv for the stand-in images: the values of the
// variables named (exit 1 if one is unset), or the whole environment.
const parityPrintenv = `#!/bin/sh
[ $# -eq 0 ] && exec env
rc=0
for v in "$@"; do
	if eval "[ -n \"\${$v+x}\" ]"; then eval "printf '%s\\n' \"\$$v\""; else rc=1; fi
done
exit $rc
`

// parityEnv is a test's Env with Compose's fixture as its compose.yaml
// and the stand-in images pushed.
func parityEnv(t *testing.T, compose string) *Env {
	t.Helper()
	if err := parityImages(); err != nil {
		t.Fatal(err)
	}
	e := NewEnv(t)
	if compose != "" {
		e.Compose(t, compose)
	}
	return e
}

// pc is one container of the project, as the checks see it.
type pc struct {
	ID, Name, Service, State, Health string
	ExitCode                         int
	Number                           int
	Oneoff                           bool
}

// paritySnap lists every container of the project (`ps -a`, one-offs
// included).
func paritySnap(t *testing.T, e *Env, args ...string) ([]pc, error) {
	t.Helper()
	r := e.Berth(t, append(args, "ps", "-a", "--format", "json")...)
	if r.Code != 0 {
		return nil, fmt.Errorf("berth ps -a: %s", r)
	}
	var out []pc
	for _, l := range nonEmptyLines(r.Stdout) {
		var s struct {
			ID, Name, Service, State, Health string
			ExitCode                         int
			Labels                           map[string]string
		}
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			return nil, fmt.Errorf("ps line %q: %w", l, err)
		}
		n, _ := strconv.Atoi(s.Labels["com.docker.compose.container-number"])
		out = append(out, pc{ID: s.ID, Name: s.Name, Service: s.Service, State: s.State, Health: s.Health,
			ExitCode: s.ExitCode, Number: n, Oneoff: strings.EqualFold(s.Labels["com.docker.compose.oneoff"], "true")})
	}
	return out, nil
}

func mustSnap(t *testing.T, e *Env, args ...string) []pc {
	t.Helper()
	s, err := paritySnap(t, e, args...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func svcContainers(s []pc, svc string, oneoff bool) []pc {
	var out []pc
	for _, c := range s {
		if c.Service == svc && c.Oneoff == oneoff {
			out = append(out, c)
		}
	}
	return out
}

// Check is one observable of a step, as Compose's checks.go has them.
type Check func(s []pc) error

// ServiceState: every (non one-off) container of svc has the state, and
// there is at least one.
func ServiceState(svc, st string) Check {
	return func(s []pc) error {
		cs := svcContainers(s, svc, false)
		if len(cs) == 0 {
			return fmt.Errorf("service %s has no container, want %s", svc, st)
		}
		for _, c := range cs {
			if c.State != st {
				return fmt.Errorf("service %s: %s is %s, want %s", svc, c.Name, c.State, st)
			}
		}
		return nil
	}
}

// OneOffState: svc has a one-off container, all in the state.
func OneOffState(svc, st string) Check {
	return func(s []pc) error {
		cs := svcContainers(s, svc, true)
		if len(cs) == 0 {
			return fmt.Errorf("service %s has no one-off container, want %s", svc, st)
		}
		for _, c := range cs {
			if c.State != st {
				return fmt.Errorf("one-off %s of %s is %s, want %s", c.Name, svc, c.State, st)
			}
		}
		return nil
	}
}

// ServiceNotCreated: svc has no (non one-off) container.
func ServiceNotCreated(svc string) Check {
	return func(s []pc) error {
		if cs := svcContainers(s, svc, false); len(cs) > 0 {
			return fmt.Errorf("service %s has containers %v, want none", svc, cs)
		}
		return nil
	}
}

// OneOffsRemoved: svc has no one-off container.
func OneOffsRemoved(svc string) Check {
	return func(s []pc) error {
		if cs := svcContainers(s, svc, true); len(cs) > 0 {
			return fmt.Errorf("service %s has one-offs %v, want none", svc, cs)
		}
		return nil
	}
}

// ServiceScale: svc has n running containers.
func ServiceScale(svc string, n int) Check {
	return func(s []pc) error {
		running := 0
		for _, c := range svcContainers(s, svc, false) {
			if c.State == "running" {
				running++
			}
		}
		if running != n {
			return fmt.Errorf("service %s has %d running containers, want %d: %v", svc, running, n, svcContainers(s, svc, false))
		}
		return nil
	}
}

// ReplicaNumbers: svc's containers carry exactly these numbers.
func ReplicaNumbers(svc string, want ...int) Check {
	return func(s []pc) error {
		var got []int
		for _, c := range svcContainers(s, svc, false) {
			got = append(got, c.Number)
		}
		sort.Ints(got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("service %s replica numbers %v, want %v", svc, got, want)
		}
		return nil
	}
}

// ServiceHealthy: every container of svc is healthy.
func ServiceHealthy(svc string) Check {
	return func(s []pc) error {
		cs := svcContainers(s, svc, false)
		if len(cs) == 0 {
			return fmt.Errorf("service %s has no container", svc)
		}
		for _, c := range cs {
			if c.Health != "healthy" {
				return fmt.Errorf("service %s: %s health %q, want healthy", svc, c.Name, c.Health)
			}
		}
		return nil
	}
}

// NotRecreated: the services' containers are the ones of before.
func NotRecreated(before []pc, svcs ...string) Check {
	return func(s []pc) error {
		for _, svc := range svcs {
			b, a := svcContainers(before, svc, false), svcContainers(s, svc, false)
			if len(b) == 0 || fmt.Sprint(containerIDs(b)) != fmt.Sprint(containerIDs(a)) {
				return fmt.Errorf("service %s: containers %v before, %v now: want the same", svc, containerIDs(b), containerIDs(a))
			}
		}
		return nil
	}
}

// Recreated: none of the services' containers are the ones of before.
func Recreated(before []pc, svcs ...string) Check {
	return func(s []pc) error {
		for _, svc := range svcs {
			old := map[string]bool{}
			for _, c := range svcContainers(before, svc, false) {
				old[c.ID] = true
			}
			a := svcContainers(s, svc, false)
			if len(a) == 0 {
				return fmt.Errorf("service %s has no container", svc)
			}
			for _, c := range a {
				if old[c.ID] {
					return fmt.Errorf("service %s: %s kept its container %s, want a new one", svc, c.Name, c.ID)
				}
			}
		}
		return nil
	}
}

// OneOffsUntouched: the one-offs of svc are the ones of before, in the
// same state.
func OneOffsUntouched(before []pc, svc string) Check {
	return func(s []pc) error {
		b, a := svcContainers(before, svc, true), svcContainers(s, svc, true)
		key := func(cs []pc) string {
			var k []string
			for _, c := range cs {
				k = append(k, c.ID+"/"+c.State)
			}
			sort.Strings(k)
			return strings.Join(k, " ")
		}
		if key(b) != key(a) {
			return fmt.Errorf("one-offs of %s were %s, now %s", svc, key(b), key(a))
		}
		return nil
	}
}

func containerIDs(cs []pc) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	sort.Strings(out)
	return out
}

// expect applies checks to the project's containers, retrying for a while
// (berth reports a state change when the command returns, but a loaded
// machine makes the first look early for exits), and returns the snapshot
// that passed.
func expect(t *testing.T, e *Env, checks ...Check) []pc {
	t.Helper()
	return expectWithin(t, e, 20*time.Second, checks...)
}

func expectWithin(t *testing.T, e *Env, d time.Duration, checks ...Check) []pc {
	t.Helper()
	var last []pc
	Eventually(t, d, func() error {
		s, err := paritySnap(t, e)
		if err != nil {
			return err
		}
		last = s
		for _, c := range checks {
			if err := c(s); err != nil {
				return err
			}
		}
		return nil
	})
	return last
}

// wantCode fails unless r exited with code.
func wantCode(t *testing.T, r Result, code int, what string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("%s: want exit code %d, got %s", what, code, r)
	}
}

// wantOut fails unless stdout+stderr contains each string.
func wantOut(t *testing.T, r Result, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.Stdout+r.Stderr, s) {
			t.Errorf("output lacks %q:\n%s", s, r)
		}
	}
}

// wantNotOut fails if stdout+stderr contains one of the strings.
func wantNotOut(t *testing.T, r Result, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(r.Stdout+r.Stderr, s) {
			t.Errorf("output has %q, want it not:\n%s", s, r)
		}
	}
}
