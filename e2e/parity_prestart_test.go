package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// Compose 5's pre_start hooks (its hooks_test.go TestPreStartHook*, fixtures
// pkg/e2e/fixtures/pre_start): each hook is a container run to completion
// before the service starts, with the service's volumes. Compose's probes
// (`docker run --rm -v PROJECT_data:/mnt alpine …`) are `berth container
// run` here.

// preStartProbe runs cmd in a throwaway container with the project's data
// volume at /mnt and returns its output.
func preStartProbe(t *testing.T, e *Env, cmd ...string) string {
	t.Helper()
	args := append([]string{"container", "run", "--rm", "-v", e.Project + "_data:/mnt", "alpine"}, cmd...)
	return e.MustBerth(t, args...).Stdout
}

// preStartLines counts the lines of file in the data volume.
func preStartLines(t *testing.T, e *Env, file string) int {
	t.Helper()
	out := preStartProbe(t, e, "wc", "-l", "/mnt/"+file)
	f := strings.Fields(out)
	if len(f) == 0 {
		t.Fatalf("wc -l /mnt/%s: no output", file)
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatalf("wc -l /mnt/%s: %q", file, out)
	}
	return n
}

// preStartIdempotent is fixtures/pre_start/idempotent/compose.yaml: the
// hook appends a unique token each time it runs.
const preStartIdempotent = `services:
  sample:
    image: alpine
    command: sh -c 'sleep 30'
    volumes:
      - data:/shared
    pre_start:
      - image: alpine
        command: sh -c 'cat /proc/sys/kernel/random/uuid >> /shared/tokens.txt'
volumes:
  data:
`

// Compose: hooks_test.go TestPreStartHookSuccess.
func TestParityComposePreStartHookSuccess(t *testing.T) {
	e := parityEnv(t, `services:
  sample:
    image: alpine
    command: sh -c 'cat /shared/init.txt && sleep 5'
    volumes:
      - data:/shared
    pre_start:
      - image: alpine
        command: sh -c 'echo "initialized" > /shared/init.txt'
volumes:
  data:
`)
	e.MustBerth(t, "up", "-d", "--wait")
	wantOut(t, e.MustBerth(t, "logs", "sample"), "initialized")
}

// Compose: hooks_test.go TestPreStartHookInError.
func TestParityComposePreStartHookInError(t *testing.T) {
	e := parityEnv(t, `services:
  sample:
    image: alpine
    command: sh -c 'sleep 30'
    pre_start:
      - image: alpine
        command: sh -c 'exit 17'
`)
	r := e.Berth(t, "up", "-d")
	wantCode(t, r, 1, "up with a failing pre_start hook")
	wantOut(t, r, "pre_start", "17")
	expect(t, e, ServiceState("sample", "created"))
}

// Compose: hooks_test.go TestPreStartHookBuildInheritance.
func TestParityComposePreStartHookBuildInheritance(t *testing.T) {
	e := parityEnv(t, `services:
  sample:
    build: .
    command: sh -c 'cat /shared/marker && sleep 5'
    volumes:
      - data:/shared
    pre_start:
      - command: sh -c 'built-marker > /shared/marker'
volumes:
  data:
`)
	e.WriteFile(t, "Dockerfile", `FROM alpine
RUN mkdir -p /usr/local/bin && printf '#!/bin/sh\necho "built-image-marker"\n' > /usr/local/bin/built-marker \
    && chmod +x /usr/local/bin/built-marker
`)
	e.MustBerth(t, "up", "-d", "--wait")
	wantOut(t, e.MustBerth(t, "logs", "sample"), "built-image-marker")
}

// Compose: hooks_test.go TestPreStartHookIdempotentReUp.
func TestParityComposePreStartHookIdempotentReUp(t *testing.T) {
	e := parityEnv(t, preStartIdempotent)
	e.MustBerth(t, "up", "-d", "--wait")
	if n := preStartLines(t, e, "tokens.txt"); n != 1 {
		t.Fatalf("after the first up: %d token lines, want 1", n)
	}
	e.MustBerth(t, "up", "-d", "--wait")
	if n := preStartLines(t, e, "tokens.txt"); n != 1 {
		t.Fatalf("after a second up with nothing changed: %d token lines, want 1 (the hook ran again)", n)
	}
}

