package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Docker Compose's pkg/e2e scenarios about run, exec, attached up and its
// exit codes, ported as Compose states them (see parity_compose_test.go).

// Compose: exec_test.go TestExec.
func TestParityComposeExec(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    image: alpine
    command: tail -f /dev/null
`)
	e.MustBerth(t, "run", "-d", "test", "cat")
	expect(t, e, OneOffState("test", "running"))
	r := e.Berth(t, "exec", "--index=1", "test", "ps")
	wantCode(t, r, 1, "exec --index=1 with only a one-off")
	wantOut(t, r, `service "test" is not running container #1`)
	r = e.MustBerth(t, "exec", "test", "ps")
	if !strings.Contains(r.Stdout, "cat") {
		t.Errorf("exec with only a one-off: want it in the one-off (ps shows cat):\n%s", r)
	}
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("test", "running"))
	r = e.MustBerth(t, "exec", "test", "ps")
	if !strings.Contains(r.Stdout, "tail") {
		t.Errorf("exec with the service container up: want it there (ps shows tail):\n%s", r)
	}
}

// Compose: compose_exec_test.go TestLocalComposeExecOneOff.
func TestParityComposeExecOneOff(t *testing.T) {
	e := parityEnv(t, `services:
  simple:
    image: alpine
    init: true
    command: top
  another:
    image: alpine
    init: true
    command: top
`)
	e.MustBerth(t, "run", "-d", "simple", "top")
	expect(t, e, OneOffState("simple", "running"))
	r := e.MustBerth(t, "exec", "-e", "FOO", "simple", "/usr/bin/env")
	wantNotOut(t, r, "FOO=")
	r = e.Berth(t, "exec", "--index", "1", "-e", "FOO", "simple", "/usr/bin/env")
	wantCode(t, r, 1, "exec --index 1 with only a one-off")
	wantOut(t, r, `service "simple" is not running container #1`)
}

// Compose: compose_run_test.go TestComposeRunDeps (regression of
// docker/compose#9459).
func TestParityComposeRunDeps(t *testing.T) {
	e := parityEnv(t, `services:
  service_a:
    image: bash
    command: echo "a"
    depends_on:
      - shared_dep
  service_b:
    image: bash
    command: echo "b"
    depends_on:
      - shared_dep
  shared_dep:
    image: bash
`)
	r := e.MustBerth(t, "run", "service_a")
	wantOut(t, r, "shared_dep")
	wantNotOut(t, r, "service_b")
	before := expect(t, e, ServiceNotCreated("service_b"))
	e.ExtraEnv = []string{"COMPOSE_IGNORE_ORPHANS=True"}
	r = e.MustBerth(t, "run", "--no-deps", "service_a")
	wantNotOut(t, r, "service_b", "shared_dep")
	expect(t, e, NotRecreated(before, "shared_dep"), ServiceNotCreated("service_b"))
}

const parityPiped = `services:
  piped-test:
    image: alpine
    command: cat
    # Service that will receive piped input and echo it back
  tty-test:
    image: alpine
    command: sh -c "if [ -t 0 ]; then echo 'TTY detected'; else echo 'No TTY detected'; fi"
    # Service to test TTY detection
`

// Compose: compose_run_test.go TestComposeRunPipedInput (its four
// subtests).
func TestParityComposeRunPipedInput(t *testing.T) {
	e := parityEnv(t, parityPiped)
	r := e.BerthStdin(t, "piped-content\n", "run", "--rm", "piped-test")
	wantCode(t, r, 0, "run with piped input")
	if !strings.Contains(r.Stdout, "piped-content") {
		t.Errorf("piped input not echoed back:\n%s", r)
	}
	r = e.BerthStdin(t, "\n", "run", "--rm", "tty-test")
	wantCode(t, r, 0, "run with piped input, tty test")
	if !strings.Contains(r.Stdout, "No TTY detected") {
		t.Errorf("piped input allocated a TTY:\n%s", r)
	}
	for _, flag := range []string{"--tty", "--no-TTY=false"} {
		r = e.BerthStdin(t, "test\n", "run", "--rm", flag, "piped-test")
		wantCode(t, r, 1, "run "+flag+" with piped input")
		if !strings.Contains(r.Stderr, "cannot attach stdin to a TTY-enabled container because stdin is not a terminal") {
			t.Errorf("run %s with piped input: stderr lacks Compose's message:\n%s", flag, r)
		}
	}
}

