package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/berth-dev/berth/internal/testimages"
)

// Scenarios of observability (issue 7, point 6): events, ls, stats, top,
// inspect and the health column of ps; healthchecks as inspect shows them.

// lcBuffer is a bytes.Buffer safe for a command's writer and the test's
// reader at once.
type lcBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lcBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lcBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// lcInspect is what the tests read of `berth inspect`.
type lcInspect struct {
	ID    string `json:"Id"`
	Name  string
	State struct {
		Status    string
		Running   bool
		Pid       int
		ExitCode  int
		StartedAt time.Time
		Health    *struct {
			Status        string
			FailingStreak int
			Log           []struct {
				ExitCode int
				Output   string
			}
		}
	}
}

// lcInspectOne inspects one service or container; it must be exactly one.
func lcInspectOne(t *testing.T, e *Env, what string) (lcInspect, error) {
	t.Helper()
	r := e.Berth(t, "inspect", what)
	if r.Code != 0 {
		return lcInspect{}, fmt.Errorf("berth inspect %s: %s", what, r)
	}
	var out []lcInspect
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		return lcInspect{}, fmt.Errorf("berth inspect %s: not a JSON array: %v\n%s", what, err, r.Stdout)
	}
	if len(out) != 1 {
		return lcInspect{}, fmt.Errorf("berth inspect %s: %d containers, want 1", what, len(out))
	}
	return out[0], nil
}

// lcHealth is the health status inspect shows ("" when it has none).
func (c lcInspect) health() string {
	if c.State.Health == nil {
		return ""
	}
	return c.State.Health.Status
}

// lcWaitHealth polls inspect until what's health status is want.
func lcWaitHealth(t *testing.T, e *Env, what, want string, timeout time.Duration) lcInspect {
	t.Helper()
	var c lcInspect
	Eventually(t, timeout, func() error {
		var err error
		if c, err = lcInspectOne(t, e, what); err != nil {
			return err
		}
		if c.health() != want {
			return fmt.Errorf("%s: health %q (state %s), want %q", what, c.health(), c.State.Status, want)
		}
		return nil
	})
	return c
}

