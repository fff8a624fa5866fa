package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Docker Compose's pkg/e2e scenarios about the life of a project (start,
// stop, pause, restart, rm, scale, wait, profiles), ported with their
// compose files as Compose states them (alpine and nginx are stand-ins,
// see parityImages). Each test names the Compose test it ports; the table
// is e2e/COMPOSE-PARITY.md.

const parityStartStop = `services:
  simple:
    image: alpine
    init: true
    command: sleep infinity
  another:
    image: alpine
    init: true
    command: sleep infinity
`

// Compose: start_stop_test.go TestStartStop.
func TestParityComposeStartStop(t *testing.T) {
	e := parityEnv(t, parityStartStop)
	e.MustBerth(t, "up", "-d")
	before := expect(t, e, ServiceState("simple", "running"), ServiceState("another", "running"))

	r := e.MustBerth(t, "ls", "--format", "json")
	wantOut(t, r, `"Name":"`+e.Project+`"`)

	e.MustBerth(t, "stop")
	expect(t, e, ServiceState("simple", "exited"), ServiceState("another", "exited"))

	r = e.MustBerth(t, "ls", "--format", "json")
	wantNotOut(t, r, `"Name":"`+e.Project+`"`)
	r = e.MustBerth(t, "ls", "--all", "--format", "json")
	wantOut(t, r, `"Name":"`+e.Project+`"`)

	e.MustBerth(t, "start")
	expect(t, e, ServiceState("simple", "running"), ServiceState("another", "running"),
		NotRecreated(before, "simple", "another"))
}

// Compose: start_stop_test.go TestStartStopWithDependencies.
func TestParityComposeStartStopWithDependencies(t *testing.T) {
	e := parityEnv(t, `services:
  foo:
    image: alpine
    init: true
    command: sleep infinity
    depends_on:
      - bar
  bar:
    image: alpine
    init: true
    command: sleep infinity
`)
	e.MustBerth(t, "up", "-d")
	before := expect(t, e, ServiceState("foo", "running"), ServiceState("bar", "running"))
	e.MustBerth(t, "stop", "foo")
	expect(t, e, ServiceState("foo", "exited"), ServiceState("bar", "running"))
	e.MustBerth(t, "stop")
	expect(t, e, ServiceState("foo", "exited"), ServiceState("bar", "exited"))
	e.MustBerth(t, "start", "foo")
	expect(t, e, ServiceState("foo", "running"), ServiceState("bar", "running"), NotRecreated(before, "foo", "bar"))
}

// Compose: start_stop_test.go TestUpNoDeps.
func TestParityComposeUpNoDeps(t *testing.T) {
	e := parityEnv(t, `services:
  foo:
    image: alpine
    init: true
    command: sleep infinity
    links:
      - bar
  bar:
    image: alpine
    init: true
    command: sleep infinity
`)
	e.MustBerth(t, "up", "--no-deps", "-d", "foo")
	expect(t, e, ServiceState("foo", "running"), ServiceNotCreated("bar"))
}

// Compose: start_stop_test.go TestStartStopWithOneOffs.
func TestParityComposeStartStopWithOneOffs(t *testing.T) {
	e := parityEnv(t, `services:
  foo:
    image: alpine
    init: true
    command: sleep infinity
  bar:
    image: alpine
    init: true
    command: sleep infinity
`)
	e.MustBerth(t, "up", "-d")
	before := expect(t, e, ServiceState("foo", "running"), ServiceState("bar", "running"))
	e.MustBerth(t, "run", "-d", "bar", "sleep", "infinity")
	withOneOff := expect(t, e, OneOffState("bar", "running"), NotRecreated(before, "foo", "bar"))

	e.MustBerth(t, "stop")
	expect(t, e, ServiceState("foo", "exited"), ServiceState("bar", "exited"),
		OneOffState("bar", "running"), OneOffsUntouched(withOneOff, "bar"))
	e.MustBerth(t, "start")
	expect(t, e, ServiceState("foo", "running"), ServiceState("bar", "running"), OneOffsUntouched(withOneOff, "bar"))
	e.MustBerth(t, "restart")
	expect(t, e, ServiceState("foo", "running"), ServiceState("bar", "running"),
		NotRecreated(before, "foo", "bar"), OneOffsUntouched(withOneOff, "bar"))
	e.MustBerth(t, "down", "--remove-orphans")
	expect(t, e, ServiceNotCreated("foo"), ServiceNotCreated("bar"), OneOffsRemoved("bar"))
}