const parityCascade = `services:
  running:
    image: alpine
    command: sleep infinity
    init: true

  exit:
    image: alpine
    command: /bin/true
    depends_on:
      running:
        condition: service_started

  fail:
    image: alpine
    command: sh -c "return 111"
    depends_on:
      exit:
        condition: service_completed_successfully
`

// Compose: cascade_test.go TestCascadeStop.
func TestParityComposeCascadeStop(t *testing.T) {
	e := parityEnv(t, parityCascade)
	e.Timeout = 60 * time.Second
	r := e.MustBerth(t, "up", "--abort-on-container-exit")
	wantOut(t, r, "exit-1 exited with code 0")
	expect(t, e, ServiceState("running", "exited"))
}

const parityExitCodeFrom = `services:
  safe:
    image: 'alpine'
    init: true
    command: ['/bin/sh', '-c', 'sleep infinity']  # never exiting
  failure:
    image: 'alpine'
    init: true
    command: ['/bin/sh', '-c', 'sleep 1 ; echo "exiting with error" ; exit 42']
  test:
    image: 'alpine'
    init: true
    command: ['/bin/sh', '-c', 'sleep 99999 ; echo "tests are OK"']  # very long job
    depends_on: [safe]
`

// Compose: compose_up_test.go TestUpExitCodeFrom.
func TestParityComposeUpExitCodeFrom(t *testing.T) {
	e := parityEnv(t, parityExitCodeFrom)
	e.Timeout = 60 * time.Second
	r := e.Berth(t, "up", "--exit-code-from=failure", "failure")
	wantCode(t, r, 42, "up --exit-code-from=failure")
}

// Compose: compose_up_test.go TestUpExitCodeFromContainerKilled.
func TestParityComposeUpExitCodeFromContainerKilled(t *testing.T) {
	e := parityEnv(t, parityExitCodeFrom)
	e.Timeout = 60 * time.Second
	r := e.Berth(t, "up", "--exit-code-from=test")
	wantCode(t, r, 143, "up --exit-code-from=test, test stopped by the abort")
}

// Compose: compose_up_test.go TestUpWait.
func TestParityComposeUpWait(t *testing.T) {
	e := parityEnv(t, `services:
  oneshot:
    image: alpine
    command: echo 'hello world'
  longrunning:
    image: alpine
    init: true
    depends_on:
      oneshot:
        condition: service_completed_successfully
    command: sleep infinity
`)
	e.Timeout = 30 * time.Second
	r := e.MustBerth(t, "up", "--wait", "-d")
	wantOut(t, r, e.Project+"-oneshot-1")
	expectWithin(t, e, 2*time.Second, ServiceState("longrunning", "running"), ServiceState("oneshot", "exited"))
}