// TestObserveProject: with db (healthy after ~2 s) and web up, `ls` shows
// the project running with its compose file, `stats --no-stream` lists
// both containers with a PIDS column, `top` their processes, `inspect`
// db's State.Health "healthy" and its healthcheck config; `events`
// follows a restart live and, after `down`, the log holds each
// container's create, start, die, destroy in order.
func TestObserveProject(t *testing.T) {
	e := NewEnv(t)
	composeFile := e.Compose(t, `services:
  db:
`+lcDBHealthy+`  web:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    depends_on:
      db:
        condition: service_healthy
`)
	since := time.Now().Add(-time.Second)
	e.MustBerth(t, "up", "-d")
	ids := lcIDs(t, e)
	dbName, webName := lcName(e, "db", 1), lcName(e, "web", 1)
	if ids[dbName] == "" || ids[webName] == "" {
		t.Fatalf("ps -a = %v; want %s and %s", ids, dbName, webName)
	}

	// ls: the project, running(2), from its compose file.
	r := e.MustBerth(t, "ls")
	if lines := nonEmptyLines(r.Stdout); len(lines) != 2 || !strings.Contains(lines[0], "NAME") ||
		!strings.HasPrefix(lines[1], e.Project+" ") || !strings.Contains(lines[1], "running(2)") || !strings.Contains(lines[1], composeFile) {
		t.Errorf("ls: want a header and one line \"%s running(2) %s\", got:\n%s", e.Project, composeFile, r.Stdout)
	}
	r = e.MustBerth(t, "ls", "--format", "json")
	var projects []struct{ Name, Status, ConfigFiles string }
	if err := json.Unmarshal([]byte(r.Stdout), &projects); err != nil {
		t.Errorf("ls --format json: %v\n%s", err, r.Stdout)
	} else if len(projects) != 1 || projects[0].Name != e.Project || projects[0].Status != "running(2)" || !strings.Contains(projects[0].ConfigFiles, composeFile) {
		t.Errorf("ls --format json = %+v; want %s, running(2), %s", projects, e.Project, composeFile)
	}

	// stats --no-stream: a table with a PIDS column, one row per container.
	r = e.MustBerth(t, "stats", "--no-stream")
	lines := nonEmptyLines(r.Stdout)
	if len(lines) != 3 || !strings.Contains(lines[0], "PIDS") {
		t.Errorf("stats --no-stream: want a header with PIDS and 2 rows, got:\n%s", r.Stdout)
	} else {
		for _, name := range []string{dbName, webName} {
			found := false
			for _, l := range lines[1:] {
				f := strings.Fields(l)
				if len(f) > 2 && f[1] == name {
					found = true
					if n, err := strconv.Atoi(f[len(f)-1]); err != nil || n < 1 {
						t.Errorf("stats: %s's PIDS is %q, want ≥ 1:\n%s", name, f[len(f)-1], r.Stdout)
					}
					if !strings.HasPrefix(ids[name], f[0]) {
						t.Errorf("stats: %s's ID column %q is not a prefix of its ID %s", name, f[0], ids[name])
					}
				}
			}
			if !found {
				t.Errorf("stats --no-stream has no row for %s:\n%s", name, r.Stdout)
			}
		}
	}
	r = e.MustBerth(t, "stats", "--no-stream", "--format", "json", "db")
	var st struct{ Name, PIDs, MemUsage string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.Stdout)), &st); err != nil {
		t.Errorf("stats --no-stream --format json db: %v\n%s", err, r.Stdout)
	} else if st.Name != dbName || st.PIDs == "" || st.PIDs == "0" || !strings.Contains(st.MemUsage, "/") {
		t.Errorf("stats --format json db = %+v; want db's name, PIDs ≥ 1 and a memory usage", st)
	}

	// top: the processes of each container.
	r = e.MustBerth(t, "top")
	if !strings.Contains(r.Stdout, dbName) || !strings.Contains(r.Stdout, webName) || !strings.Contains(r.Stdout, "sleep 1000") {
		t.Errorf("top: want both containers and their sleep 1000:\n%s", r.Stdout)
	}

	// inspect: db's health and healthcheck config, in Docker's shape.
	db, err := lcInspectOne(t, e, "db")
	if err != nil {
		t.Fatal(err)
	}
	if db.ID != ids[dbName] || db.health() != "healthy" || db.State.Status != "running" {
		t.Errorf("inspect db: Id %s, State %+v; want %s running and healthy", db.ID, db.State, ids[dbName])
	}
	r = e.MustBerth(t, "inspect", "-f", "{{json .Config.Healthcheck}}", "db")
	var hc struct {
		Test                                 []string
		Interval, StartPeriod, StartInterval int64
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.Stdout)), &hc); err != nil {
		t.Errorf("inspect -f {{json .Config.Healthcheck}} db: %v\n%s", err, r.Stdout)
	} else if strings.Join(hc.Test, " ") != "CMD test -f /tmp/ok" || hc.Interval != int64(500*time.Millisecond) ||
		hc.StartPeriod != int64(10*time.Second) || hc.StartInterval != int64(200*time.Millisecond) {
		t.Errorf("inspect db Config.Healthcheck = %+v; want the compose file's test and timings in ns", hc)
	}
	if r := e.MustBerth(t, "inspect", "-f", "{{.State.Health.Status}}", "db"); strings.TrimSpace(r.Stdout) != "healthy" {
		t.Errorf("inspect -f {{.State.Health.Status}} db = %q, want healthy", r.Stdout)
	}
	if w, err := lcInspectOne(t, e, "web"); err != nil || w.State.Health != nil {
		t.Errorf("inspect web (no healthcheck): State.Health = %+v (%v), want none", w.State.Health, err)
	}

	// events, live: a follower sees web's restart.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// --since now: no race between the follower reaching the log's end
	// and the restart; what comes after is followed live.
	now := time.Now()
	follow := e.Cmd(ctx, "events", "--json", "--since", fmt.Sprintf("%d.%09d", now.Unix(), now.Nanosecond()))
	var out, errOut lcBuffer
	follow.Stdout, follow.Stderr = &out, &errOut
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			_ = follow.Process.Kill()
			_ = follow.Wait()
		}
	}()
	e.MustBerth(t, "restart", "-t", "5", "web")
	Eventually(t, 10*time.Second, func() error {
		var seen []string
		for _, l := range nonEmptyLines(out.String()) {
			var ev lcEvent
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				return fmt.Errorf("events --json line %q: %v", l, err)
			}
			if ev.Service == "web" {
				seen = append(seen, ev.Action)
			}
		}
		if !containsAll(seen, "die", "start") {
			return fmt.Errorf("events --json (following) saw web's %q, want die and start after restart web; stderr: %s", seen, errOut.String())
		}
		return nil
	})
	if err := follow.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = follow.Wait()
	waited = true
	if err != nil && ctx.Err() == nil {
		t.Errorf("events --json ended with %v after Ctrl-C (want exit 0); stderr: %s", err, errOut.String())
	}

	// After down, the log tells each container's life in order.
	e.MustBerth(t, "down", "-t", "5")
	evs := lcEvents(t, e, since)
	for _, name := range []string{dbName, webName} {
		var seq []string
		for _, ev := range evs {
			if ev.ID != ids[name] {
				continue
			}
			if ev.Type != "container" || ev.Attributes["name"] != name || !strings.HasSuffix(name, "-"+ev.Service+"-1") {
				t.Errorf("event %s: want type container, name %s and its service", ev, name)
			}
			seq = append(seq, ev.Action)
		}
		want := []string{"create", "start", "die", "destroy"}
		if name == webName { // restarted once
			want = []string{"create", "start", "die", "start", "die", "destroy"}
		}
		if err := lcSubsequence(seq, want...); err != nil {
			t.Errorf("%s's events %q: %v", name, seq, err)
		}
		if name == dbName && !containsAll(seq, "health_status") {
			t.Errorf("db's events %q lack health_status", seq)
		}
	}
	// The text form: one line per event, as docker compose events prints.
	r = e.MustBerth(t, "events", "--since", fmt.Sprintf("%d", since.Unix()), "--until", "0s", "web")
	if !strings.Contains(r.Stdout, "container create "+ids[webName]) || !strings.Contains(r.Stdout, "name="+webName) || strings.Contains(r.Stdout, dbName) {
		t.Errorf("events web (text): want web's lines only, with \"container create <id>\" and name=:\n%s", r.Stdout)
	}
	if r := e.MustBerth(t, "ls"); strings.Contains(r.Stdout, e.Project) {
		t.Errorf("ls after down still lists the project:\n%s", r.Stdout)
	}
}

