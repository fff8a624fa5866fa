package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Scenarios of the lifecycle capability (issue 7): healthchecks, depends_on
// conditions, `up --wait`, a killed healthy container, hooks. Shared
// helpers of the lifecycle tests (lifecycle_test.go, converge_test.go,
// observe_test.go) live here, prefixed lc.

// lcEvent is one line of `berth events --json`.
type lcEvent struct {
	Time       string            `json:"time"`
	Type       string            `json:"type"`
	Action     string            `json:"action"`
	ID         string            `json:"id"`
	Service    string            `json:"service"`
	Attributes map[string]string `json:"attributes"`

	at time.Time
}

func (ev lcEvent) String() string {
	return fmt.Sprintf("%s %s %s %s %v", ev.Time, ev.Service, ev.Action, lcShort(ev.ID), ev.Attributes)
}

// healthy reports whether the event is a health_status event saying
// status (Docker's action is "health_status: healthy"; berth may put the
// status in the attribute instead).
func (ev lcEvent) health(status string) bool {
	if !strings.HasPrefix(ev.Action, "health_status") {
		return false
	}
	return ev.Attributes["health_status"] == status || strings.TrimSpace(strings.TrimPrefix(ev.Action, "health_status:")) == status
}

func lcShort(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// lcEvents runs `events --json --since <since> --until 0s` (the log from
// since until now) and parses its lines.
func lcEvents(t *testing.T, e *Env, since time.Time, services ...string) []lcEvent {
	t.Helper()
	s := fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	args := append([]string{"events", "--json", "--since", s, "--until", "0s"}, services...)
	r := e.MustBerth(t, args...)
	var out []lcEvent
	for _, l := range nonEmptyLines(r.Stdout) {
		var ev lcEvent
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("events --json line %q: %v", l, err)
		}
		at, err := time.Parse(time.RFC3339Nano, ev.Time)
		if err != nil {
			t.Fatalf("events --json line %q: time %q is not RFC 3339: %v", l, ev.Time, err)
		}
		ev.at = at
		out = append(out, ev)
	}
	return out
}

// lcFirst is the first event of svc matching ok, or fails the test.
func lcFirst(t *testing.T, evs []lcEvent, svc, what string, ok func(lcEvent) bool) lcEvent {
	t.Helper()
	for _, ev := range evs {
		if ev.Service == svc && ok(ev) {
			return ev
		}
	}
	t.Fatalf("no %s event of %s in:\n%s", what, svc, lcEventList(evs))
	return lcEvent{}
}

func lcEventList(evs []lcEvent) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString("  " + ev.String() + "\n")
	}
	return b.String()
}

func lcAction(a string) func(lcEvent) bool {
	return func(ev lcEvent) bool { return ev.Action == a }
}

// lcIDs maps container name → ID of every container in `ps -a`.
func lcIDs(t *testing.T, e *Env) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, p := range mustPs(t, e, "-a") {
		m[p.Name] = p.ID
	}
	return m
}

// lcElapsedUnder fails the test when a command took longer than bound.
func lcElapsedUnder(t *testing.T, what string, start time.Time, bound time.Duration) {
	t.Helper()
	if d := time.Since(start); d > bound {
		t.Errorf("%s took %s, want under %s", what, d.Round(100*time.Millisecond), bound)
	}
}

// lcDBHealthy is a db that turns healthy after ~2 s.
const lcDBHealthy = `    image: busybox
    network_mode: none
    init: true
    command: ["sh", "-c", "rm -f /tmp/ok; sleep 2; touch /tmp/ok; sleep 1000"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 500ms
      start_interval: 200ms
      start_period: 10s
      retries: 3
`