// Compose: compose_up_test.go TestUpWaitTimeout.
func TestParityComposeUpWaitTimeout(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    image: alpine
    init: true
    command: sleep infinity
    healthcheck:
      # Keeps failing during a long start_period, so health stays "starting"
      # and --wait can only end by hitting its timeout.
      test: ["CMD", "false"]
      interval: 1s
      retries: 3
      start_period: 120s
`)
	e.Timeout = 60 * time.Second
	r := e.Berth(t, "up", "--wait", "--wait-timeout", "3", "-d")
	wantCode(t, r, 1, "up --wait --wait-timeout 3")
	wantOut(t, r, "application not healthy after 3s")
	expectWithin(t, e, 2*time.Second, ServiceState("app", "running"))
}

// Compose: compose_test.go TestInitContainer. Compose's check is the
// regexp "foo-1  | hello(?m:.*)bar-1  | world", whose unescaped | makes
// it match any output holding "foo-1  "; its intent, checked here, is foo's
// line before bar's.
func TestParityComposeInitContainer(t *testing.T) {
	e := parityEnv(t, `services:
  foo:
    image: alpine
    command: "echo hello"

  bar:
    image: alpine
    command: "echo world"
    depends_on:
      foo:
        condition: "service_completed_successfully"
`)
	e.Timeout = 60 * time.Second
	r := e.MustBerth(t, "up")
	if !regexp.MustCompile(`(?s)foo-1\s+\| hello.*bar-1\s+\| world`).MatchString(r.Stdout) {
		t.Errorf("want foo's hello before bar's world on stdout:\n%s", r)
	}
}

// Compose: compose_test.go TestAttachRestart.
func TestParityComposeAttachRestart(t *testing.T) {
	e := parityEnv(t, `services:
  failing:
    image: alpine
    command: sh -c "sleep 0.1 && echo world && /bin/false"
    deploy:
      restart_policy:
        condition: "on-failure"
        max_attempts: 2
`)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	up := e.Cmd(ctx, "up")
	var stdout, stderr lcBuffer
	up.Stdout, up.Stderr = &stdout, &stderr
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- up.Wait() }()
	defer func() {
		_ = up.Process.Signal(syscall.SIGINT)
		<-done
	}()
	Eventually(t, 4*time.Minute, func() error {
		if n := strings.Count(stdout.String(), "failing-1 exited with code 1"); n != 3 {
			return fmt.Errorf("'failing-1 exited with code 1' %d times, want 3:\n%s\n--- stderr\n%s", n, stdout.String(), stderr.String())
		}
		return nil
	})
	if n := strings.Count(stdout.String(), "failing-1  | world"); n != 3 {
		t.Errorf("'failing-1  | world' %d times, want 3:\n%s", n, stdout.String())
	}
}

// Compose: events_test.go TestEventsUnknownService.
func TestParityComposeEventsUnknownService(t *testing.T) {
	e := parityEnv(t, `services:
  simple:
    image: alpine
    command: top
  another:
    image: alpine
    command: top
`)
	e.Timeout = 10 * time.Second
	r := e.Berth(t, "events", "not-a-service")
	wantCode(t, r, 1, "events of an unknown service")
	wantOut(t, r, "no such service: not-a-service")
}

// Compose: container_name_test.go TestUpContainerNameConflict.
func TestParityComposeUpContainerNameConflict(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    image: alpine
    container_name: ${FIXED_NAME}
    command: /bin/true

  another_test:
    image: alpine
    container_name: ${FIXED_NAME}
    command: /bin/true
`)
	name := e.Project + "-fixed"
	e.ExtraEnv = []string{"FIXED_NAME=" + name}
	r := e.Berth(t, "up")
	wantCode(t, r, 1, "up of two services with one container_name")
	wantOut(t, r, `container name "`+name+`" is already in use`)
	e.MustBerth(t, "down")
	e.MustBerth(t, "up", "test")
	expect(t, e, ServiceState("test", "exited"))
	e.MustBerth(t, "down")
	expect(t, e, ServiceNotCreated("test"))
	e.MustBerth(t, "up", "another_test")
	expect(t, e, ServiceState("another_test", "exited"))
}

// Compose: up_test.go TestUpServiceUnhealthy.
func TestParityComposeUpServiceUnhealthy(t *testing.T) {
	e := parityEnv(t, `services:
  fail:
    image: alpine
    init: true
    command: sleep infinity
    healthcheck:
      test: "false"
      interval: 1s
      retries: 3
  depends:
    image: alpine
    init: true
    command: sleep infinity
    depends_on:
      fail:
        condition: service_healthy
`)
	e.Timeout = 60 * time.Second
	r := e.Berth(t, "up", "-d")
	wantCode(t, r, 1, "up with an unhealthy dependency")
	wantOut(t, r, "container "+e.Project+"-fail-1 is unhealthy")
	expect(t, e, ServiceState("depends", "created"))
}

// Compose: up_test.go TestUpWithDependencyExit.
func TestParityComposeUpWithDependencyExit(t *testing.T) {
	e := parityEnv(t, `services:
  web:
    image: alpine
    init: true
    command: sleep infinity
    depends_on:
      db:
        condition: service_healthy
  db:
    image: alpine
    command: sh -c "exit 1"
`)
	r := e.Berth(t, "up", "-d")
	wantCode(t, r, 1, "up with a dependency that exits")
	wantOut(t, r, "dependency failed to start: container "+e.Project+"-db-1 exited (1)")
	expect(t, e, ServiceState("web", "created"))
}