// Compose: start_stop_test.go TestStartAlreadyRunning.
func TestParityComposeStartAlreadyRunning(t *testing.T) {
	e := parityEnv(t, parityStartStopNginx)
	e.MustBerth(t, "up", "-d", "--wait")
	r := e.MustBerth(t, "start", "simple")
	if r.Stdout != "" {
		t.Errorf("start of a running service wrote to stdout, want nothing:\n%s", r)
	}
}

const parityStartStopNginx = `services:
  simple:
    image:  nginx:alpine
  another:
    image:  nginx:alpine
`

// Compose: start_stop_test.go TestStopAlreadyStopped.
func TestParityComposeStopAlreadyStopped(t *testing.T) {
	e := parityEnv(t, parityStartStopNginx)
	e.MustBerth(t, "up", "-d", "--wait")
	e.MustBerth(t, "stop", "simple")
	r := e.Berth(t, "stop", "simple")
	wantCode(t, r, 0, "stop of a stopped service")
	// Compose prints "Container <name> Stopped" on stderr here, and has a
	// TODO saying it should print nothing; berth reports each container it
	// stops on stderr too.
	wantOut(t, r, e.Project+"-simple-1")
}

// Compose: start_stop_test.go TestStartStopMultipleServices.
func TestParityComposeStartStopMultipleServices(t *testing.T) {
	e := parityEnv(t, parityStartStopNginx)
	e.MustBerth(t, "up", "-d", "--wait")
	r := e.MustBerth(t, "stop", "simple", "another")
	for _, svc := range []string{"simple", "another"} {
		if !strings.Contains(r.Stderr, e.Project+"-"+svc+"-1") || !strings.Contains(r.Stderr, "Stopped") {
			t.Errorf("stop: stderr lacks the stop of %s:\n%s", svc, r)
		}
	}
	r = e.MustBerth(t, "start", "simple", "another")
	for _, svc := range []string{"simple", "another"} {
		if !strings.Contains(r.Stderr, e.Project+"-"+svc+"-1") || !strings.Contains(r.Stderr, "Started") {
			t.Errorf("start: stderr lacks the start of %s:\n%s", svc, r)
		}
	}
}

// Compose: start_stop_test.go TestStartSingleServiceAndDependency.
func TestParityComposeStartSingleServiceAndDependency(t *testing.T) {
	e := parityEnv(t, `services:
  desired:
    image: alpine
    init: true
    command: sleep infinity
    depends_on:
      - dep_1
  dep_1:
    image: alpine
    init: true
    command: sleep infinity
    depends_on:
      - dep_2
  dep_2:
    image: alpine
    init: true
    command: sleep infinity
  another:
    image: alpine
    init: true
    command: sleep infinity
    depends_on:
      - another_2
  another_2:
    image: alpine
    init: true
    command: sleep infinity
`)
	e.MustBerth(t, "create", "desired")
	expect(t, e, ServiceState("desired", "created"), ServiceState("dep_1", "created"), ServiceState("dep_2", "created"),
		ServiceNotCreated("another"), ServiceNotCreated("another_2"))
	e.MustBerth(t, "start", "desired")
	expect(t, e, ServiceState("desired", "running"), ServiceState("dep_1", "running"), ServiceState("dep_2", "running"),
		ServiceNotCreated("another"), ServiceNotCreated("another_2"))
}

// Compose: start_stop_test.go TestStartStopMultipleFiles.
func TestParityComposeStartStopMultipleFiles(t *testing.T) {
	e := parityEnv(t, parityStartStopNginx)
	e.WriteFile(t, "other.yaml", `services:
  a-different-one:
    image:  nginx:alpine
  and-another-one:
    image:  nginx:alpine
`)
	e.MustBerth(t, "-f", "compose.yaml", "up", "-d")
	e.MustBerth(t, "-f", "other.yaml", "-p", e.Project, "up", "-d")
	r := e.MustBerth(t, "-f", "compose.yaml", "stop")
	for _, svc := range []string{"simple", "another"} {
		wantOut(t, r, e.Project+"-"+svc+"-1")
	}
	wantNotOut(t, r, e.Project+"-a-different-one-1", e.Project+"-and-another-one-1")
	expect(t, e, ServiceState("a-different-one", "running"), ServiceState("and-another-one", "running"))
}

