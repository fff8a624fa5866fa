package e2e

// Compose parity of berth's command line (issue 12): flags, exit codes,
// streams and COMPOSE_* variables as docker compose has them. Scenarios
// taken from docker/compose's pkg/e2e name the Compose test they restate;
// the others name the Compose source whose behaviour they check.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects a running command's output for polling.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startBerth starts a long-running berth command (an attached up, logs
// -f); ended tells whether it has ended, stop interrupts it and waits for
// it to end.
func startBerth(t *testing.T, e *Env, args ...string) (out, errb *lockedBuffer, ended func() bool, stop func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	cmd := e.Cmd(ctx, args...)
	out, errb = &lockedBuffer{}, &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	ended = func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Signal(os.Interrupt)
				<-done
			}
			cancel()
		})
	}
	t.Cleanup(stop)
	return out, errb, ended, stop
}

func waitOutput(t *testing.T, b *lockedBuffer, want string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		if !strings.Contains(b.String(), want) {
			return fmt.Errorf("output lacks %q:\n%s", want, b.String())
		}
		return nil
	})
}

// waitState waits for a service's (first) container to be in state.
func waitState(t *testing.T, e *Env, svc, state string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		ps, err := psJSON(t, e, "-a")
		if err != nil {
			return err
		}
		if got := states(ps)[svc]; got != state {
			return fmt.Errorf("%s is %q, want %q", svc, got, state)
		}
		return nil
	})
}

// TestParityCLICascadeFail restates Compose's TestCascadeFail
// (pkg/e2e/cascade_test.go): up --abort-on-container-failure goes on past
// a clean exit, aborts on the failure and exits with its code.
func TestParityCLICascadeFail(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  running:
    image: busybox
    network_mode: none
    command: `+longRunning("running-up")+`
  exit:
    image: busybox
    network_mode: none
    command: ["true"]
    depends_on:
      running: {condition: service_started}
  fail:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "exit 111"]
    depends_on:
      exit: {condition: service_completed_successfully}
`)
	r := e.Berth(t, "up", "--abort-on-container-failure")
	if r.Code != 111 {
		t.Fatalf("up --abort-on-container-failure: want exit code 111, got %s", r)
	}
	// "exit-1 exited with code 0" as Compose, or with the log prefix's bar
	for _, want := range []string{`(?m)^exit-1 +(\| )?exited with code 0$`, `(?m)^fail-1 +(\| )?exited with code 111$`} {
		if !regexp.MustCompile(want).MatchString(r.Stdout) {
			t.Errorf("stdout lacks %s:\n%s", want, r)
		}
	}
	if st := states(mustPs(t, e, "-a")); st["running"] != "exited" || st["exit"] != "exited" {
		t.Errorf("after the abort, states = %v; want running and exit exited", st)
	}
	if r := e.Berth(t, "up", "-d", "--abort-on-container-failure"); r.Code == 0 {
		t.Errorf("up -d --abort-on-container-failure: want an error, got %s", r)
	}
	if r := e.Berth(t, "up", "--abort-on-container-failure", "--abort-on-container-exit"); r.Code == 0 || !strings.Contains(r.Stderr, "cannot be combined") {
		t.Errorf("both abort flags: want an error, got %s", r)
	}
}

// TestParityCLICascadeIgnoresOneOff restates Compose's
// TestCascadeIgnoresOneOffContainer (pkg/e2e/cascade_test.go): a one-off
// that exits does not abort an attached up --abort-on-container-exit, and
// --menu=false is accepted.
func TestParityCLICascadeIgnoresOneOff(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  running:
    image: busybox
    network_mode: none
    command: `+longRunning("running-up")+`
`)
	out, errb, ended, stop := startBerth(t, e, "up", "--abort-on-container-exit", "--menu=false", "running")
	waitOutput(t, out, "Attaching to running-1", time.Minute)
	waitOutput(t, out, "| running-up", time.Minute)
	e.MustBerth(t, "run", "--rm", "--no-deps", "running", "true")
	time.Sleep(3 * time.Second)
	if ended() {
		t.Fatalf("up ended after a one-off exited:\n%s\n%s", out.String(), errb.String())
	}
	if strings.Contains(out.String()+errb.String(), "Aborting") {
		t.Errorf("up aborted on a one-off:\n%s\n%s", out.String(), errb.String())
	}
	if st := states(mustPs(t, e)); st["running"] != "running" {
		t.Errorf("running is %q, want running", st["running"])
	}
	stop()
}

