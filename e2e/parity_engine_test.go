package e2e

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Scenarios of Docker Compose's own e2e suite (docker/compose pkg/e2e)
// for the engine's departures from Compose listed in issue 12, ported to
// berth: each test names the Compose test it comes from. The checks are
// what a user sees (`ps --format json`, `inspect`, outputs, exit codes).

// psLabeled is one object of `ps --format json` with its labels.
type psLabeled struct {
	ID, Name, Service, State string
	ExitCode                 int
	Labels                   map[string]string
}

func psWithLabels(t *testing.T, e *Env, args ...string) []psLabeled {
	t.Helper()
	r := e.MustBerth(t, append([]string{"ps", "--format", "json"}, args...)...)
	var out []psLabeled
	for _, l := range nonEmptyLines(r.Stdout) {
		var p psLabeled
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatalf("ps --format json line %q: %v", l, err)
		}
		out = append(out, p)
	}
	return out
}

func lastLine(s string) string {
	lines := nonEmptyLines(s)
	if len(lines) == 0 {
		return ""
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// TestParityEngineRunExited ports TestLocalComposeRun (compose_run_test.go:
// "compose run", "check run container exited", "compose run --rm"): a
// one-off left by `run` without --rm reads exited, with the one-off labels
// and the slug its name is made of.
func TestParityEngineRunExited(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  back:
    image: busybox
    command: ["echo", "Hello there!!"]
    depends_on: [db]
  db:
    image: busybox
    command: `+longRunning()+`
`)
	r := e.MustBerth(t, "run", "-T", "back")
	if got := lastLine(r.Stdout); got != "Hello there!!" {
		t.Errorf("run back: last line %q, want Hello there!!\n%s", got, r)
	}
	r = e.MustBerth(t, "run", "-T", "back", "echo", "Hello one more time")
	if got := lastLine(r.Stdout); got != "Hello one more time" {
		t.Errorf("run back echo: last line %q\n%s", got, r)
	}
	if strings.Contains(r.Stdout+r.Stderr, "orphan") {
		t.Errorf("run speaks of orphans:\n%s", r)
	}

	oneoffs := func() []psLabeled {
		var out []psLabeled
		for _, p := range psWithLabels(t, e, "-a") {
			if p.Service == "back" {
				out = append(out, p)
			}
		}
		return out
	}
	runs := oneoffs()
	if len(runs) != 2 {
		t.Fatalf("ps -a: %d containers of back, want the 2 one-offs: %+v", len(runs), runs)
	}
	for _, p := range runs {
		if p.State != "exited" || p.ExitCode != 0 {
			t.Errorf("one-off %s: state %q exit %d, want exited 0", p.Name, p.State, p.ExitCode)
		}
		prefix := e.Project + "-back-run-"
		if !strings.HasPrefix(p.Name, prefix) {
			t.Errorf("one-off name %q, want %s<slug>", p.Name, prefix)
		}
		slug := p.Labels["com.docker.compose.slug"]
		if len(slug) != 64 || !strings.HasPrefix(slug, strings.TrimPrefix(p.Name, prefix)) {
			t.Errorf("one-off %s: slug label %q, want 64 hex digits starting with the name's", p.Name, slug)
		}
		for k, want := range map[string]string{
			"com.docker.compose.oneoff":           "True",
			"com.docker.compose.container-number": "1",
			"com.docker.compose.project":          e.Project,
			"com.docker.compose.service":          "back",
		} {
			if p.Labels[k] != want {
				t.Errorf("one-off %s: label %s = %q, want %q", p.Name, k, p.Labels[k], want)
			}
		}
	}
	if st := states(mustPs(t, e))["db"]; st != "running" {
		t.Errorf("db is %q, want running", st)
	}

	r = e.MustBerth(t, "run", "-T", "--rm", "back", "echo", "Hello again")
	if got := lastLine(r.Stdout); got != "Hello again" {
		t.Errorf("run --rm: last line %q\n%s", got, r)
	}
	if n := len(oneoffs()); n != 2 {
		t.Errorf("after run --rm: %d one-offs of back, want the 2 kept ones", n)
	}

	e.MustBerth(t, "down")
	if ps := mustPs(t, e, "-a"); len(ps) != 0 {
		t.Errorf("after down: %+v", ps)
	}
}

const parityProfiles = `services:
  regular-service:
    image: busybox
    command: %[1]s
  profiled-service:
    image: busybox
    command: %[1]s
    profiles: [test-profile]
`

// TestParityEngineProfileViaTargetedService ports
// TestActiveProfileViaTargetedService (profiles_test.go): naming a service
// whose profile is not active activates it, for up, stop, start.
func TestParityEngineProfileViaTargetedService(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, fmt.Sprintf(parityProfiles, longRunning()))

	e.MustBerth(t, "up", "-d", "profiled-service")
	for _, args := range [][]string{{"ps"}, {"--profile", "test-profile", "ps"}} {
		got := states(mustPsArgs(t, e, args...))
		if got["profiled-service"] != "running" || got["regular-service"] != "" {
			t.Errorf("berth %s after up profiled-service: %v, want profiled-service running alone", strings.Join(args, " "), got)
		}
	}

	e.MustBerth(t, "stop", "profiled-service")
	if got := states(mustPs(t, e)); len(got) != 0 {
		t.Errorf("running after stop profiled-service: %v", got)
	}
	e.MustBerth(t, "start", "profiled-service")
	if got := states(mustPs(t, e)); got["profiled-service"] != "running" || got["regular-service"] != "" {
		t.Errorf("after start profiled-service: %v", got)
	}
	e.MustBerth(t, "restart")
	if got := states(mustPs(t, e)); got["profiled-service"] != "running" || got["regular-service"] != "" {
		t.Errorf("after restart: %v", got)
	}
	e.MustBerth(t, "down")
	if ps := mustPs(t, e, "-a"); len(ps) != 0 {
		t.Errorf("after down: %+v", ps)
	}
}

// mustPsArgs is mustPs with global flags before `ps`.
func mustPsArgs(t *testing.T, e *Env, args ...string) []psEntry {
	t.Helper()
	if len(args) == 1 && args[0] == "ps" {
		return mustPs(t, e)
	}
	r := e.MustBerth(t, append(args, "--format", "json")...)
	var out []psEntry
	for _, l := range nonEmptyLines(r.Stdout) {
		var p psEntry
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatalf("ps line %q: %v", l, err)
		}
		out = append(out, p)
	}
	return out
}

// TestParityEngineUpProfile ports TestUpProfile (up_test.go): `up` of a
// profiled service starts it and its dependency, not its profile sibling;
// and `run` of a profiled service applies its env_file.
func TestParityEngineUpProfile(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  foo:
    profiles: [test]
    image: busybox
    command: ["true"]
    depends_on: [db]
    env_file: foo.env
  bar:
    profiles: [test]
    image: busybox
    command: ["true"]
  db:
    image: busybox
    command: ["true"]
`)
	e.WriteFile(t, "foo.env", "FROM_ENV_FILE=read\n")
	e.MustBerth(t, "up", "foo")
	got := states(mustPs(t, e, "-a"))
	if got["foo"] != "exited" || got["db"] != "exited" || got["bar"] != "" {
		t.Errorf("after up foo: %v, want foo and db exited, bar not created", got)
	}

	r := e.MustBerth(t, "run", "--rm", "--no-deps", "-T", "foo", "sh", "-c", "echo value=$FROM_ENV_FILE")
	if got := lastLine(r.Stdout); got != "value=read" {
		t.Errorf("run of a profiled service: %q, want its env_file applied (value=read)\n%s", got, r)
	}
}

// TestParityEngineOptionalDependency ports TestUpWithDependencyNotRequired
// (up_test.go): a required: false dependency that cannot meet
// service_healthy (it has no healthcheck) is a warning, and the service
// starts anyway.
func TestParityEngineOptionalDependency(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  foo:
    image: busybox
    command: ["echo", "foo"]
    depends_on:
      bar:
        required: false
        condition: service_healthy
  bar:
    image: busybox
    command: `+longRunning()+`
    profiles: [not-required]
`)
	r := e.Berth(t, "--profile", "not-required", "up", "-d")
	if r.Code != 0 {
		t.Fatalf("up with an optional dependency that has no healthcheck: want success\n%s", r)
	}
	if !strings.Contains(r.Stdout+r.Stderr, `optional dependency "bar" failed to start`) {
		t.Errorf("up does not warn about the optional dependency:\n%s", r)
	}
	p := waitExited(t, e, "foo", 30*time.Second)
	if p.ExitCode != 0 {
		t.Errorf("foo exited %d", p.ExitCode)
	}
	if lines := serviceLines(t, e, "foo"); count(lines, "foo") != 1 {
		t.Errorf("foo's output %q, want foo", lines)
	}

	// a required one still fails
	optional := mustRead(t, filepath.Join(e.Dir, "compose.yaml"))
	e.MustBerth(t, "down", "-t", "0")
	e.Compose(t, strings.Replace(optional, "required: false", "required: true", 1))
	r = e.Berth(t, "--profile", "not-required", "up", "-d")
	if r.Code == 0 || !strings.Contains(r.Stderr, "healthcheck") {
		t.Errorf("a required dependency without healthcheck: want a failure naming the missing healthcheck\n%s", r)
	}
	e.MustBerth(t, "--profile", "not-required", "down", "-t", "0")
	e.Compose(t, optional)
}

// TestParityEngineLabels ports the "check compose labels" and "check user
// labels" steps of TestLocalComposeUp (compose_test.go) and the label
// checks of TestLocalComposeRun: every label Compose writes, with
// Compose's values.
func TestParityEngineLabels(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: busybox
    command: `+longRunning()+`
    labels:
      my-label: test
    depends_on:
      db:
        condition: service_started
        restart: true
  db:
    image: busybox
    command: `+longRunning()+`
    volumes: [data:/data]
volumes:
  data: {}
`)
	envFile := e.WriteFile(t, "alt.env", "UNUSED=1\n")
	e.MustBerth(t, "--env-file", "alt.env", "up", "-d")
	var web psLabeled
	for _, p := range psWithLabels(t, e) {
		if p.Service == "web" {
			web = p
		}
	}
	if web.ID == "" {
		t.Fatal("no web container in ps")
	}
	want := map[string]string{
		"my-label":                                    "test",
		"com.docker.compose.project":                  e.Project,
		"com.docker.compose.service":                  "web",
		"com.docker.compose.oneoff":                   "False",
		"com.docker.compose.container-number":         "1",
		"com.docker.compose.project.working_dir":      e.Dir,
		"com.docker.compose.project.config_files":     filepath.Join(e.Dir, "compose.yaml"),
		"com.docker.compose.project.environment_file": envFile,
		"com.docker.compose.depends_on":               "db:service_started:true",
	}
	for k, v := range want {
		if web.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, web.Labels[k], v)
		}
	}
	patterns := map[string]string{
		"com.docker.compose.version":     `^\d+\.\d+\.\d+$`,
		"com.docker.compose.config-hash": `^[0-9a-f]{64}$`,
		"com.docker.compose.image":       `^sha256:[0-9a-f]{64}$`,
	}
	for k, re := range patterns {
		if !regexp.MustCompile(re).MatchString(web.Labels[k]) {
			t.Errorf("label %s = %q, want %s", k, web.Labels[k], re)
		}
	}

	// the same on `inspect`, the way tools read them
	r := e.MustBerth(t, "inspect", web.Name)
	for _, s := range []string{`"com.docker.compose.version": "`, `"com.docker.compose.depends_on": "db:service_started:true"`, `"my-label": "test"`} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("inspect %s lacks %s", web.Name, s)
		}
	}

	// networks and volumes carry Compose's labels too
	r = e.MustBerth(t, "network", "inspect", e.Project+"_default")
	for _, s := range []string{`"com.docker.compose.network": "default"`, `"com.docker.compose.project": "` + e.Project + `"`, `"com.docker.compose.version": "`} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("network inspect lacks %s:\n%s", s, r.Stdout)
		}
	}
	r = e.MustBerth(t, "volume", "inspect", e.Project+"_data")
	for _, s := range []string{`"com.docker.compose.volume": "data"`, `"com.docker.compose.project": "` + e.Project + `"`, `"com.docker.compose.version": "`} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("volume inspect lacks %s:\n%s", s, r.Stdout)
		}
	}

	// a recreated container names the one it replaced
	e.Compose(t, strings.Replace(mustRead(t, filepath.Join(e.Dir, "compose.yaml")), "my-label: test", "my-label: changed", 1))
	e.MustBerth(t, "--env-file", "alt.env", "up", "-d")
	for _, p := range psWithLabels(t, e) {
		if p.Service == "web" && p.Labels["com.docker.compose.replace"] != web.ID {
			t.Errorf("recreated web: replace label %q, want the old ID %s", p.Labels["com.docker.compose.replace"], web.ID)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestParityEngineDownLeavesNothing: `down` returns when nothing of the
// project exists, its supervisor and keeper included. Compose's down
// returns once the daemon has removed the containers; berth's equivalent
// of the daemon is the project's own supervisor, so it must be gone too.
// From TestLocalComposeUp's "down" and "check containers after down"
// steps (compose_test.go) and TestDown (compose_down_test.go, down of a
// project with nothing to remove succeeds).
func TestParityEngineDownLeavesNothing(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: busybox
    command: `+longRunning()+`
  job:
    image: busybox
    command: ["true"]
`)
	for round := 1; round <= 2; round++ {
		e.MustBerth(t, "up", "-d")
		e.MustBerth(t, "run", "-d", "job", "sleep", "1000")
		if supervisorPid(e, e.Project) == 0 {
			t.Fatalf("round %d: no supervisor after up -d", round)
		}
		e.MustBerth(t, "down", "-t", "0")
		// no grace: the moment down returns
		if procs := procsUnder([]string{e.Root, e.Run}); len(procs) != 0 {
			t.Errorf("round %d: processes of the project right after down returned: %v", round, procs)
		}
		if ps := mustPs(t, e, "-a"); len(ps) != 0 {
			t.Errorf("round %d: containers after down: %+v", round, ps)
		}
	}
	e.MustBerth(t, "-p", e.Project+"-none", "down")
}

// TestParityEngineUpDryRunChangesNothing: `up --dry-run` pulls and builds
// nothing; it says what it would pull and build, then what it would do
// with containers. Compose's dry run (docs: "--dry-run: Execute command in
// dry run mode", which prints each step it would take, the pulls and
// builds included, with no effect) — Compose has no e2e test for up's
// dry run to port; this is the documented behaviour.
func TestParityEngineUpDryRunChangesNothing(t *testing.T) {
	e := NewEnv(t)
	e.WriteFile(t, "app/Dockerfile", "FROM busybox\nRUN echo built > /built\n")
	e.Compose(t, `services:
  web:
    image: busybox
    command: `+longRunning()+`
  app:
    build: ./app
    command: ["cat", "/built"]
`)
	r := e.MustBerth(t, "up", "--dry-run")
	for _, want := range []string{"pull     busybox (web: missing)", "build    " + e.Project + "-app (app: not built yet)", "create   " + e.Project + "-web-1", "create   " + e.Project + "-app-1"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("up --dry-run lacks %q:\n%s", want, r)
		}
	}
	if r := e.MustBerth(t, "image", "ls", "-q"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("up --dry-run pulled or built images:\n%s", r.Stdout)
	}
	if ps := mustPs(t, e, "-a"); len(ps) != 0 {
		t.Errorf("up --dry-run created containers: %+v", ps)
	}
	if r := e.MustBerth(t, "network", "ls", "-q"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("up --dry-run created networks:\n%s", r.Stdout)
	}

	// once the images are here, the dry run has nothing to fetch
	e.MustBerth(t, "up", "-d")
	r = e.MustBerth(t, "up", "--dry-run")
	if strings.Contains(r.Stdout, "pull ") || strings.Contains(r.Stdout, "build ") {
		t.Errorf("up --dry-run after up wants to fetch images again:\n%s", r)
	}
}

// TestParityEngineCopyReplicas ports TestCopy (cp_test.go): cp into a
// service copies into every replica by default, --index into one; cp out
// of a service copies from the first replica by default, --index from one;
// folders both ways. (Compose scales to 5; 3 replicas show the same.)
func TestParityEngineCopyReplicas(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: busybox
    network_mode: none
    command: `+longRunning()+`
`)
	e.WriteFile(t, "cp-me.txt", "hello world")
	e.WriteFile(t, "cp-folder/cp-me.txt", "hello world from folder")
	e.MustBerth(t, "up", "--scale", "web=3", "-d")
	if got := len(mustPs(t, e)); got != 3 {
		t.Fatalf("%d containers running, want 3", got)
	}
	cat := func(index int, path string) Result {
		return e.Berth(t, "exec", "--index", fmt.Sprint(index), "web", "cat", path)
	}

	e.MustBerth(t, "cp", "./cp-me.txt", "web:/tmp/default.txt")
	for i := 1; i <= 3; i++ {
		if r := cat(i, "/tmp/default.txt"); r.Code != 0 || !strings.Contains(r.Stdout, "hello world") {
			t.Errorf("cp to web (no --index): replica %d lacks the file:\n%s", i, r)
		}
	}

	e.MustBerth(t, "cp", "--index=3", "./cp-me.txt", "web:/tmp/indexed.txt")
	if r := cat(3, "/tmp/indexed.txt"); r.Code != 0 || !strings.Contains(r.Stdout, "hello world") {
		t.Errorf("cp --index=3: replica 3 lacks the file:\n%s", r)
	}
	if r := cat(2, "/tmp/indexed.txt"); r.Code != 1 {
		t.Errorf("cp --index=3: replica 2 has the file too (cat exit %d, want 1)", r.Code)
	}

	e.MustBerth(t, "cp", "web:/tmp/default.txt", "./from-default.txt")
	if got := mustRead(t, filepath.Join(e.Dir, "from-default.txt")); got != "hello world" {
		t.Errorf("cp from web: %q", got)
	}
	e.MustBerth(t, "cp", "--index=3", "web:/tmp/indexed.txt", "./from-indexed.txt")
	if got := mustRead(t, filepath.Join(e.Dir, "from-indexed.txt")); got != "hello world" {
		t.Errorf("cp --index=3 from web: %q", got)
	}
	// out of the first replica: only replica 3 has indexed.txt
	if r := e.Berth(t, "cp", "web:/tmp/indexed.txt", "./nope.txt"); r.Code == 0 {
		t.Errorf("cp from web without --index read replica 3's file; want the first replica's (which lacks it)")
	}

	e.MustBerth(t, "cp", "./cp-folder", "web:/tmp")
	for i := 1; i <= 3; i++ {
		if r := cat(i, "/tmp/cp-folder/cp-me.txt"); !strings.Contains(r.Stdout, "hello world from folder") {
			t.Errorf("cp of a folder: replica %d lacks it:\n%s", i, r)
		}
	}
	e.MustBerth(t, "cp", "web:/tmp/cp-folder", "./cp-folder2")
	if got := mustRead(t, filepath.Join(e.Dir, "cp-folder2", "cp-me.txt")); got != "hello world from folder" {
		t.Errorf("cp of a folder out of web: %q", got)
	}
}

// TestParityEngineInitDynamicBerth: `init: true` works with berth built the
// ordinary Go way (cgo on: a dynamically linked binary), not only with the
// static build the Makefile makes. Compose relies on Docker's own
// docker-init and has no e2e test of it to port; the scenario is berth's:
// the init runs (it is PID 1, the command its child) and forwards the stop
// signal, so `sleep` as the command stops at once.
func TestParityEngineInitDynamicBerth(t *testing.T) {
	dyn := filepath.Join(t.TempDir(), "berth-dynamic")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", dyn, "./cmd/berth")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build (cgo on): %v\n%s", err, out)
	}
	if f, err := elf.Open(dyn); err == nil {
		dynamic := false
		for _, p := range f.Progs {
			dynamic = dynamic || p.Type == elf.PT_INTERP
		}
		f.Close()
		if !dynamic {
			t.Skip("go build links statically on this host (no cgo toolchain): nothing to check")
		}
	}
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: busybox
    init: true
    command: ["sleep", "1000"]