// Compose: hooks_test.go TestPreStartHookReRunOnSpecChange.
func TestParityComposePreStartHookReRunOnSpecChange(t *testing.T) {
	v := func(n string) string {
		return `services:
  sample:
    image: alpine
    command: sh -c 'sleep 30'
    volumes:
      - data:/shared
    pre_start:
      - image: alpine
        command: sh -c 'echo ` + n + ` >> /shared/versions.txt'
volumes:
  data:
`
	}
	e := parityEnv(t, v("v1"))
	e.MustBerth(t, "up", "-d", "--wait")
	out := preStartProbe(t, e, "cat", "/mnt/versions.txt")
	if !strings.Contains(out, "v1") || strings.Contains(out, "v2") {
		t.Fatalf("after v1: versions.txt = %q, want v1 only", out)
	}
	e.Compose(t, v("v2"))
	e.MustBerth(t, "up", "-d", "--wait")
	out = preStartProbe(t, e, "cat", "/mnt/versions.txt")
	if !strings.Contains(out, "v1") || !strings.Contains(out, "v2") {
		t.Fatalf("after v2: versions.txt = %q, want v1 and v2", out)
	}
}

// Compose: hooks_test.go TestPreStartHookForceRecreate.
func TestParityComposePreStartHookForceRecreate(t *testing.T) {
	e := parityEnv(t, preStartIdempotent)
	e.MustBerth(t, "up", "-d", "--wait")
	if n := preStartLines(t, e, "tokens.txt"); n != 1 {
		t.Fatalf("after the first up: %d token lines, want 1", n)
	}
	e.MustBerth(t, "up", "-d", "--force-recreate", "--wait")
	if n := preStartLines(t, e, "tokens.txt"); n != 2 {
		t.Fatalf("after --force-recreate: %d token lines, want 2", n)
	}
}

// Compose: hooks_test.go TestPreStartHookMidSequenceFailure.
func TestParityComposePreStartHookMidSequenceFailure(t *testing.T) {
	e := parityEnv(t, `services:
  sample:
    image: alpine
    command: sh -c 'sleep 30'
    volumes:
      - data:/shared
    pre_start:
      - image: alpine
        command: sh -c 'echo ran-0 >> /shared/hooks.txt'
      - image: alpine
        command: sh -c 'exit 17'
volumes:
  data:
`)
	r := e.Berth(t, "up", "-d")
	wantCode(t, r, 1, "up with a failing second hook")
	wantOut(t, r, "pre_start[1]", "17")
	if out := preStartProbe(t, e, "cat", "/mnt/hooks.txt"); !strings.Contains(out, "ran-0") {
		t.Errorf("hooks.txt = %q, want hook 0's ran-0", out)
	}
	expect(t, e, ServiceState("sample", "created"))
}

// Compose: hooks_test.go TestPreStartHookSequentialOrder.
func TestParityComposePreStartHookSequentialOrder(t *testing.T) {
	e := parityEnv(t, `services:
  sample:
    image: alpine
    command: sh -c 'sleep 30'
    volumes:
      - data:/shared
    pre_start:
      - image: alpine
        command: sh -c 'echo A >> /shared/out'
      - image: alpine
        command: sh -c 'echo B >> /shared/out'
volumes:
  data:
`)
	e.MustBerth(t, "up", "-d", "--wait")
	if out := preStartProbe(t, e, "cat", "/mnt/out"); out != "A\nB\n" {
		t.Errorf("out = %q, want %q", out, "A\nB\n")
	}
}

// Compose: hooks_test.go TestPreStartHookNotReRunOnScaleUp.
func TestParityComposePreStartHookNotReRunOnScaleUp(t *testing.T) {
	e := parityEnv(t, preStartIdempotent)
	e.MustBerth(t, "up", "-d", "--wait")
	if n := preStartLines(t, e, "tokens.txt"); n != 1 {
		t.Fatalf("after the first up: %d token lines, want 1", n)
	}
	e.MustBerth(t, "up", "-d", "--scale", "sample=2", "--wait")
	expect(t, e, ServiceScale("sample", 2))
	if n := preStartLines(t, e, "tokens.txt"); n != 1 {
		t.Fatalf("after scaling up: %d token lines, want 1", n)
	}
}

// Compose: hooks_test.go TestPreStartHookRunsOnceForScaledService; and
// per_replica, its opposite.
func TestParityComposePreStartHookRunsOnceForScaledService(t *testing.T) {
	scaled := func(perReplica string) string {
		return `services:
  sample:
    image: alpine
    command: sh -c 'sleep 30'
    deploy:
      replicas: 2
    volumes:
      - data:/shared
    pre_start:
      - image: alpine
        command: sh -c 'echo ran >> /shared/log'` + perReplica + `
volumes:
  data:
`
	}
	e := parityEnv(t, scaled(""))
	e.MustBerth(t, "up", "-d", "--wait")
	expect(t, e, ServiceScale("sample", 2))
	if n := preStartLines(t, e, "log"); n != 1 {
		t.Fatalf("two replicas: the hook ran %d times, want once", n)
	}
	e.MustBerth(t, "down", "-v")
	e.Compose(t, scaled("\n        per_replica: true"))
	e.MustBerth(t, "up", "-d", "--wait")
	if n := preStartLines(t, e, "log"); n != 2 {
		t.Fatalf("two replicas, per_replica: the hook ran %d times, want twice", n)
	}
}