// TestParityCLILogsIndex restates Compose's TestLocalComposeLogs
// (pkg/e2e/logs_test.go): logs filters by service, and --index picks one
// replica.
func TestParityCLILogsIndex(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  ping:
    image: busybox
    network_mode: none
    command: `+longRunning("PING-localhost")+`
  hello:
    image: busybox
    network_mode: none
    command: ["echo", "hello"]
    deploy: {replicas: 2}
`)
	e.MustBerth(t, "up", "-d")
	Eventually(t, time.Minute, func() error {
		n := 0
		for _, p := range mustPs(t, e, "-a") {
			if p.Service == "hello" && p.State == "exited" {
				n++
			}
		}
		if n != 2 {
			return fmt.Errorf("%d hello replicas exited, want 2", n)
		}
		return nil
	})
	if r := e.MustBerth(t, "logs"); !strings.Contains(r.Stdout, "PING-localhost") || !strings.Contains(r.Stdout, "hello") {
		t.Errorf("logs lacks a service:\n%s", r)
	}
	if r := e.MustBerth(t, "logs", "ping"); strings.Contains(r.Stdout, "hello") {
		t.Errorf("logs ping shows hello:\n%s", r)
	}
	r := e.MustBerth(t, "logs", "--index", "2", "hello")
	if !strings.Contains(r.Stdout, "hello-2") || strings.Contains(r.Stdout, "hello-1") {
		t.Errorf("logs --index 2 hello: want hello-2 only:\n%s", r)
	}
	if r := e.Berth(t, "logs", "--index", "2"); r.Code == 0 || !strings.Contains(r.Stderr, "one service") {
		t.Errorf("logs --index without a service: want an error, got %s", r)
	}
	if r := e.Berth(t, "logs", "--index", "3", "hello"); r.Code == 0 {
		t.Errorf("logs --index 3 hello (2 replicas): want an error, got %s", r)
	}
}

// TestParityCLILogsFollowNewContainers restates Compose's
// TestLocalComposeLogsFollow (pkg/e2e/logs_test.go): logs -f also follows
// containers that start after it, new services and scaled-up replicas.
func TestParityCLILogsFollowNewContainers(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  ping:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "trap 'exit 0' TERM; i=0; while [ $$i -lt 120 ]; do echo ping $$i; i=$$((i+1)); sleep 1 & wait; done"]
  hello:
    image: busybox
    network_mode: none
    command: ["echo", "hello"]
    deploy: {replicas: 2}
`)
	e.MustBerth(t, "up", "-d", "ping")
	out, errb, _, stop := startBerth(t, e, "logs", "-f")
	waitOutput(t, out, "ping-1 ", 30*time.Second)
	e.MustBerth(t, "up", "-d")
	waitOutput(t, out, "hello-1 ", 30*time.Second)
	e.MustBerth(t, "up", "-d", "--scale", "ping=2", "ping")
	waitOutput(t, out, "ping-2 ", 30*time.Second)
	stop()
	if strings.Contains(errb.String(), "panic") {
		t.Errorf("logs -f stderr:\n%s", errb.String())
	}
}