const parityPause = `services:
  a:
    image: alpine
    init: true
    command: sleep infinity
  b:
    image: alpine
    init: true
    command: sleep infinity
`

// Compose: pause_test.go TestPause.
func TestParityComposePause(t *testing.T) {
	e := parityEnv(t, parityPause)
	e.MustBerth(t, "up", "-d")
	before := expect(t, e, ServiceState("a", "running"), ServiceState("b", "running"))
	e.MustBerth(t, "pause", "a")
	expect(t, e, ServiceState("a", "paused"), ServiceState("b", "running"))
	e.MustBerth(t, "unpause", "a")
	expect(t, e, ServiceState("a", "running"), ServiceState("b", "running"), NotRecreated(before, "a", "b"))
}

// Compose: pause_test.go TestPauseServiceNotRunning.
func TestParityComposePauseServiceNotRunning(t *testing.T) {
	e := parityEnv(t, parityPause)
	e.MustBerth(t, "pause", "a")
}

// Compose: pause_test.go TestPauseServiceAlreadyPaused.
func TestParityComposePauseServiceAlreadyPaused(t *testing.T) {
	e := parityEnv(t, parityPause)
	e.MustBerth(t, "up", "-d", "a")
	expect(t, e, ServiceState("a", "running"))
	e.MustBerth(t, "pause", "a")
	expect(t, e, ServiceState("a", "paused"))
	r := e.Berth(t, "pause", "a")
	wantCode(t, r, 1, "second pause")
	wantOut(t, r, "already paused")
}

// Compose: pause_test.go TestPauseServiceDoesNotExist.
func TestParityComposePauseServiceDoesNotExist(t *testing.T) {
	e := parityEnv(t, parityPause)
	r := e.Berth(t, "pause", "does_not_exist")
	wantCode(t, r, 1, "pause of an unknown service")
	wantOut(t, r, "no such service: does_not_exist")
}

const parityScale = `services:
  back:
    image: alpine
    init: true
    command: sleep infinity
    depends_on:
      - db
  db:
    image: alpine
    init: true
    command: sleep infinity
    environment:
      - MAYBE
  front:
    image: alpine
    init: true
    command: sleep infinity
    deploy:
      replicas: 2
  dbadmin:
    image: alpine
    init: true
    command: sleep infinity
    deploy:
      replicas: 0
`

// Compose: scale_test.go TestScaleBasicCases.
func TestParityComposeScaleBasicCases(t *testing.T) {
	e := parityEnv(t, parityScale)
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceScale("back", 1), ServiceScale("db", 1), ServiceScale("front", 2), ServiceNotCreated("dbadmin"))
	e.MustBerth(t, "scale", "dbadmin=2")
	expect(t, e, ServiceScale("dbadmin", 2))
	e.MustBerth(t, "scale", "front=3", "back=2")
	expect(t, e, ServiceScale("front", 3), ServiceScale("back", 2))
	e.MustBerth(t, "scale", "dbadmin=1")
	expect(t, e, ServiceScale("dbadmin", 1))
	e.MustBerth(t, "scale", "dbadmin=0")
	expect(t, e, ServiceNotCreated("dbadmin"))
	e.MustBerth(t, "scale", "front=2", "back=1")
	expect(t, e, ReplicaNumbers("front", 1, 2), ServiceScale("back", 1))
}

// Compose: scale_test.go TestScaleWithDepsCases.
func TestParityComposeScaleWithDepsCases(t *testing.T) {
	e := parityEnv(t, parityScale)
	e.MustBerth(t, "up", "-d", "--scale", "db=2")
	expect(t, e, ServiceScale("db", 2))
	e.MustBerth(t, "scale", "--no-deps", "back=2")
	expect(t, e, ServiceScale("back", 2), ServiceScale("db", 2))
	e.MustBerth(t, "scale", "back=2")
	expect(t, e, ServiceScale("back", 2), ServiceScale("db", 1))
}