`)
	berth := func(args ...string) Result {
		ctx, cancel := context.WithTimeout(t.Context(), DefaultTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, dyn, args...)
		cmd.Dir, cmd.Env = e.Dir, e.Environ()
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		r := Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: cmd.ProcessState.ExitCode()}
		if err != nil && cmd.ProcessState == nil {
			r.Code = -1
		}
		return r
	}
	r := berth("run", "--rm", "-T", "web", "sh", "-c", "echo ran; tr '\\000' ' ' < /proc/1/cmdline")
	if r.Code != 0 || !strings.Contains(r.Stdout, "ran") || !strings.Contains(r.Stdout, "__init") {
		t.Fatalf("run of an init: true service with a dynamically linked berth: want the command run under berth's init\n%s", r)
	}
	if r = berth("up", "-d"); r.Code != 0 {
		t.Fatalf("up -d with a dynamically linked berth:\n%s", r)
	}
	waitStates(t, e, 20*time.Second, map[string]string{"web": "running"})
	start := time.Now()
	if r = berth("stop", "-t", "10"); r.Code != 0 {
		t.Fatalf("stop:\n%s", r)
	}
	if d := time.Since(start); d > 7*time.Second {
		t.Errorf("stop took %s: the init did not pass SIGTERM to sleep (it waited for the grace period)", d)
	}
	if r = berth("down"); r.Code != 0 {
		t.Errorf("down:\n%s", r)
	}
}

// TestParityEngineNetworkConfigChanged ports TestNetworkConfigChanged
// (networks_test.go, Compose ≥ 2.24): when a network's ipam subnet
// changes, `up` recreates the network and its containers, which come back
// with addresses in the new subnet.
func TestParityEngineNetworkConfigChanged(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  test:
    image: busybox
    command: `+longRunning()+`
networks:
  default:
    ipam:
      config:
        - subnet: ${SUBNET:-10.215.31.0/24}
`)
	address := func() string {
		r := e.MustBerth(t, "exec", "-T", "test", "hostname", "-i")
		return strings.TrimSpace(r.Stdout)
	}
	e.MustBerth(t, "up", "-d")
	if ip := address(); !strings.HasPrefix(ip, "10.215.31.") {
		t.Fatalf("address %q, want one in 10.215.31.0/24", ip)
	}
	before := psWithLabels(t, e)

	e.ExtraEnv = []string{"SUBNET=10.215.32.0/24"}
	r := e.MustBerth(t, "up", "--dry-run")
	if want := `network "default" changed: ipam subnet 10.215.31.0/24 → 10.215.32.0/24`; !strings.Contains(r.Stdout, want) {
		t.Errorf("up --dry-run does not plan the recreate (want %q):\n%s", want, r)
	}
	e.MustBerth(t, "up", "-d")
	if ip := address(); !strings.HasPrefix(ip, "10.215.32.") {
		t.Errorf("after the subnet changed: address %q, want one in 10.215.32.0/24", ip)
	}
	after := psWithLabels(t, e)
	if len(after) != 1 || len(before) != 1 || after[0].ID == before[0].ID {
		t.Errorf("the container was not recreated: before %+v, after %+v", before, after)
	}
	r = e.MustBerth(t, "network", "inspect", e.Project+"_default")
	if !strings.Contains(r.Stdout, "10.215.32.0/24") || strings.Contains(r.Stdout, "10.215.31.0/24") {
		t.Errorf("network inspect after the change:\n%s", r.Stdout)
	}
	// unchanged now: nothing to do
	if r := e.MustBerth(t, "up", "--dry-run"); !strings.Contains(r.Stdout, "nothing to do") {
		t.Errorf("up --dry-run after converging:\n%s", r)
	}
}