// TestParityCLILogsFollowRestarted: logs -f started while a container is
// stopped waits for it and follows it when it starts again, then ends
// once it stops (Compose's logs -f watches every container it found:
// pkg/compose/monitor.go drops one only on its death).
func TestParityCLILogsFollowRestarted(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  job:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "echo job-ran; sleep 1"]
`)
	e.MustBerth(t, "up", "-d")
	waitState(t, e, "job", "exited", time.Minute)
	out, errb, ended, stop := startBerth(t, e, "logs", "-f")
	waitOutput(t, out, "job-ran", 30*time.Second)
	time.Sleep(3 * time.Second)
	if ended() {
		t.Fatalf("logs -f ended while its container was stopped:\n%s\n%s", out.String(), errb.String())
	}
	e.MustBerth(t, "start", "job")
	Eventually(t, 30*time.Second, func() error {
		if n := strings.Count(out.String(), "job-ran"); n < 2 {
			return fmt.Errorf("logs -f shows %d runs, want 2:\n%s", n, out.String())
		}
		return nil
	})
	Eventually(t, 30*time.Second, func() error {
		if !ended() {
			return errors.New("logs -f still runs after its container stopped again")
		}
		return nil
	})
	stop()
}

// TestParityCLIPsUnknownService restates the "ps unknown" step of Compose's
// TestPs (pkg/e2e/ps_test.go).
func TestParityCLIPsUnknownService(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    command: `+longRunning("up")+`
`)
	e.MustBerth(t, "up", "-d")
	e.MustBerth(t, "ps", "app")
	r := e.Berth(t, "ps", "unknown")
	if r.Code != 1 || !strings.Contains(r.Stderr, "no such service: unknown") {
		t.Errorf("ps unknown: want exit 1 and 'no such service: unknown', got %s", r)
	}
}

// TestParityCLIPsFilterStatus checks ps --filter status=… (Compose's
// cmd/compose/ps.go parseFilter; no Compose e2e test covers it).
func TestParityCLIPsFilterStatus(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  up:
    image: busybox
    network_mode: none
    command: `+longRunning("up")+`
  done:
    image: busybox
    network_mode: none
    command: ["true"]
`)
	e.MustBerth(t, "up", "-d")
	waitState(t, e, "done", "exited", time.Minute)
	if r := e.MustBerth(t, "ps", "--filter", "status=exited", "--services"); strings.TrimSpace(r.Stdout) != "done" {
		t.Errorf("ps --filter status=exited: want done, got %s", r)
	}
	if r := e.MustBerth(t, "ps", "--filter", "status=running", "--services"); strings.TrimSpace(r.Stdout) != "up" {
		t.Errorf("ps --filter status=running: want up, got %s", r)
	}
	if r := e.Berth(t, "ps", "--filter", "name=up"); r.Code == 0 || !strings.Contains(r.Stderr, "unknown filter name") {
		t.Errorf("ps --filter name=up: want 'unknown filter name', got %s", r)
	}
	if r := e.Berth(t, "ps", "--filter", "status"); r.Code == 0 || !strings.Contains(r.Stderr, "KEY=VAL") {
		t.Errorf("ps --filter status: want a KEY=VAL error, got %s", r)
	}
}

// TestParityCLIUpStreams: an attached up prints containers' stdout on its
// stdout and their stderr on its stderr (Compose: pkg/compose/attach.go
// splits the streams; the log consumer writes Err lines to stderr).
func TestParityCLIUpStreams(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "echo to-out; echo to-err >&2; sleep 0.5"]
`)
	r := e.MustBerth(t, "up")
	if !strings.Contains(r.Stdout, "app-1  | to-out") || strings.Contains(r.Stdout, "to-err") {
		t.Errorf("stdout: want to-out only:\n%s", r)
	}
	if !strings.Contains(r.Stderr, "app-1  | to-err") || strings.Contains(r.Stderr, "to-out") {
		t.Errorf("stderr: want to-err only:\n%s", r)
	}
}