// Compose: scale_test.go TestScaleUpAndDownPreserveContainerNumber.
func TestParityComposeScaleUpAndDownPreserveContainerNumber(t *testing.T) {
	e := parityEnv(t, parityScale)
	e.MustBerth(t, "up", "-d", "--scale", "db=2", "db")
	expect(t, e, ReplicaNumbers("db", 1, 2))
	e.MustBerth(t, "up", "-d", "--scale", "db=1", "db")
	expect(t, e, ReplicaNumbers("db", 1))
	e.MustBerth(t, "up", "-d", "--scale", "db=2", "db")
	expect(t, e, ReplicaNumbers("db", 1, 2))
}

// Compose: scale_test.go TestScaleDownRemovesObsolete.
func TestParityComposeScaleDownRemovesObsolete(t *testing.T) {
	e := parityEnv(t, parityScale)
	e.MustBerth(t, "up", "-d", "db")
	expect(t, e, ReplicaNumbers("db", 1))
	e.ExtraEnv = []string{"MAYBE=value"}
	e.MustBerth(t, "up", "-d", "--scale", "db=2", "db")
	expect(t, e, ReplicaNumbers("db", 1, 2))
	e.MustBerth(t, "up", "-d", "--scale", "db=1", "db")
	expect(t, e, ReplicaNumbers("db", 1))
}

// Compose: scale_test.go TestScaleDownNoRecreate.
func TestParityComposeScaleDownNoRecreate(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    build: .
`)
	e.WriteFile(t, "Dockerfile", `FROM alpine
ARG FOO
LABEL FOO=$FOO
CMD ["sleep", "infinity"]
`)
	e.MustBerth(t, "build", "--build-arg", "FOO=test")
	e.MustBerth(t, "up", "-d", "--scale", "test=2")
	expect(t, e, ReplicaNumbers("test", 1, 2))
	e.MustBerth(t, "build", "--build-arg", "FOO=updated")
	e.MustBerth(t, "up", "-d", "--scale", "test=4", "--no-recreate")
	expect(t, e, ReplicaNumbers("test", 1, 2, 3, 4))
	e.MustBerth(t, "up", "-d", "--scale", "test=2")
	expect(t, e, ReplicaNumbers("test", 3, 4))
}

// Compose: up_test.go TestScaleDoesntRecreate.
func TestParityComposeScaleDoesntRecreate(t *testing.T) {
	e := parityEnv(t, `services:
  simple:
    image: alpine
    init: true
    command: sleep infinity
`)
	e.MustBerth(t, "up", "-d")
	before := expect(t, e, ReplicaNumbers("simple", 1))
	r := e.MustBerth(t, "up", "--scale", "simple=2", "-d")
	expect(t, e, ReplicaNumbers("simple", 1, 2), NotRecreatedNumber(before, "simple", 1))
	wantNotOut(t, r, "Recreated")
}

// NotRecreatedNumber: replica n of svc kept its container.
func NotRecreatedNumber(before []pc, svc string, n int) Check {
	return func(s []pc) error {
		var b, a string
		for _, c := range svcContainers(before, svc, false) {
			if c.Number == n {
				b = c.ID
			}
		}
		for _, c := range svcContainers(s, svc, false) {
			if c.Number == n {
				a = c.ID
			}
		}
		if b == "" || a != b {
			return fmt.Errorf("replica %d of %s was %q, now %q: want the same container", n, svc, b, a)
		}
		return nil
	}
}

const parityWait = `services:
  faster:
    image: alpine
    command: sleep 2
  slower:
    image: alpine
    command: sleep 5
  infinity:
    image: alpine
    command: sleep infinity
`

// Compose: wait_test.go TestWaitOnFaster.
func TestParityComposeWaitOnFaster(t *testing.T) {
	e := parityEnv(t, parityWait)
	e.MustBerth(t, "up", "-d")
	e.MustBerth(t, "wait", "faster")
	expectWithin(t, e, 3*time.Second, ServiceState("faster", "exited"), ServiceState("infinity", "running"))
}

// Compose: wait_test.go TestWaitOnSlower.
func TestParityComposeWaitOnSlower(t *testing.T) {
	e := parityEnv(t, parityWait)
	e.MustBerth(t, "up", "-d")
	e.MustBerth(t, "wait", "slower")
	expectWithin(t, e, 3*time.Second, ServiceState("faster", "exited"), ServiceState("slower", "exited"),
		ServiceState("infinity", "running"))
}

// Compose: wait_test.go TestWaitOnInfinity.
func TestParityComposeWaitOnInfinity(t *testing.T) {
	e := parityEnv(t, parityWait)
	e.MustBerth(t, "up", "-d")
	ctx, cancel := context.WithTimeout(t.Context(), 7*time.Second)
	defer cancel()
	cmd := e.Cmd(ctx, "wait", "infinity")
	start := time.Now()
	out, _ := cmd.CombinedOutput()
	if time.Since(start) < 6*time.Second {
		t.Fatalf("wait infinity returned after %s, want it to block:\n%s", time.Since(start), out)
	}
}

// Compose: wait_test.go TestWaitAndDrop.
func TestParityComposeWaitAndDrop(t *testing.T) {
	e := parityEnv(t, parityWait)
	e.MustBerth(t, "up", "-d")
	e.MustBerth(t, "wait", "--down-project", "faster")
	expectWithin(t, e, 3*time.Second, ServiceNotCreated("faster"), ServiceNotCreated("slower"), ServiceNotCreated("infinity"))
}

// Compose: restart_test.go TestRestart.
func TestParityComposeRestart(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    image: alpine
    init: true
    command: ash -c "if [[ -f /tmp/restart.lock ]] ; then sleep infinity; else touch /tmp/restart.lock; fi"
`)
	e.MustBerth(t, "up", "-d")
	before := expectWithin(t, e, 10*time.Second, ServiceState("app", "exited"))
	e.MustBerth(t, "restart")
	expectWithin(t, e, 10*time.Second, ServiceState("app", "running"), NotRecreated(before, "app"))
}