// TestLifecycleHealthyDependency: web depends on db being healthy; db turns
// healthy after ~2 s; web starts only after db's health_status: healthy
// event, and ps and inspect show db healthy.
func TestLifecycleHealthyDependency(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  db:
`+lcDBHealthy+`  web:
    image: busybox
    network_mode: none
    command: `+longRunning("web-up")+`
    depends_on:
      db:
        condition: service_healthy
`)
	since := time.Now().Add(-time.Second)
	e.MustBerth(t, "up", "-d")

	// up returned after web started, so db was healthy by then.
	db, err := lcInspectOne(t, e, "db")
	if err != nil {
		t.Fatal(err)
	}
	if db.health() != "healthy" {
		t.Errorf("after up -d, db's State.Health = %+v, want status healthy", db.State.Health)
	} else if len(db.State.Health.Log) == 0 || db.State.Health.Log[len(db.State.Health.Log)-1].ExitCode != 0 {
		t.Errorf("db's State.Health.Log = %+v, want the last probe with exit code 0", db.State.Health.Log)
	}
	for _, p := range mustPs(t, e) {
		if p.Service == "db" && !strings.Contains(p.Status, "(healthy)") {
			t.Errorf("ps: db status %q, want it to say (healthy)", p.Status)
		}
	}
	web, err := lcInspectOne(t, e, "web")
	if err != nil {
		t.Fatal(err)
	}

	evs := lcEvents(t, e, since)
	dbStart := lcFirst(t, evs, "db", "start", lcAction("start"))
	healthy := lcFirst(t, evs, "db", "health_status: healthy", func(ev lcEvent) bool { return ev.health("healthy") })
	webStart := lcFirst(t, evs, "web", "start", lcAction("start"))
	t.Logf("db start %s, healthy +%s, web start +%s after healthy", dbStart.Time,
		healthy.at.Sub(dbStart.at).Round(time.Millisecond), webStart.at.Sub(healthy.at).Round(time.Millisecond))
	if d := healthy.at.Sub(dbStart.at); d < 1500*time.Millisecond {
		t.Errorf("db healthy %s after its start, want ≥ ~2 s (it touches /tmp/ok after 2 s):\n%s", d, lcEventList(evs))
	}
	if !webStart.at.After(healthy.at) {
		t.Errorf("web started at %s, before db turned healthy at %s:\n%s", webStart.Time, healthy.Time, lcEventList(evs))
	}
	if web.State.StartedAt.Before(healthy.at) {
		t.Errorf("web's inspect StartedAt %s is before db's healthy event %s", web.State.StartedAt, healthy.Time)
	}
	if webStart.ID != web.ID || healthy.ID != db.ID {
		t.Errorf("event IDs (web %s, db %s) are not the containers' (web %s, db %s)", webStart.ID, healthy.ID, web.ID, db.ID)
	}
}

// TestLifecycleUnhealthyDependency: a db whose healthcheck always fails
// fails `up` in bounded time, naming db; web is never started.
func TestLifecycleUnhealthyDependency(t *testing.T) {
	e := NewEnv(t)
	e.Timeout = 45 * time.Second
	e.Compose(t, `services:
  db:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    healthcheck:
      test: ["CMD-SHELL", "echo db-probe-failed; exit 1"]
      interval: 300ms
      timeout: 2s
      retries: 2
  web:
    image: busybox
    network_mode: none
    command: `+longRunning("web-up")+`
    depends_on:
      db:
        condition: service_healthy
`)
	start := time.Now()
	r := e.Berth(t, "up", "-d")
	lcElapsedUnder(t, "up -d with an unhealthy dependency", start, 30*time.Second)
	if r.Code == 0 {
		t.Fatalf("up -d with db unhealthy succeeded: %s", r)
	}
	t.Logf("up -d failed after %s:\n%s", time.Since(start).Round(time.Millisecond), r.Stderr)
	if !strings.Contains(r.Stderr, `"db"`) && !strings.Contains(r.Stderr, " db ") {
		t.Errorf("the error does not name db:\n%s", r.Stderr)
	}
	if !strings.Contains(r.Stderr, "unhealthy") {
		t.Errorf("the error does not say db is unhealthy:\n%s", r.Stderr)
	}
	for _, p := range mustPs(t, e, "-a") {
		if p.Service == "web" && p.State == "running" {
			t.Errorf("web runs although db never became healthy: %+v", p)
		}
	}
	db, err := lcInspectOne(t, e, "db")
	if err != nil {
		t.Fatal(err)
	}
	if db.health() != "unhealthy" {
		t.Errorf("db's State.Health = %+v, want unhealthy", db.State.Health)
	} else if n := len(db.State.Health.Log); n == 0 || !strings.Contains(db.State.Health.Log[n-1].Output, "db-probe-failed") || db.State.Health.FailingStreak < 2 {
		t.Errorf("db's State.Health: want FailingStreak ≥ 2 and the probe's output kept, got %+v", db.State.Health)
	}
}

// lcMigration is a project whose app waits for a one-shot migrate.
func lcMigration(migrate string) string {
	return `services:
  migrate:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "` + migrate + `"]
  app:
    image: busybox
    network_mode: none
    command: ` + longRunning("app-up") + `
    depends_on:
      migrate:
        condition: service_completed_successfully