// TestParityCLIUpAttach: --attach and --no-attach pick whose output an
// attached up prints (Compose's cmd/compose/up.go); TestStopWithDependencies
// restates Compose's TestStopWithDependenciesAttached
// (pkg/e2e/compose_test.go) below.
func TestParityCLIUpAttach(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  a:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "echo from-a; sleep 1"]
  b:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "echo from-b; sleep 1"]
`)
	r := e.MustBerth(t, "up", "--no-attach", "b")
	if !strings.Contains(r.Stdout, "from-a") || strings.Contains(r.Stdout, "from-b") {
		t.Errorf("up --no-attach b: want a's output only:\n%s", r)
	}
	if !strings.Contains(r.Stdout, "Attaching to a-1\n") {
		t.Errorf("up --no-attach b: want 'Attaching to a-1' (Compose's attach.go):\n%s", r)
	}
	r = e.MustBerth(t, "up", "--attach", "b")
	if strings.Contains(r.Stdout, "from-a") || !strings.Contains(r.Stdout, "from-b") {
		t.Errorf("up --attach b: want b's output only:\n%s", r)
	}
	if r := e.Berth(t, "up", "--attach", "nope"); r.Code == 0 {
		t.Errorf("up --attach nope: want an error, got %s", r)
	}
}

// TestParityCLIStopWithDependenciesAttached restates Compose's
// TestStopWithDependenciesAttached (pkg/e2e/compose_test.go): up SERVICE
// --attach-dependencies returns when SERVICE exits, though its dependency
// still runs.
func TestParityCLIStopWithDependenciesAttached(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  foo:
    image: busybox
    network_mode: none
    command: ["echo", "hello"]
    depends_on: [bar]
  bar:
    image: busybox
    network_mode: none
    command: `+longRunning("bar-up")+`
`)
	r := e.Berth(t, "up", "--attach-dependencies", "foo", "--menu=false")
	if r.Code != 0 || !strings.Contains(r.Stdout, "exited with code 0") {
		t.Errorf("up --attach-dependencies foo: %s", r)
	}
}