func containsAll(have []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// lcSubsequence checks that want appears in seq in order (other items may
// come between).
func lcSubsequence(seq []string, want ...string) error {
	i := 0
	for _, s := range seq {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	if i < len(want) {
		return fmt.Errorf("want %q in this order; %q (step %d) is missing", want, want[i], i+1)
	}
	return nil
}

// TestObserveStatsPids: stats counts a container's processes from its
// cgroup: more processes, a higher PIDS.
func TestObserveStatsPids(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  many:
    image: busybox
    network_mode: none
    init: true
    command: ["sh", "-c", "for i in 1 2 3 4 5; do sleep 1000 & done; wait"]
`)
	e.MustBerth(t, "up", "-d")
	Eventually(t, 10*time.Second, func() error {
		r := e.Berth(t, "stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}")
		f := strings.Fields(r.Stdout)
		if r.Code != 0 || len(f) != 2 || f[0] != lcName(e, "many", 1) {
			return fmt.Errorf("stats --format '{{.Name}} {{.PIDs}}': %s", r)
		}
		// init + sh + 5 sleeps
		if n, err := strconv.Atoi(f[1]); err != nil || n < 7 {
			return fmt.Errorf("stats: many's PIDS %q, want ≥ 7 (init, sh, 5 sleeps)", f[1])
		}
		return nil
	})
}

// pushHealthImage pushes busybox with a HEALTHCHECK (CMD-SHELL test -f
// /tmp/ok, every 300ms, 2 retries) under a name unique to the test.
func pushHealthImage(t *testing.T, e *Env) string {
	t.Helper()
	base, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := *cf.Config.DeepCopy()
	cfg.Healthcheck = &v1.HealthConfig{Test: []string{"CMD-SHELL", "test -f /tmp/ok"}, Interval: 300 * time.Millisecond, Retries: 2}
	img, err := mutate.Config(base, cfg)
	if err != nil {
		t.Fatal(err)
	}
	name := e.Project + "-hc:latest"
	if _, err := suite.registry.Push(t.Context(), name, img); err != nil {
		t.Fatalf("push %s: %v", name, err)
	}
	return e.Image(name)
}

// TestLifecycleImageHealthcheck: the image's HEALTHCHECK is inherited;
// disable: true and test: NONE turn it off; a service's test (string form:
// CMD-SHELL) replaces it and keeps the image's interval; ps shows the
// status.
func TestLifecycleImageHealthcheck(t *testing.T) {
	e := NewEnv(t)
	ref := pushHealthImage(t, e)
	svc := func(name, extra string) string {
		return `  ` + name + `:
    image: ` + ref + `
    network_mode: none
    init: true
    command: ["sh", "-c", "sleep 1; touch /tmp/ok; sleep 1000"]
` + extra
	}
	e.Compose(t, "services:\n"+
		svc("inherit", "")+
		svc("disabled", "    healthcheck:\n      disable: true\n")+
		svc("none", "    healthcheck:\n      test: [\"NONE\"]\n")+
		svc("override", "    healthcheck:\n      test: echo override-probe; exit 1\n"))
	e.MustBerth(t, "up", "-d")
	lcWaitHealth(t, e, "inherit", "healthy", 15*time.Second)
	over := lcWaitHealth(t, e, "override", "unhealthy", 15*time.Second)
	if n := len(over.State.Health.Log); n == 0 || !strings.Contains(over.State.Health.Log[n-1].Output, "override-probe") || over.State.Health.Log[n-1].ExitCode != 1 {
		t.Errorf("override's health log %+v: want the last probe's output override-probe and exit code 1", over.State.Health.Log)
	}
	for _, s := range []string{"disabled", "none"} {
		c, err := lcInspectOne(t, e, s)
		if err != nil {
			t.Fatal(err)
		}
		if c.State.Health != nil {
			t.Errorf("%s: State.Health = %+v, want none (healthcheck turned off)", s, c.State.Health)
		}
	}
	var hc struct {
		Test     []string
		Interval int64
	}
	r := e.MustBerth(t, "inspect", "-f", "{{json .Config.Healthcheck}}", "override")
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.Stdout)), &hc); err != nil {
		t.Errorf("inspect override Config.Healthcheck: %v\n%s", err, r.Stdout)
	} else if strings.Join(hc.Test, "|") != "CMD-SHELL|echo override-probe; exit 1" || hc.Interval != int64(300*time.Millisecond) {
		t.Errorf("override's healthcheck %+v: want CMD-SHELL of the service's string and the image's 300ms interval", hc)
	}
	status := map[string]string{}
	for _, p := range mustPs(t, e) {
		status[p.Service] = p.Status
	}
	want := map[string]string{"inherit": "(healthy)", "override": "(unhealthy)"}
	for s, st := range status {
		if w := want[s]; w != "" && !strings.HasSuffix(st, w) || w == "" && strings.Contains(st, "(") {
			t.Errorf("ps: %s status %q, want %q at its end", s, st, w)
		}
	}
}