// progressLine: out has Compose's progress line "Container NAME Status"
// (berth aligns the status with more spaces).
func progressLine(out, want string) bool {
	f := strings.Fields(want)
	for i := range f {
		f[i] = regexp.QuoteMeta(f[i])
	}
	return regexp.MustCompile(strings.Join(f, `\s+`) + `\b`).MatchString(out)
}

// Compose: restart_test.go TestRestartWithDependencies.
func TestParityComposeRestartWithDependencies(t *testing.T) {
	e := parityEnv(t, `services:
  with-restart:
    image: nginx:alpine
    init: true
    command: tail -f /dev/null
    stop_signal: SIGTERM
    depends_on:
      nginx: {condition: service_healthy, restart: true}

  no-restart:
    image: nginx:alpine
    init: true
    command: tail -f /dev/null
    stop_signal: SIGTERM
    depends_on:
      nginx: { condition: service_healthy }

  nginx:
    image: nginx:alpine
    labels:
      TEST: ${LABEL:-test}
    stop_signal: SIGTERM
    healthcheck:
      test:     "echo | nc -w 5 localhost:80"
      interval: 2s
      timeout:  1s
      retries:  10
`)
	e.MustBerth(t, "up", "-d")
	before := expect(t, e, ServiceState("no-restart", "running"), ServiceState("with-restart", "running"))
	r := e.MustBerth(t, "restart", "nginx")
	out := r.Stdout + r.Stderr
	for _, want := range []string{
		"Container " + e.Project + "-nginx-1 Restarting",
		"Container " + e.Project + "-nginx-1 Healthy",
		"Container " + e.Project + "-with-restart-1 Started",
	} {
		if !progressLine(out, want) {
			t.Errorf("restart nginx: output lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(out, "no-restart") {
		t.Errorf("restart nginx touched no-restart:\n%s", r)
	}
	expect(t, e, NotRecreated(before, "no-restart", "with-restart", "nginx"))

	e.ExtraEnv = []string{"LABEL=recreate"}
	r = e.MustBerth(t, "up", "-d")
	out = r.Stdout + r.Stderr
	for _, want := range []string{
		"Container " + e.Project + "-with-restart-1 Stopped",
		"Container " + e.Project + "-nginx-1 Recreated",
		"Container " + e.Project + "-nginx-1 Healthy",
		"Container " + e.Project + "-with-restart-1 Started",
		"Container " + e.Project + "-no-restart-1 Running",
	} {
		if !progressLine(out, want) {
			t.Errorf("up with a changed nginx: output lacks %q:\n%s", want, r)
		}
	}
}

const parityComposeProfiles = `services:
  regular-service:
    image: alpine
    init: true
    command: sleep infinity

  profiled-service:
    image: alpine
    init: true
    command: sleep infinity
    profiles:
      - test-profile
`

// Compose: profiles_test.go TestExplicitProfileUsage.
func TestParityComposeExplicitProfileUsage(t *testing.T) {
	e := parityEnv(t, parityComposeProfiles)
	p := []string{"--profile", "test-profile"}
	e.MustBerth(t, append(p, "up", "-d")...)
	before := expect(t, e, ServiceState("regular-service", "running"), ServiceState("profiled-service", "running"))
	e.MustBerth(t, append(p, "stop")...)
	expect(t, e, ServiceState("regular-service", "exited"), ServiceState("profiled-service", "exited"))
	e.MustBerth(t, append(p, "start")...)
	expect(t, e, ServiceState("regular-service", "running"), ServiceState("profiled-service", "running"),
		NotRecreated(before, "regular-service", "profiled-service"))
	e.MustBerth(t, append(p, "restart")...)
	expect(t, e, ServiceState("regular-service", "running"), ServiceState("profiled-service", "running"),
		NotRecreated(before, "regular-service", "profiled-service"))
	e.MustBerth(t, append(p, "down")...)
	expect(t, e, ServiceNotCreated("regular-service"), ServiceNotCreated("profiled-service"))
}

// Compose: profiles_test.go TestNoProfileUsage.
func TestParityComposeNoProfileUsage(t *testing.T) {
	e := parityEnv(t, parityComposeProfiles)
	e.MustBerth(t, "up", "-d")
	before := expect(t, e, ServiceState("regular-service", "running"), ServiceNotCreated("profiled-service"))
	e.MustBerth(t, "stop")
	expect(t, e, ServiceState("regular-service", "exited"), ServiceNotCreated("profiled-service"))
	e.MustBerth(t, "start")
	expect(t, e, ServiceState("regular-service", "running"), ServiceNotCreated("profiled-service"),
		NotRecreated(before, "regular-service"))
	e.MustBerth(t, "restart")
	expect(t, e, ServiceState("regular-service", "running"), ServiceNotCreated("profiled-service"),
		NotRecreated(before, "regular-service"))
	e.MustBerth(t, "down")
	expect(t, e, ServiceNotCreated("regular-service"))
}

// Compose: profiles_test.go TestDotEnvProfileUsage.
func TestParityComposeDotEnvProfileUsage(t *testing.T) {
	e := parityEnv(t, parityComposeProfiles)
	e.WriteFile(t, ".env", "COMPOSE_PROFILES=test-profile\n")
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("regular-service", "running"), ServiceState("profiled-service", "running"))
}

// Compose: compose_test.go TestRm.
func TestParityComposeRm(t *testing.T) {
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
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("simple", "running"), ServiceState("another", "running"))
	e.MustBerth(t, "rm", "--stop", "--force", "simple")
	expect(t, e, ServiceNotCreated("simple"), ServiceState("another", "running"))
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("simple", "running"))
	e.MustBerth(t, "rm", "--stop", "--force")
	expect(t, e, ServiceNotCreated("simple"), ServiceNotCreated("another"))
}