// TestParityCLIExecEnv restates Compose's TestLocalComposeExec
// (pkg/e2e/compose_exec_test.go): exit codes pass through, and exec -e KEY
// takes KEY from the caller or leaves it out.
func TestParityCLIExecEnv(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  simple:
    image: busybox
    network_mode: none
    command: `+longRunning("up")+`
`)
	e.MustBerth(t, "up", "-d")
	e.MustBerth(t, "exec", "-T", "simple", "true")
	if r := e.Berth(t, "exec", "-T", "simple", "false"); r.Code != 1 {
		t.Errorf("exec false: want exit 1, got %s", r)
	}
	e.ExtraEnv = append(e.ExtraEnv, "FOO=BAR")
	if r := e.MustBerth(t, "exec", "-T", "-e", "FOO", "simple", "env"); envOf(r.Stdout)["FOO"] != "BAR" {
		t.Errorf("exec -e FOO with FOO=BAR in the caller:\n%s", r)
	}
	e.ExtraEnv = e.ExtraEnv[:len(e.ExtraEnv)-1]
	if r := e.MustBerth(t, "exec", "--no-tty", "-e", "FOO", "simple", "env"); strings.Contains(r.Stdout, "FOO=") {
		t.Errorf("exec -e FOO with FOO unset passed it:\n%s", r)
	}
	e.MustBerth(t, "exec", "--no-TTY", "simple", "true") // the old spelling
}

// TestParityCLIEnvUnsetRemovesImageVar: a bare `environment: [FOO]` that
// resolves to nothing removes the image's FOO, as Docker does with a
// KEY without '=' (Compose's ToMobyEnv passes it so).
func TestParityCLIEnvUnsetRemovesImageVar(t *testing.T) {
	e := NewEnv(t)
	ref := pushEnvImage(t, e, "BERTH_E2E_FROM_IMAGE=image", "KEPT=image")
	e.Compose(t, `services:
  app:
    image: `+ref+`
    network_mode: none
    command: ["env"]
    environment: [BERTH_E2E_FROM_IMAGE]
`)
	_, out := oneShot(t, e, "app")
	got := envOf(out)
	if v, ok := got["BERTH_E2E_FROM_IMAGE"]; ok {
		t.Errorf("environment: [BERTH_E2E_FROM_IMAGE] unset: the image's value %q stayed\n%s", v, out)
	}
	if got["KEPT"] != "image" {
		t.Errorf("KEPT=%q, want image\n%s", got["KEPT"], out)
	}
}

// TestParityCLIRunEnv restates the env steps of Compose's TestComposeRun
// (pkg/e2e/compose_run_test.go: --env-from-file, --env) and of
// TestEnvPriority (pkg/e2e/compose_environment_test.go: run -e KEY takes
// KEY from the env files, COMPOSE_ENV_FILES names them, an unresolved
// KEY leaves the image's value).
func TestParityCLIRunEnv(t *testing.T) {
	e := NewEnv(t)
	ref := pushEnvImage(t, e, "WHEREAMI=image")
	e.Compose(t, `services:
  front:
    image: `+ref+`
    network_mode: none
    command: ["env"]
`)
	e.WriteFile(t, "run.env", "FOO=BAR\n")
	e.WriteFile(t, "alt.env", "WHEREAMI=EnvFileDefaultValue\n")
	if r := e.MustBerth(t, "run", "--rm", "--env-from-file", "run.env", "front"); envOf(r.Stdout)["FOO"] != "BAR" {
		t.Errorf("run --env-from-file: %s", r)
	}
	if r := e.MustBerth(t, "run", "--rm", "--env", "FOO=BAR", "front"); envOf(r.Stdout)["FOO"] != "BAR" {
		t.Errorf("run --env FOO=BAR: %s", r)
	}
	if r := e.MustBerth(t, "run", "--rm", "-e", "WHEREAMI", "front"); envOf(r.Stdout)["WHEREAMI"] != "image" {
		t.Errorf("run -e WHEREAMI, unset: want the image's value, got %s", r)
	}
	if r := e.MustBerth(t, "--env-file", "alt.env", "run", "--rm", "-e", "WHEREAMI", "front"); envOf(r.Stdout)["WHEREAMI"] != "EnvFileDefaultValue" {
		t.Errorf("--env-file alt.env run -e WHEREAMI: %s", r)
	}
	e.ExtraEnv = append(e.ExtraEnv, "COMPOSE_ENV_FILES="+e.Dir+"/alt.env")
	if r := e.MustBerth(t, "run", "--rm", "-e", "WHEREAMI", "front"); envOf(r.Stdout)["WHEREAMI"] != "EnvFileDefaultValue" {
		t.Errorf("COMPOSE_ENV_FILES=alt.env run -e WHEREAMI: %s", r)
	}
	e.ExtraEnv = append(e.ExtraEnv, "WHEREAMI=shell")
	if r := e.MustBerth(t, "run", "--rm", "-e", "WHEREAMI", "front"); envOf(r.Stdout)["WHEREAMI"] != "shell" {
		t.Errorf("run -e WHEREAMI with WHEREAMI=shell: %s", r)
	}
}

// TestParityCLIOrphansEnv restates Compose's TestRemoveOrphans
// (pkg/e2e/orphans_test.go: COMPOSE_REMOVE_ORPHANS from the project's
// .env) with a service removed from the file as the orphan, and the
// COMPOSE_IGNORE_ORPHANS step of TestComposeRun.
func TestParityCLIOrphansEnv(t *testing.T) {
	e := NewEnv(t)
	two := `services:
  test:
    image: busybox
    network_mode: none
    command: ` + longRunning("up") + `
  gone:
    image: busybox
    network_mode: none
    command: ` + longRunning("up") + `
`
	one := strings.SplitN(two, "  gone:", 2)[0]
	e.Compose(t, two)
	e.MustBerth(t, "up", "-d")
	e.Compose(t, one)
	const warning = "found orphan container"
	if r := e.MustBerth(t, "up", "-d"); !strings.Contains(r.Stderr, warning) {
		t.Errorf("up with an orphan: want a warning, got %s", r)
	}
	if r := e.MustBerth(t, "ps", "--services"); !strings.Contains(r.Stdout, "gone") {
		t.Errorf("ps: want the orphan listed (Compose's --orphans defaults to true), got %s", r)
	}
	if r := e.MustBerth(t, "ps", "--orphans=false", "--services"); strings.Contains(r.Stdout, "gone") {
		t.Errorf("ps --orphans=false: want the orphan left out, got %s", r)
	}
	if r := e.MustBerth(t, "ps", "--no-trunc"); !strings.Contains(r.Stdout, "sleep 1000 & wait") {
		t.Errorf("ps --no-trunc: want the whole command, got %s", r)
	}
	// kill leaves orphans alone unless --remove-orphans (Compose's kill.go)
	e.MustBerth(t, "kill", "-s", "TERM")
	waitState(t, e, "test", "exited", 30*time.Second)
	if st := states(mustPs(t, e, "-a")); st["gone"] != "running" {
		t.Errorf("kill: the orphan is %q, want running", st["gone"])
	}
	e.MustBerth(t, "kill", "-s", "TERM", "--remove-orphans")
	waitState(t, e, "gone", "exited", 30*time.Second)
	e.WriteFile(t, ".env", "COMPOSE_IGNORE_ORPHANS=true\n")
	if r := e.MustBerth(t, "up", "-d"); strings.Contains(r.Stderr, warning) {
		t.Errorf("COMPOSE_IGNORE_ORPHANS=true: want no warning, got %s", r)
	}
	if r := e.Berth(t, "up", "-d", "--remove-orphans"); r.Code == 0 || !strings.Contains(r.Stderr, "COMPOSE_IGNORE_ORPHANS") {
		t.Errorf("COMPOSE_IGNORE_ORPHANS with --remove-orphans: want an error, got %s", r)
	}
	e.WriteFile(t, ".env", "COMPOSE_REMOVE_ORPHANS=true\n")
	e.MustBerth(t, "up", "-d")
	for _, p := range mustPs(t, e, "-a") {
		if p.Service == "gone" {
			t.Errorf("COMPOSE_REMOVE_ORPHANS=true in .env: the orphan %s is still there", p.Name)
		}
	}
}

// TestParityCLIDownServices restates Compose's TestRemoveOrphaned
// (pkg/e2e/compose_test.go): down --remove-orphans SERVICE removes that
// service's containers and leaves the others running.
func TestParityCLIDownServices(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: busybox
    network_mode: none
    command: `+longRunning("up")+`
  words:
    image: busybox
    network_mode: none
    command: `+longRunning("up")+`
  db:
    image: busybox
    network_mode: none
    command: `+longRunning("up")+`
`)
	e.MustBerth(t, "up", "-d")
	e.MustBerth(t, "down", "--remove-orphans", "-t", "0", "web")
	st := states(mustPs(t, e, "-a"))
	if _, ok := st["web"]; ok {
		t.Errorf("down web: web is still there (%v)", st)
	}
	if st["words"] != "running" || st["db"] != "running" {
		t.Errorf("down web: want words and db running, got %v", st)
	}
	if r := e.Berth(t, "down", "nope"); r.Code == 0 || !strings.Contains(r.Stderr, "no such service: nope") {
		t.Errorf("down nope: want 'no such service', got %s", r)
	}
}