// Compose: up_test.go TestUpDependenciesNotStopped: Ctrl-C on an attached
// `up app` stops app, not its dependency nor another file's service.
func TestParityComposeUpDependenciesNotStopped(t *testing.T) {
	e := parityEnv(t, "")
	e.WriteFile(t, "orphan.yaml", `services:
  orphan:
    image: alpine
    init: true
    command: /bin/sh -c 'while true; do echo "hello orphan"; sleep 1; done'
`)
	e.WriteFile(t, "compose.yaml", `services:
  dependency:
    image: alpine
    init: true
    command: /bin/sh -c 'while true; do echo "hello dependency"; sleep 1; done'

  app:
    depends_on: ['dependency']
    image: alpine
    init: true
    command: /bin/sh -c 'while true; do echo "hello app"; sleep 1; done'
`)
	e.MustBerth(t, "-f=orphan.yaml", "-p", e.Project, "up", "--wait", "--detach", "orphan")
	expect(t, e, ServiceState("orphan", "running"))

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	up := e.Cmd(ctx, "-f=compose.yaml", "up", "app")
	up.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out lcBuffer
	up.Stdout, up.Stderr = &out, &out
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		if !strings.Contains(out.String(), "hello app") {
			return fmt.Errorf("no 'hello app' yet:\n%s", out.String())
		}
		return nil
	})
	expect(t, e, ServiceState("app", "running"), ServiceState("dependency", "running"))
	if err := syscall.Kill(-up.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := up.Wait()
	if code := up.ProcessState.ExitCode(); err != nil && code != 130 {
		t.Errorf("attached up after Ctrl-C: exit code %d, want 0 or 130 (%v):\n%s", code, err, out.String())
	}
	expect(t, e, ServiceState("app", "exited"), ServiceState("dependency", "running"), ServiceState("orphan", "running"))
}

// Compose: up_test.go TestUpStopWithLogsMixed.
func TestParityComposeUpStopWithLogsMixed(t *testing.T) {
	e := parityEnv(t, `services:
  service1:
    image: alpine
    command: sh -c "sleep 2"
  service2:
    image: alpine
    init: true
    command: ping localhost
    pre_stop:
      - command: echo "stop hook running..."
`)
	e.Timeout = 60 * time.Second
	r := e.Berth(t, "up", "--abort-on-container-exit")
	if !strings.Contains(r.Stderr, "Container "+e.Project+"-service1-1") || !strings.Contains(r.Stderr, "Stopped") {
		t.Errorf("stderr lacks service1's stop:\n%s", r)
	}
	for _, want := range []string{"stop hook running...", "64 bytes"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
	// as Compose prints a hook's output: under the container and an arrow
	if !regexp.MustCompile(`(?m)^service2-1 ->\s+\| stop hook running\.\.\.$`).MatchString(r.Stdout) {
		t.Errorf("stdout lacks the hook's line as \"service2-1 ->  | stop hook running...\":\n%s", r)
	}
}

// Compose: compose_run_test.go TestComposeRunRmStopSignal: a `run --rm -d`
// one-off stopped by ID from outside (Compose: `docker stop ID`; berth:
// `berth container stop ID`) is removed.
func TestParityComposeRunRmStopSignal(t *testing.T) {
	e := parityEnv(t, `services:
  nginx:
    image: nginx:latest
    expose:
    - '80'
    - '443'
    - '8080'
  busybox:
    image: busybox
    command: busybox httpd -f -p 8000
    ports:
    - '127.0.0.1:8001:8000'
`)
	e.MustBerth(t, "run", "--rm", "-d", "nginx")
	s := expect(t, e, OneOffState("nginx", "running"))
	id := svcContainers(s, "nginx", true)[0].ID
	e.MustBerth(t, "container", "stop", id)
	expectWithin(t, e, 10*time.Second, OneOffsRemoved("nginx"))
}