// Compose: compose_test.go TestCompatibility (testdata/TestCompatibility):
// --compatibility names the containers with underscores, as Compose v1
// did. Compose's `docker ps --filter label=…project --format {{.Names}}`
// is berth's ps of the project.
func TestParityComposeCompatibility(t *testing.T) {
	e := parityEnv(t, `services:
  simple:
    image: alpine
    init: true
    command: top
`)
	e.MustBerth(t, "--compatibility", "up", "-d")
	cs := expect(t, e, ServiceState("simple", "running"))
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	if want := e.Project + "_simple_1"; !slices.Contains(names, want) {
		t.Errorf("containers %v, want %s", names, want)
	}
}

// Compose: compose_test.go TestDownComposefileInParentFolder: up with
// --project-directory naming a folder below the compose file's, then down
// by project name alone.
func TestParityComposeDownComposefileInParentFolder(t *testing.T) {
	e := parityEnv(t, `services:
  simple:
    image: alpine
    command: top
  another:
    image: alpine
    command: top
`)
	sub, err := os.MkdirTemp(e.Dir, "test-tmp")
	if err != nil {
		t.Fatal(err)
	}
	project := filepath.Base(sub)
	e.noteProject([]string{"-p", project})
	r := e.MustBerth(t, "--project-directory", sub, "up", "-d")
	wantOut(t, r, "Started")
	r = e.MustBerth(t, "-p", project, "down")
	wantOut(t, r, "Removed")
}