// TestParityCLIUnknownCommand: unknown commands, subcommands and flags
// fail with a non-zero exit and, where one is close, a suggestion
// (docker compose: `unknown command`, exit 1).
func TestParityCLIUnknownCommand(t *testing.T) {
	e := NewEnv(t)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"foo"}, []string{`unknown command "foo"`}},
		{[]string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{[]string{"lgos"}, []string{`unknown command "lgos"`, "Did you mean this?", "logs"}},
		{[]string{"volume", "lss"}, []string{`unknown command "lss"`, "ls"}},
		{[]string{"network", "frob"}, []string{`unknown command "frob"`}},
		{[]string{"ps", "--bogus"}, []string{"unknown flag: --bogus"}},
	} {
		r := e.Berth(t, c.args...)
		if r.Code != 1 {
			t.Errorf("berth %s: want exit 1, got %s", strings.Join(c.args, " "), r)
		}
		for _, w := range c.want {
			if !strings.Contains(r.Stderr, w) {
				t.Errorf("berth %s: stderr lacks %q:\n%s", strings.Join(c.args, " "), w, r)
			}
		}
		if strings.Contains(r.Stdout, "Available Commands") {
			t.Errorf("berth %s printed the help on stdout:\n%s", strings.Join(c.args, " "), r)
		}
	}
	if r := e.Berth(t); r.Code != 0 || !strings.Contains(r.Stdout, "Available Commands") {
		t.Errorf("berth with no command: want the help and exit 0, got %s", r)
	}
}