`
}

// TestLifecycleMigrationOneShot: app depends on a one-shot migrate with
// service_completed_successfully: migrate runs and exits 0 before app
// starts.
func TestLifecycleMigrationOneShot(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, lcMigration("echo migrating; sleep 1; echo migrated"))
	since := time.Now().Add(-time.Second)
	e.MustBerth(t, "up", "-d")

	got := states(mustPs(t, e, "-a"))
	if got["migrate"] != "exited" || got["app"] != "running" {
		t.Fatalf("after up -d, states %v; want migrate exited and app running", got)
	}
	if p := waitExited(t, e, "migrate", time.Second); p.ExitCode != 0 {
		t.Errorf("migrate exit code %d, want 0", p.ExitCode)
	}
	if lines := serviceLines(t, e, "migrate"); strings.Join(lines, ",") != "migrating,migrated" {
		t.Errorf("migrate's logs %q, want migrating, migrated", lines)
	}
	evs := lcEvents(t, e, since)
	die := lcFirst(t, evs, "migrate", "die", lcAction("die"))
	appStart := lcFirst(t, evs, "app", "start", lcAction("start"))
	if die.Attributes["exitCode"] != "0" {
		t.Errorf("migrate's die event has exitCode %q, want 0: %s", die.Attributes["exitCode"], die)
	}
	if !appStart.at.After(die.at) {
		t.Errorf("app started at %s, before migrate exited at %s:\n%s", appStart.Time, die.Time, lcEventList(evs))
	}

	// Re-up: the completed one-shot is not run again and app is kept.
	ids := lcIDs(t, e)
	e.MustBerth(t, "up", "-d")
	if after := lcIDs(t, e); fmt.Sprint(after) != fmt.Sprint(ids) {
		t.Errorf("re-up changed containers: %v → %v", ids, after)
	}
	if got := states(mustPs(t, e, "-a")); got["app"] != "running" {
		t.Errorf("after re-up, app is %q, want running", got["app"])
	}
}

// TestLifecycleMigrationFails: a one-shot migrate exiting 1 fails `up`
// with its name, its exit code and its output; app is not started.
func TestLifecycleMigrationFails(t *testing.T) {
	e := NewEnv(t)
	e.Timeout = 45 * time.Second
	e.Compose(t, lcMigration("echo migration-broke-here; exit 1"))
	r := e.Berth(t, "up", "-d")
	if r.Code == 0 {
		t.Fatalf("up -d with a failing migration succeeded: %s", r)
	}
	t.Logf("up -d failed:\n%s", r.Stderr)
	for _, want := range []string{"migrate", "code 1", "migration-broke-here"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("up's error lacks %q (want the one-shot named, its exit code and its log tail):\n%s", want, r.Stderr)
		}
	}
	for _, p := range mustPs(t, e, "-a") {
		if p.Service == "app" && p.State == "running" {
			t.Errorf("app runs although migrate failed: %+v", p)
		}
	}
}

// TestLifecycleUpWait: `up --wait` returns 0 once every service runs and is
// healthy, with a one-shot counted as done; a service nobody waits on with
// depends_on (cache) is healthy as soon as --wait returns.
func TestLifecycleUpWait(t *testing.T) {
	e := NewEnv(t)
	e.Timeout = 60 * time.Second
	e.Compose(t, `services:
  db:
`+lcDBHealthy+`  cache:
    image: busybox
    network_mode: none
    init: true
    command: ["sh", "-c", "rm -f /tmp/ok; sleep 3; touch /tmp/ok; sleep 1000"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 500ms
      start_interval: 200ms
      start_period: 15s
  migrate:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "echo migrated"]
  app:
    image: busybox
    network_mode: none
    command: `+longRunning("app-up")+`
    depends_on:
      migrate:
        condition: service_completed_successfully
      db:
        condition: service_healthy
`)
	r := e.Berth(t, "up", "--wait", "--wait-timeout", "30")
	if r.Code != 0 {
		t.Fatalf("up --wait: %s", r)
	}
	// No polling: --wait returned, so all of this holds now.
	for _, svc := range []string{"db", "cache"} {
		c, err := lcInspectOne(t, e, svc)
		if err != nil {
			t.Fatal(err)
		}
		if c.health() != "healthy" {
			t.Errorf("up --wait returned while %s's health is %q, want healthy", svc, c.health())
		}
	}
	ps := mustPs(t, e, "-a")
	got := states(ps)
	if got["app"] != "running" || got["migrate"] != "exited" {
		t.Errorf("after up --wait, states %v; want app running and migrate exited", got)
	}
	for _, p := range ps {
		if p.Service == "migrate" && p.ExitCode != 0 {
			t.Errorf("migrate exit code %d, want 0", p.ExitCode)
		}
	}
}

// TestLifecycleUpWaitFails: `up --wait` fails in bounded time naming the
// service, whether its healthcheck turns unhealthy or never passes before
// --wait-timeout.
func TestLifecycleUpWaitFails(t *testing.T) {
	e := NewEnv(t)
	e.Timeout = 45 * time.Second
	e.Compose(t, `services:
  bad:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    healthcheck:
      test: ["CMD-SHELL", "exit 1"]
      interval: 300ms
      retries: 2
  fine:
    image: busybox
    network_mode: none
    command: `+longRunning("fine-up")+`
`)
	start := time.Now()
	r := e.Berth(t, "up", "--wait", "--wait-timeout", "20")
	lcElapsedUnder(t, "up --wait with an unhealthy service", start, 25*time.Second)
	if r.Code == 0 {
		t.Fatalf("up --wait with an unhealthy service returned 0: %s", r)
	}
	t.Logf("up --wait failed after %s:\n%s", time.Since(start).Round(time.Millisecond), r.Stderr)
	if !strings.Contains(r.Stderr, "bad") || strings.Contains(r.Stderr, `"fine"`) {
		t.Errorf("up --wait's error should name bad (and not fine):\n%s", r.Stderr)
	}
	e.MustBerth(t, "down", "-t", "0")

	// Still starting when the timeout comes: failures inside start_period
	// do not count, so the status never leaves "starting".
	e.Compose(t, `services:
  slow:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    healthcheck:
      test: ["CMD-SHELL", "exit 1"]
      interval: 300ms
      start_period: 60s
      start_interval: 300ms
