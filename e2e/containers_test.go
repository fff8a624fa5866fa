package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Scenarios of the containers capability (issue 5): a project's life from
// `up` to `down`, logs, exec/run, one-offs and the attached mode. Shared
// helpers of the containers tests live here too.

// longRunning is a command that runs until SIGTERM (a trapped signal
// interrupts `wait`, so the stop is quick although sh is PID 1), after
// printing its lines.
func longRunning(lines ...string) string {
	var b strings.Builder
	b.WriteString(`["sh", "-c", "trap 'exit 0' TERM; `)
	for _, l := range lines {
		b.WriteString("echo " + l + "; ")
	}
	b.WriteString(`sleep 1000 & wait"]`)
	return b.String()
}

// psEntry is one object of `ps --format json`.
type psEntry struct {
	ID, Name, Service, State, Status, Image, Command, Project string
	ExitCode                                                  int
}

// psJSON runs `ps --format json` with args and parses its lines.
func psJSON(t *testing.T, e *Env, args ...string) ([]psEntry, error) {
	t.Helper()
	r := e.Berth(t, append([]string{"ps", "--format", "json"}, args...)...)
	if r.Code != 0 {
		return nil, fmt.Errorf("berth ps: %s", r)
	}
	var out []psEntry
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		var p psEntry
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			return nil, fmt.Errorf("ps --format json line %q: %w", l, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// mustPs is psJSON failing the test on error.
func mustPs(t *testing.T, e *Env, args ...string) []psEntry {
	t.Helper()
	ps, err := psJSON(t, e, args...)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// states maps service → state (the last container's) from a ps list.
func states(ps []psEntry) map[string]string {
	m := map[string]string{}
	for _, p := range ps {
		m[p.Service] = p.State
	}
	return m
}

// waitStates polls `ps -a` until every service named has the state given.
func waitStates(t *testing.T, e *Env, timeout time.Duration, want map[string]string) []psEntry {
	t.Helper()
	var last []psEntry
	Eventually(t, timeout, func() error {
		ps, err := psJSON(t, e, "-a")
		if err != nil {
			return err
		}
		last = ps
		got := states(ps)
		for svc, st := range want {
			if got[svc] != st {
				return fmt.Errorf("service %s is %q, want %q (ps -a: %+v)", svc, got[svc], st, ps)
			}
		}
		return nil
	})
	return last
}

// waitExited waits for svc's container to have exited and returns its ps entry.
func waitExited(t *testing.T, e *Env, svc string, timeout time.Duration) psEntry {
	t.Helper()
	for _, p := range waitStates(t, e, timeout, map[string]string{svc: "exited"}) {
		if p.Service == svc {
			return p
		}
	}
	t.Fatalf("service %s not in ps -a", svc)
	return psEntry{}
}

// oneShot starts svc (up -d svc), waits for it to exit, and returns its exit
// code and its output (logs --no-log-prefix).
func oneShot(t *testing.T, e *Env, svc string) (int, string) {
	t.Helper()
	e.MustBerth(t, "up", "-d", svc)
	p := waitExited(t, e, svc, 30*time.Second)
	r := e.MustBerth(t, "logs", "--no-log-prefix", svc)
	return p.ExitCode, r.Stdout
}

// serviceLines is the output of `logs --no-log-prefix svc`, as lines.
func serviceLines(t *testing.T, e *Env, svc string) []string {
	t.Helper()
	r := e.Berth(t, "logs", "--no-log-prefix", svc)
	if r.Code != 0 {
		t.Fatalf("berth logs %s: %s", svc, r)
	}
	return nonEmptyLines(r.Stdout)
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func count(lines []string, want string) int {
	n := 0
	for _, l := range lines {
		if strings.TrimSpace(l) == want {
			n++
		}
	}
	return n
}

// assertNothingLeft checks that nothing of the test's runs: no container in
// `ps -a`, no mount and no process under the test's dirs.
func assertNothingLeft(t *testing.T, e *Env) {
	t.Helper()
	if ps := mustPs(t, e, "-a"); len(ps) != 0 {
		t.Errorf("ps -a lists containers, want none: %+v", ps)
	}
	roots := []string{e.Root, e.Run}
	if m, err := mountsUnder(roots); err != nil || len(m) != 0 {
		t.Errorf("mounts left under the state dirs: %q %v", m, err)
	}
	if procs := waitProcsGone(roots, leakGrace); len(procs) != 0 {
		t.Errorf("processes left: %v", procs)
	}
	if procs := containerProcs(e); len(procs) != 0 {
		var desc []string
		for pid := range procs {
			desc = append(desc, fmt.Sprintf("%d %q", pid, procCmdline(pid)))
		}
		t.Errorf("container processes left: %s", strings.Join(desc, ", "))
	}
}

// TestProjectLifecycle: a 3-service project, from up -d to down.
func TestProjectLifecycle(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: httpecho
    network_mode: none
  worker:
    image: busybox
    network_mode: none
    command: `+longRunning("worker-1", "worker-2", "worker-3", "worker-4")+`
  db:
    image: busybox
    network_mode: none
    depends_on: [worker]
    command: `+longRunning("db-1", "db-2", "db-3")+`
`)
	e.MustBerth(t, "up", "-d")

	ps := mustPs(t, e)
	if got := states(ps); len(ps) != 3 || got["web"] != "running" || got["worker"] != "running" || got["db"] != "running" {
		t.Fatalf("after up -d, ps = %+v; want web, worker and db running", ps)
	}
	for _, p := range ps {
		if p.Project != e.Project || !strings.Contains(p.Name, p.Service) || p.ID == "" {
			t.Errorf("ps entry %+v: want project %s and a name with the service", p, e.Project)
		}
	}
	if r := e.MustBerth(t, "ps", "--services"); strings.Join(sortedFields(r.Stdout), " ") != "db web worker" {
		t.Errorf("ps --services = %q", r.Stdout)
	}
	if r := e.MustBerth(t, "ps", "-q"); len(strings.Fields(r.Stdout)) != 3 {
		t.Errorf("ps -q = %q, want 3 IDs", r.Stdout)
	}

	// logs: every service's lines, in order, with the service-N prefix.
	Eventually(t, 20*time.Second, func() error {
		r := e.Berth(t, "logs")
		if r.Code != 0 {
			return fmt.Errorf("logs: %s", r)
		}
		if err := inOrder(r.Stdout, "worker-1 | worker-1", "worker-1 | worker-2", "worker-1 | worker-3", "worker-1 | worker-4"); err != nil {
			return err
		}
		if err := inOrder(r.Stdout, "db-1 | db-1", "db-1 | db-2", "db-1 | db-3"); err != nil {
			return err
		}
		return inOrder(r.Stdout, "web-1 | httpecho listening on :8080")
	})
	if got := serviceLines(t, e, "db"); strings.Join(got, ",") != "db-1,db-2,db-3" {
		t.Errorf("logs --no-log-prefix db = %q, want only db's three lines", got)
	}
	if got := nonEmptyLines(e.MustBerth(t, "logs", "--no-log-prefix", "--tail", "2", "worker").Stdout); strings.Join(got, ",") != "worker-3,worker-4" {
		t.Errorf("logs --tail 2 worker = %q", got)
	}

	// exec: output and exit code of the command.
	r := e.Berth(t, "exec", "-T", "worker", "sh", "-c", "echo from-exec; exit 7")
	if r.Code != 7 || strings.TrimSpace(r.Stdout) != "from-exec" {
		t.Errorf("exec -T worker sh -c 'echo from-exec; exit 7': want exit 7 and from-exec, got %s", r)
	}
	r = e.Berth(t, "exec", "-T", "-e", "X=42", "-w", "/tmp", "worker", "sh", "-c", `echo "$X $(pwd)"`)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "42 /tmp" {
		t.Errorf("exec -e X=42 -w /tmp: want \"42 /tmp\", got %s", r)
	}

	// stop / start / restart.
	e.MustBerth(t, "stop", "worker")
	ps = mustPs(t, e)
	if got := states(ps); len(ps) != 2 || got["worker"] != "" {
		t.Errorf("after stop worker, ps = %+v; want only web and db", ps)
	}
	if got := states(mustPs(t, e, "-a")); got["worker"] != "exited" || got["web"] != "running" || got["db"] != "running" {
		t.Errorf("after stop worker, ps -a states = %v; want worker exited, others running", got)
	}
	if r := e.MustBerth(t, "ps", "--status", "exited", "--services"); strings.TrimSpace(r.Stdout) != "worker" {
		t.Errorf("ps --status exited --services = %q, want worker", r.Stdout)
	}
	e.MustBerth(t, "start", "worker")
	if got := states(mustPs(t, e)); got["worker"] != "running" {
		t.Errorf("after start worker, states = %v", got)
	}
	e.MustBerth(t, "restart", "db")
	if got := states(mustPs(t, e)); got["db"] != "running" || len(got) != 3 {
		t.Errorf("after restart db, states = %v; want all 3 running", got)
	}
	Eventually(t, 10*time.Second, func() error {
		if n := count(serviceLines(t, e, "db"), "db-1"); n != 2 {
			return fmt.Errorf("db printed db-1 %d times, want 2 (a restart runs the command again)", n)
		}
		return nil
	})
	e.MustBerth(t, "stop")
	if ps := mustPs(t, e); len(ps) != 0 {
		t.Errorf("after stop, ps = %+v; want nothing running", ps)
	}
	e.MustBerth(t, "start")
	waitStates(t, e, 10*time.Second, map[string]string{"web": "running", "worker": "running", "db": "running"})

	// down: no container, mount, process or supervisor left.
	sup := supervisorPid(e, e.Project)
	if !procAlive(sup) || !strings.Contains(procCmdline(sup), "__supervise") {
		t.Errorf("supervisor pid %d (%q) is not a live supervisor while the project runs", sup, procCmdline(sup))
	}
	start := time.Now()
	e.MustBerth(t, "down")
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("down took %s: the services stop on SIGTERM", d)
	}
	// down returns when nothing of the project is left, supervisor
	// included (issue 12)
	if procAlive(sup) {
		t.Errorf("supervisor pid %d still alive when down returned", sup)
	}
	assertNothingLeft(t, e)
}

func sortedFields(s string) []string {
	f := strings.Fields(s)
	sort.Strings(f)
	return f
}

// inOrder checks that out has the wanted lines (each a whole line, runs of
// blanks counting as one, so prefix padding does not matter) in this order.
func inOrder(out string, want ...string) error {
	lines := strings.Split(out, "\n")
	i := 0
	for _, l := range lines {
		if i < len(want) && strings.Join(strings.Fields(l), " ") == strings.Join(strings.Fields(want[i]), " ") {
			i++
		}
	}
	if i < len(want) {
		return fmt.Errorf("output lacks %q (in order after %q):\n%s", want[i], want[:i], out)
	}
	return nil
}

// TestNamedVolumeSurvivesDown: data in a named volume outlives down + up,
// and goes with down -v.
func TestNamedVolumeSurvivesDown(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    volumes: [data:/data]
    command: ["sh", "-c", "if [ -f /data/marker ]; then echo found $$(cat /data/marker); else echo fresh; echo kept > /data/marker; fi"]
volumes:
  data: {}
`)
	code, out := oneShot(t, e, "app")
	if code != 0 || strings.TrimSpace(out) != "fresh" {
		t.Fatalf("first run: exit %d, output %q; want 0 and fresh", code, out)
	}
	e.MustBerth(t, "down")
	code, out = oneShot(t, e, "app")
	if code != 0 || strings.TrimSpace(out) != "found kept" {
		t.Errorf("after down + up: exit %d, output %q; want the volume's data (found kept)", code, out)
	}
	e.MustBerth(t, "down", "-v")
	if r := e.MustBerth(t, "volume", "ls", "-q"); strings.Contains(r.Stdout, e.Project+"_data") {
		t.Errorf("volume %s_data still listed after down -v:\n%s", e.Project, r.Stdout)
	}
	code, out = oneShot(t, e, "app")
	if code != 0 || strings.TrimSpace(out) != "fresh" {
		t.Errorf("after down -v + up: exit %d, output %q; want an empty volume (fresh)", code, out)
	}
}

// TestInitProcess: with init: true, berth's init is PID 1 and the command
// its child, so a TERM on stop ends a `sleep` that would ignore it as PID 1.
func TestInitProcess(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    init: true
    command: ["sh", "-c", "ps -o pid,ppid,args; echo ps-done; exec sleep 1000"]
`)
	e.MustBerth(t, "up", "-d")
	var lines []string
	Eventually(t, 15*time.Second, func() error {
		lines = serviceLines(t, e, "app")
		if count(lines, "ps-done") == 0 {
			return fmt.Errorf("no ps output yet: %q", lines)
		}
		return nil
	})
	var pid1, sh string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		switch {
		case f[0] == "1":
			pid1 = l
		case sh == "" && strings.Contains(l, "sh -c ps") && !strings.Contains(l, "{ps}"):
			sh = l // the shell, not its forked child running ps
		}
	}
	if pid1 == "" {
		t.Errorf("PID 1 is %q, want berth's init:\n%s", pid1, strings.Join(lines, "\n"))
	}
	if f := strings.Fields(sh); len(f) < 2 || f[0] == "1" || f[1] != "1" {
		t.Errorf("the command is %q, want a child of PID 1 (ppid 1, pid ≠ 1):\n%s", sh, strings.Join(lines, "\n"))
	}
	start := time.Now()
	e.MustBerth(t, "stop", "app")
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %s: init did not forward SIGTERM to the command", d)
	}
	if p := waitExited(t, e, "app", 5*time.Second); p.ExitCode == 137 {
		t.Errorf("app exit code %d: it was killed, not stopped by SIGTERM", p.ExitCode)
	}
}

// TestRunOneOff: run --rm passes the command's exit code and output back,
// and leaves no container.
func TestRunOneOff(t *testing.T) {
	e := NewEnv(t)
	e.WriteFile(t, "hostdir/file", "from-host\n")
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    depends_on: [dep]
    environment: {FROM_FILE: compose}
  dep:
    image: busybox
    network_mode: none
    command: `+longRunning("dep-up")+`
`)
	r := e.Berth(t, "run", "--rm", "--no-deps", "app", "sh", "-c", "exit 3")
	if r.Code != 3 {
		t.Errorf("run --rm app sh -c 'exit 3': want exit code 3, got %s", r)
	}
	r = e.Berth(t, "run", "--rm", "--no-deps", "-T", "-e", "EXTRA=cli", "-w", "/tmp", "app", "sh", "-c", `echo "$FROM_FILE $EXTRA $(pwd)"`)
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "compose cli /tmp" {
		t.Errorf("run --rm -e EXTRA=cli -w /tmp: want \"compose cli /tmp\", got %s", r)
	}
	r = e.Berth(t, "run", "--rm", "--no-deps", "-T", "-u", "1000", "app", "id", "-u")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "1000" {
		t.Errorf("run -u 1000 id -u: want 1000, got %s", r)
	}
	r = e.Berth(t, "run", "--rm", "--no-deps", "-T", "--entrypoint", "echo", "app", "via-entrypoint")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "via-entrypoint" {
		t.Errorf("run --entrypoint echo app via-entrypoint: got %s", r)
	}
	r = e.Berth(t, "run", "--rm", "--no-deps", "-T", "-v", "./hostdir:/mnt/host:ro", "app", "sh", "-c", "cat /mnt/host/file; touch /mnt/host/new")
	if r.Code == 0 || strings.TrimSpace(r.Stdout) != "from-host" {
		t.Errorf("run -v ./hostdir:/mnt/host:ro: want the file read and the write refused (non-zero), got %s", r)
	}
	r = e.BerthStdin(t, "piped-in\n", "run", "--rm", "--no-deps", "-T", "app", "cat")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "piped-in" {
		t.Errorf("run -T app cat with stdin: want piped-in, got %s", r)
	}
	if ps := mustPs(t, e, "-a"); len(ps) != 0 {
		t.Errorf("run --rm --no-deps left containers (or started dep): %+v", ps)
	}

	// Without --no-deps, run starts the dependencies first; they stay.
	r = e.Berth(t, "run", "--rm", "-T", "app", "true")
	if r.Code != 0 {
		t.Errorf("run --rm app true: %s", r)
	}
	if got := states(mustPs(t, e)); got["dep"] != "running" || len(got) != 1 {
		t.Errorf("after run app, ps states = %v; want dep running (and no one-off left)", got)
	}

	// -d runs in the background and prints the container's name.
	r = e.MustBerth(t, "run", "-d", "--no-deps", "app", "sh", "-c", "echo detached-ran")
	name := strings.TrimSpace(r.Stdout)
	if !strings.Contains(name, "app") {
		t.Errorf("run -d printed %q, want the one-off container's name", r.Stdout)
	}
	Eventually(t, 15*time.Second, func() error {
		ps := mustPs(t, e, "-a", "app")
		if len(ps) != 1 || ps[0].State != "exited" || (name != "" && ps[0].Name != name) {
			return fmt.Errorf("ps -a app = %+v, want the one-off %q exited", ps, name)
		}
		if got := serviceLines(t, e, "app"); strings.Join(got, ",") != "detached-ran" {
			return fmt.Errorf("logs of the detached one-off = %q, want detached-ran", got)
		}
		return nil
	})
	e.MustBerth(t, "down")
	assertNothingLeft(t, e)
}

// TestExecOptions: exec as another user, in the background, and in the
// chosen replica; a failing exec says why.
func TestExecOptions(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    scale: 2
    command: `+longRunning("up")+`
`)
	e.MustBerth(t, "up", "-d")
	if ps := mustPs(t, e); len(ps) != 2 {
		t.Fatalf("ps = %+v, want 2 replicas of app", ps)
	}
	host := func(index string) string {
		r := e.Berth(t, "exec", "-T", "--index", index, "app", "hostname")
		if r.Code != 0 {
			t.Fatalf("exec --index %s app hostname: %s", index, r)
		}
		return strings.TrimSpace(r.Stdout)
	}
	if h1, h2 := host("1"), host("2"); h1 == "" || h1 == h2 {
		t.Errorf("exec --index 1 and 2 ran in the same container (hostnames %q, %q)", h1, h2)
	}
	r := e.Berth(t, "exec", "-T", "-u", "1000", "app", "id", "-u")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "1000" {
		t.Errorf("exec -u 1000 id -u: %s", r)
	}
	r = e.BerthStdin(t, "to-exec\n", "exec", "-T", "app", "cat")
	if r.Code != 0 || strings.TrimSpace(r.Stdout) != "to-exec" {
		t.Errorf("exec -T app cat with stdin: %s", r)
	}
	e.MustBerth(t, "exec", "-d", "app", "sh", "-c", "sleep 0.2; echo bg > /tmp/bg")
	Eventually(t, 10*time.Second, func() error {
		r := e.Berth(t, "exec", "-T", "app", "cat", "/tmp/bg")
		if r.Code != 0 || strings.TrimSpace(r.Stdout) != "bg" {
			return fmt.Errorf("exec -d did not run: %s", r)
		}
		return nil
	})
	if r := e.Berth(t, "exec", "-T", "app", "/no/such/binary"); r.Code == 0 || !strings.Contains(r.Stderr, "/no/such/binary") {
		t.Errorf("exec of a missing binary: want a failure naming it, got %s", r)
	}
	if r := e.Berth(t, "exec", "-T", "nosuchservice", "true"); r.Code == 0 || !strings.Contains(r.Stderr, "nosuchservice") {
		t.Errorf("exec in an unknown service: want an error naming it, got %s", r)
	}
	e.MustBerth(t, "stop", "-t", "5")
	if r := e.Berth(t, "exec", "-T", "app", "true"); r.Code == 0 {
		t.Errorf("exec in a stopped service succeeded: %s", r)
	}
}

// TestUpExitCodeFrom: up --exit-code-from returns that service's code and
// stops the others.
func TestUpExitCodeFrom(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  job:
    image: busybox
    network_mode: none
    depends_on: [side]
    command: ["sh", "-c", "echo job-ran; sleep 0.5; exit 5"]
  side:
    image: busybox
    network_mode: none
    command: `+longRunning("side-up")+`
`)
	r := e.Berth(t, "up", "--exit-code-from", "job")
	if r.Code != 5 {
		t.Errorf("up --exit-code-from job: want exit code 5, got %s", r)
	}
	if err := inOrder(r.Stdout, "job-1 | job-ran"); err != nil {
		t.Errorf("attached up did not print job's line with its prefix: %v", err)
	}
	if ps := mustPs(t, e); len(ps) != 0 {
		t.Errorf("after up --exit-code-from, ps = %+v; want nothing running", ps)
	}
}

// TestUpAttachedInterrupt: the first SIGINT to an attached up stops the
// project gracefully.
func TestUpAttachedInterrupt(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  a:
    image: busybox
    network_mode: none
    command: `+longRunning("a-ready")+`
  b:
    image: busybox
    network_mode: none
    depends_on: [a]
    command: `+longRunning("b-ready")+`
`)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := e.Cmd(ctx, "up")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var seen []string
	ready := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for len(ready) < 2 {
		select {
		case l, ok := <-lines:
			if !ok {
				_ = cmd.Wait()
				t.Fatalf("up ended before both services were ready: %q\nstderr:\n%s", seen, stderr.String())
			}
			seen = append(seen, l)
			if strings.HasSuffix(l, "| a-ready") || strings.HasSuffix(l, "| b-ready") {
				ready[l] = true
			}
		case <-timeout:
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("no ready lines from up within 30s: %q\nstderr:\n%s", seen, stderr.String())
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for range lines { // drain until up closes its stdout
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("up did not end after SIGINT: %v\nstderr:\n%s", err, stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 && code != 130 {
		t.Errorf("up after SIGINT: exit code %d (%v), want 130 or 0\nstderr:\n%s", code, err, stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Errorf("up died of signal %v instead of stopping gracefully", ws.Signal())
	}
	if ps := mustPs(t, e); len(ps) != 0 {
		t.Errorf("after SIGINT, ps = %+v; want nothing running", ps)
	}
	if got := states(mustPs(t, e, "-a")); got["a"] != "exited" || got["b"] != "exited" {
		t.Errorf("after SIGINT, ps -a states = %v; want a and b exited", got)
	}
}