// TestParityCLIStatusStdout: COMPOSE_STATUS_STDOUT=1 moves berth's
// progress lines from stderr to stdout (Compose's cmd/compose/compose.go).
func TestParityCLIStatusStdout(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    command: `+longRunning("up")+`
`)
	e.ExtraEnv = append(e.ExtraEnv, "COMPOSE_STATUS_STDOUT=1")
	r := e.MustBerth(t, "up", "-d")
	if !strings.Contains(r.Stdout, "Started") || strings.Contains(r.Stderr, "Started") {
		t.Errorf("COMPOSE_STATUS_STDOUT=1: want progress on stdout:\n%s", r)
	}
}

// TestParityCLIComposeFlags: flags docker compose has that change nothing
// a test can see here are accepted, not refused as unknown: the global
// --ansi, --parallel and --progress, up's --no-color, --quiet-build, --yes, create's
// --quiet-pull, logs' --no-color (Compose's cmd/compose/*.go).
func TestParityCLIComposeFlags(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    command: `+longRunning("app-up")+`
`)
	e.MustBerth(t, "create", "--quiet-pull", "-y")
	e.MustBerth(t, "--ansi", "never", "--parallel", "1", "up", "-d", "--no-color", "--quiet-build", "--yes")
	waitState(t, e, "app", "running", 30*time.Second)
	Eventually(t, 30*time.Second, func() error {
		if r := e.MustBerth(t, "logs", "--no-color"); !strings.Contains(r.Stdout, "app-up") {
			return fmt.Errorf("logs: %s", r)
		}
		return nil
	})
	if r := e.Berth(t, "--parallel", "x", "ps"); r.Code == 0 {
		t.Errorf("--parallel x: want an error, got %s", r)
	}
	// --progress quiet (and COMPOSE_PROGRESS=quiet) silences the progress
	// lines, which up -d otherwise prints for each container.
	if r := e.MustBerth(t, "up", "-d"); !strings.Contains(r.Stderr, "Container") {
		t.Errorf("up -d: want progress lines:\n%s", r)
	}
	if r := e.MustBerth(t, "--progress", "quiet", "up", "-d"); strings.Contains(r.Stderr, "Container") {
		t.Errorf("--progress quiet up -d: want no progress lines:\n%s", r)
	}
	e.ExtraEnv = append(e.ExtraEnv, "COMPOSE_PROGRESS=quiet")
	if r := e.MustBerth(t, "up", "-d"); strings.Contains(r.Stderr, "Container") {
		t.Errorf("COMPOSE_PROGRESS=quiet up -d: want no progress lines:\n%s", r)
	}
	if r := e.Berth(t, "--progress", "fancy", "ps"); r.Code == 0 {
		t.Errorf("--progress fancy: want an error, got %s", r)
	}
}