`)
	start = time.Now()
	r = e.Berth(t, "up", "--wait", "--wait-timeout", "3")
	lcElapsedUnder(t, "up --wait --wait-timeout 3", start, 15*time.Second)
	if r.Code == 0 {
		t.Fatalf("up --wait --wait-timeout 3 with a never-healthy service returned 0: %s", r)
	}
	t.Logf("up --wait --wait-timeout 3 failed after %s:\n%s", time.Since(start).Round(time.Millisecond), r.Stderr)
	if !strings.Contains(r.Stderr, "slow") {
		t.Errorf("up --wait's timeout error does not name slow:\n%s", r.Stderr)
	}
	if c, err := lcInspectOne(t, e, "slow"); err != nil {
		t.Error(err)
	} else if c.health() != "starting" {
		t.Errorf("slow's health %q, want starting (inside its start_period)", c.health())
	}
}

// TestLifecycleKilledHealthyRestarts: a healthy container under restart:
// always whose process is killed (kill -9 of its host PID) is restarted
// and becomes healthy again; events show start, healthy, die, start,
// healthy.
func TestLifecycleKilledHealthyRestarts(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  svc:
    image: busybox
    network_mode: none
    restart: always
    init: true
    command: ["sh", "-c", "rm -f /tmp/ok; echo run; sleep 1; touch /tmp/ok; sleep 1000"]
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 500ms
      start_interval: 200ms
      start_period: 10s
`)
	since := time.Now().Add(-time.Second)
	e.MustBerth(t, "up", "-d")
	first := lcWaitHealth(t, e, "svc", "healthy", 20*time.Second)
	pid := first.State.Pid
	if pid <= 0 || !procAlive(pid) {
		t.Fatalf("inspect svc: State.Pid %d is not a live process", pid)
	}
	if r := e.MustBerth(t, "inspect", "-f", "{{.State.Pid}}", "svc"); strings.TrimSpace(r.Stdout) != strconv.Itoa(pid) {
		t.Errorf("inspect -f {{.State.Pid}} = %q, want %d", r.Stdout, pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	var second lcInspect
	Eventually(t, 25*time.Second, func() error {
		c, err := lcInspectOne(t, e, "svc")
		if err != nil {
			return err
		}
		if c.State.Pid == pid || !c.State.Running || c.health() != "healthy" {
			return fmt.Errorf("svc: pid %d (killed %d), running %v, health %q; want a new process, healthy", c.State.Pid, pid, c.State.Running, c.health())
		}
		second = c
		return nil
	})
	if second.ID != first.ID {
		t.Errorf("restart: always made a new container %s (was %s): want the same one restarted", second.ID, first.ID)
	}
	if n := runsOf(t, e, "svc"); n != 2 {
		t.Errorf("svc ran %d times, want 2", n)
	}

	// The events, in order: start, healthy, die (137), start, healthy.
	var evs []lcEvent
	steps := []struct {
		what string
		ok   func(lcEvent) bool
	}{
		{"start", lcAction("start")},
		{"health_status: healthy", func(ev lcEvent) bool { return ev.health("healthy") }},
		{"die", lcAction("die")},
		{"start", lcAction("start")},
		{"health_status: healthy", func(ev lcEvent) bool { return ev.health("healthy") }},
	}
	Eventually(t, 10*time.Second, func() error {
		evs = lcEvents(t, e, since, "svc")
		i := 0
		for _, ev := range evs {
			if i < len(steps) && steps[i].ok(ev) {
				if steps[i].what == "die" && ev.Attributes["exitCode"] != "137" {
					return fmt.Errorf("die event %s: want exitCode 137", ev)
				}
				i++
			}
		}
		if i < len(steps) {
			return fmt.Errorf("events lack step %d (%s) of start, healthy, die, start, healthy:\n%s", i+1, steps[i].what, lcEventList(evs))
		}
		return nil
	})
	// Between the die and the second healthy the status was not healthy:
	// a health_status event other than healthy (starting/unhealthy), or
	// none at all, but never a stale "healthy" before the restart's probe.
	die := lcFirst(t, evs, "svc", "die", lcAction("die"))
	for _, ev := range evs {
		if ev.health("healthy") && ev.at.After(die.at) && ev.at.Sub(die.at) < 500*time.Millisecond {
			t.Errorf("svc reported healthy %s after it died, before a probe could pass (the command sleeps 1 s first):\n%s", ev.at.Sub(die.at), lcEventList(evs))
		}
	}
}

// TestLifecycleHooks: a post_start hook writes a file the service waits
// for and sees; a pre_stop hook runs while the service still runs, before
// the stop (its side effect is in a bind-mounted dir).
func TestLifecycleHooks(t *testing.T) {
	e := NewEnv(t)
	out := filepath.Join(e.Dir, "out")
	if err := os.MkdirAll(out, 0o777); err != nil {
		t.Fatal(err)
	}
	e.Compose(t, `services:
  svc:
    image: busybox
    network_mode: none
    volumes: ["./out:/out"]
    command: ["sh", "-c", "trap 'exit 0' TERM; until [ -f /tmp/hook ]; do sleep 0.1; done; echo saw-$(cat /tmp/hook); sleep 1000 & wait"]
    post_start:
      - command: ["sh", "-c", "echo post-start-ran > /tmp/hook"]
    pre_stop:
      - command: ["sh", "-c", "if kill -0 1; then echo main-alive > /out/prestop; else echo main-gone > /out/prestop; fi"]
`)
	e.MustBerth(t, "up", "-d")
	Eventually(t, 15*time.Second, func() error {
		if lines := serviceLines(t, e, "svc"); count(lines, "saw-post-start-ran") != 1 {
			return fmt.Errorf("svc's logs %q: want saw-post-start-ran (the post_start hook's file)", lines)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(out, "prestop")); err == nil {
		t.Fatalf("the pre_stop hook ran before any stop")
	}
	e.MustBerth(t, "stop", "svc")
	b, err := os.ReadFile(filepath.Join(out, "prestop"))
	if err != nil {
		t.Fatalf("after stop, the pre_stop hook's file: %v", err)
	}
	if got := strings.TrimSpace(string(b)); got != "main-alive" {
		t.Errorf("pre_stop hook saw %q, want main-alive (it runs before the stop)", got)
	}
	if st := states(mustPs(t, e, "-a"))["svc"]; st != "exited" {
		t.Errorf("after stop, svc is %q, want exited", st)
	}
}

// TestLifecycleRestartDependents: depends_on with restart: true — `berth
// restart db` restarts web (which depends on db so) after it, and leaves
// other (a plain depends_on) alone.
func TestLifecycleRestartDependents(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  db:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
  web:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    depends_on:
      db:
        condition: service_started
        restart: true
  other:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    depends_on: [db]
`)
	e.MustBerth(t, "up", "-d")
	inspectAll := func() map[string]lcInspect {
		m := map[string]lcInspect{}
		for _, s := range []string{"db", "web", "other"} {
			c, err := lcInspectOne(t, e, s)
			if err != nil {
				t.Fatal(err)
			}
			m[s] = c
		}
		return m
	}
	before := inspectAll()
	e.MustBerth(t, "restart", "-t", "5", "db")
	after := inspectAll()
	if !after["db"].State.StartedAt.After(before["db"].State.StartedAt) {
		t.Errorf("db was not restarted: StartedAt %s → %s", before["db"].State.StartedAt, after["db"].State.StartedAt)
	}
	if !after["web"].State.StartedAt.After(after["db"].State.StartedAt) {
		t.Errorf("web (depends_on db restart: true) StartedAt %s, want after db's restart at %s", after["web"].State.StartedAt, after["db"].State.StartedAt)
	}
	if !after["other"].State.StartedAt.Equal(before["other"].State.StartedAt) {
		t.Errorf("other (plain depends_on db) was restarted: StartedAt %s → %s", before["other"].State.StartedAt, after["other"].State.StartedAt)
	}
	if got := states(mustPs(t, e)); got["db"] != "running" || got["web"] != "running" || got["other"] != "running" {
		t.Errorf("after restart db, states %v; want all running", got)
	}
}

// TestLifecycleOptionalDependency: a depends_on with required: false on a
// service disabled by a profile is skipped, with a warning naming it
// (issue 7, point 2); web still starts.
func TestLifecycleOptionalDependency(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    depends_on:
      extra:
        condition: service_started
        required: false
  extra:
    image: busybox
    network_mode: none
    profiles: [extra]
    command: ["sleep", "1000"]
`)
	r := e.MustBerth(t, "up", "-d")
	if got := states(mustPs(t, e, "-a")); len(got) != 1 || got["web"] != "running" {
		t.Errorf("after up -d, states %v; want web running and no extra", got)
	}
	if !strings.Contains(r.Stderr, "extra") {
		t.Errorf("up -d says nothing of the skipped optional dependency extra (want a warning naming it):\n%s", r.Stderr)
	}
}