// TestParityCLIMoreFlags: Compose flags of run, start and pull that berth
// lacked: run --cap-add/--cap-drop, start --wait, pull --include-deps
// (Compose's cmd/compose/run.go, start.go, pull.go).
func TestParityCLIMoreFlags(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: busybox
    network_mode: none
    command: `+longRunning("web-up")+`
    depends_on: [db]
  db:
    image: `+e.Image("logger")+`
    network_mode: none
    entrypoint: ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
`)
	r := e.MustBerth(t, "pull", "--include-deps", "web")
	if !strings.Contains(r.Stderr, " Image "+e.Image("logger")+" Pulling") {
		t.Errorf("pull --include-deps web: want db's image pulled too:\n%s", r)
	}
	r = e.MustBerth(t, "run", "--rm", "--no-deps", "--cap-drop", "ALL", "web", "grep", "CapEff", "/proc/self/status")
	if !strings.Contains(r.Stdout, "0000000000000000") {
		t.Errorf("run --cap-drop ALL: want no effective capabilities:\n%s", r)
	}
	r = e.MustBerth(t, "run", "--rm", "--no-deps", "--cap-drop", "ALL", "--cap-add", "NET_ADMIN", "web", "grep", "CapEff", "/proc/self/status")
	if !strings.Contains(r.Stdout, "0000000000001000") {
		t.Errorf("run --cap-drop ALL --cap-add NET_ADMIN: want only NET_ADMIN (bit 12):\n%s", r)
	}
	e.MustBerth(t, "up", "-d")
	e.MustBerth(t, "stop", "-t", "1")
	e.MustBerth(t, "start", "--wait", "--wait-timeout", "60")
	if st := states(mustPs(t, e)); st["web"] != "running" || st["db"] != "running" {
		t.Errorf("after start --wait: %v", st)
	}
}

// TestParityCLIDownRmi restates the down --rmi steps of Compose's
// TestBuildImageDependencies (pkg/e2e/build_test.go): down --rmi local
// removes the images berth built under the project's name and keeps
// pulled ones; down --rmi=all removes those too.
func TestParityCLIDownRmi(t *testing.T) {
	e := NewEnv(t)
	e.WriteFile(t, "app/Dockerfile", "FROM busybox\nCMD [\"sh\", \"-c\", \"trap 'exit 0' TERM; sleep 1000 & wait\"]\n")
	e.Compose(t, `services:
  app:
    build: ./app
    network_mode: none
  pulled:
    image: busybox
    network_mode: none
    command: `+longRunning("up")+`
`)
	built := e.Project + "-app"
	has := func(ref string) bool { return e.Berth(t, "image", "inspect", ref).Code == 0 }
	e.MustBerth(t, "up", "-d")
	if !has(built) || !has("busybox") {
		t.Fatalf("after up: want %s built and busybox pulled", built)
	}
	e.MustBerth(t, "down", "-t0", "--rmi", "local")
	if has(built) || !has("busybox") {
		t.Errorf("down --rmi local: want %s gone and busybox kept (%v, %v)", built, has(built), has("busybox"))
	}
	e.MustBerth(t, "up", "-d")
	e.MustBerth(t, "down", "-t0", "--rmi=all", "--remove-orphans")
	if has(built) || has("busybox") {
		t.Errorf("down --rmi=all: want both images gone (%v, %v)", has(built), has("busybox"))
	}
	if r := e.Berth(t, "down", "--rmi", "some"); r.Code == 0 || !strings.Contains(r.Stderr, "--rmi") {
		t.Errorf("down --rmi some: want an error, got %s", r)
	}
}
