package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// Scenarios of convergence on re-`up` (issue 7, point 3), scale (point 4)
// and configs/secrets (point 7): what `up` keeps, recreates and removes.

// lcConvergeProject is web → db (plain depends_on), side sharing db's
// network namespace (db is on the default network: a container without a
// network of its own has no namespace to share), and an independent
// worker. GREETING_<SVC> vars set
// each service's GREETING.
func lcConvergeProject(db, worker string) string {
	return `services:
  db:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    environment:
      GREETING: ` + db + `
  side:
    image: busybox
    network_mode: service:db
    init: true
    command: ["sleep", "1000"]
  web:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    depends_on: [db]
  worker:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    environment:
      GREETING: ` + worker + `
`
}

// lcName is the container name of replica n of svc.
func lcName(e *Env, svc string, n int) string {
	return fmt.Sprintf("%s-%s-%d", e.Project, svc, n)
}

// lcGreeting is $GREETING inside svc's container.
func lcGreeting(t *testing.T, e *Env, svc string) string {
	t.Helper()
	r := e.Berth(t, "exec", "-T", svc, "sh", "-c", "echo $GREETING")
	if r.Code != 0 {
		t.Fatalf("exec %s echo $GREETING: %s", svc, r)
	}
	return strings.TrimSpace(r.Stdout)
}

// lcSameIDs fails for every container in want whose ID in got differs
// (or is missing), except the names listed in changed, which must differ.
func lcSameIDs(t *testing.T, what string, before, after map[string]string, changed ...string) {
	t.Helper()
	ch := map[string]bool{}
	for _, c := range changed {
		ch[c] = true
	}
	for name, id := range before {
		switch {
		case after[name] == "":
			t.Errorf("%s: container %s is gone (was %s)", what, name, lcShort(id))
		case ch[name] && after[name] == id:
			t.Errorf("%s: %s kept its ID %s, want it recreated", what, name, lcShort(id))
		case !ch[name] && after[name] != id:
			t.Errorf("%s: %s was recreated (%s → %s), want it kept", what, name, lcShort(id), lcShort(after[name]))
		}
	}
}

// TestConvergeNothingChanged: re-`up -d` with nothing changed keeps every
// container (same IDs) and says so; `--dry-run` says so too; a stopped
// container is started again, not recreated.
func TestConvergeNothingChanged(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, lcConvergeProject("db-a", "worker-a"))
	e.MustBerth(t, "up", "-d")
	ids := lcIDs(t, e)
	if len(ids) != 4 {
		t.Fatalf("after up -d, ps -a = %v; want 4 containers", ids)
	}

	r := e.MustBerth(t, "up", "-d")
	lcSameIDs(t, "re-up -d", ids, lcIDs(t, e))
	if !strings.Contains(strings.ToLower(r.Stdout+r.Stderr), "nothing to do") {
		t.Errorf("re-up -d with nothing changed does not say so (want \"Nothing to do\"):\n%s", r)
	}
	if strings.Contains(r.Stderr, "Recreate") || strings.Contains(r.Stderr, "Creating") || strings.Contains(r.Stderr, "Starting") {
		t.Errorf("re-up -d with nothing changed did work:\n%s", r.Stderr)
	}
	r = e.MustBerth(t, "up", "--dry-run")
	if !strings.Contains(strings.ToLower(r.Stdout), "nothing to do") || strings.Contains(r.Stdout, "recreate") || strings.Contains(r.Stdout, "create ") {
		t.Errorf("up --dry-run with nothing changed: want \"nothing to do\" and no step:\n%s", r)
	}

	// A stopped container is started again with its ID.
	e.MustBerth(t, "stop", "worker")
	r = e.MustBerth(t, "up", "-d")
	lcSameIDs(t, "up -d after stop worker", ids, lcIDs(t, e))
	if got := states(mustPs(t, e)); got["worker"] != "running" {
		t.Errorf("after up -d, worker is %q, want running again:\n%s", got["worker"], r)
	}
}

// TestConvergeEnvChange: `--dry-run` names the changed field and changes
// nothing; then `up -d` recreates only the changed service (and, as
// Compose, the service sharing its network namespace), keeping the
// others' containers.
func TestConvergeEnvChange(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, lcConvergeProject("db-a", "worker-a"))
	e.MustBerth(t, "up", "-d")
	ids := lcIDs(t, e)

	// worker's environment changes.
	e.Compose(t, lcConvergeProject("db-a", "worker-b"))
	r := e.MustBerth(t, "up", "--dry-run")
	want := "recreate " + lcName(e, "worker", 1)
	if !strings.Contains(r.Stdout, want) || !strings.Contains(r.Stdout, "environment") {
		t.Errorf("up --dry-run: want a line %q naming the field environment:\n%s", want, r)
	}
	for _, l := range nonEmptyLines(r.Stdout) {
		if strings.HasPrefix(l, "recreate") && !strings.Contains(l, "-worker-1") {
			t.Errorf("up --dry-run plans to recreate more than worker: %q", l)
		}
	}
	lcSameIDs(t, "up --dry-run", ids, lcIDs(t, e))
	if g := lcGreeting(t, e, "worker"); g != "worker-a" {
		t.Errorf("after --dry-run, worker's GREETING = %q, want still worker-a", g)
	}

	e.MustBerth(t, "up", "-d")
	after := lcIDs(t, e)
	lcSameIDs(t, "up -d after worker's env changed", ids, after, lcName(e, "worker", 1))
	if g := lcGreeting(t, e, "worker"); g != "worker-b" {
		t.Errorf("after up -d, worker's GREETING = %q, want worker-b", g)
	}
	if got := states(mustPs(t, e)); len(got) != 4 {
		t.Errorf("after up -d, running: %v; want 4 services", got)
	}

	// db's environment changes: db is recreated, and side (which lives in
	// db's network namespace) with it; web (plain depends_on) and worker
	// keep their containers.
	ids = after
	e.Compose(t, lcConvergeProject("db-b", "worker-b"))
	r = e.MustBerth(t, "up", "--dry-run")
	if !strings.Contains(r.Stdout, "recreate "+lcName(e, "db", 1)) || !strings.Contains(r.Stdout, "environment") {
		t.Errorf("up --dry-run: want db recreated for environment:\n%s", r)
	}
	r = e.MustBerth(t, "up", "-d")
	after = lcIDs(t, e)
	lcSameIDs(t, "up -d after db's env changed", ids, after, lcName(e, "db", 1), lcName(e, "side", 1))
	if g := lcGreeting(t, e, "db"); g != "db-b" {
		t.Errorf("after up -d, db's GREETING = %q, want db-b", g)
	}
	if got := states(mustPs(t, e)); got["side"] != "running" || got["web"] != "running" || got["db"] != "running" {
		t.Errorf("after db's recreation, states %v; want db, side and web running:\n%s", got, r)
	}

	// --force-recreate recreates all; --no-recreate none even when changed.
	ids = after
	e.MustBerth(t, "up", "-d", "--force-recreate")
	after = lcIDs(t, e)
	var all []string
	for n := range ids {
		all = append(all, n)
	}
	lcSameIDs(t, "up -d --force-recreate", ids, after, all...)
	ids = after
	e.Compose(t, lcConvergeProject("db-c", "worker-c"))
	e.MustBerth(t, "up", "-d", "--no-recreate")
	lcSameIDs(t, "up -d --no-recreate", ids, lcIDs(t, e))
	if g := lcGreeting(t, e, "worker"); g != "worker-b" {
		t.Errorf("after up --no-recreate, worker's GREETING = %q, want still worker-b", g)
	}
}

// TestConvergeOrphans: a service removed from the file leaves an orphan:
// `up -d` warns naming it and keeps it; `up -d --remove-orphans` removes
// it and keeps the rest.
func TestConvergeOrphans(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, lcConvergeProject("db-a", "worker-a"))
	e.MustBerth(t, "up", "-d")
	ids := lcIDs(t, e)
	orphan := lcName(e, "worker", 1)

	// worker leaves the file.
	full := lcConvergeProject("db-a", "worker-a")
	e.Compose(t, full[:strings.Index(full, "  worker:\n")])
	r := e.MustBerth(t, "up", "--dry-run")
	if !strings.Contains(r.Stdout, orphan) {
		t.Errorf("up --dry-run does not name the orphan %s:\n%s", orphan, r)
	}
	r = e.MustBerth(t, "up", "-d")
	// (The project's name has "orphans" in it: look past it.)
	if !strings.Contains(r.Stderr, orphan) || !strings.Contains(strings.ToLower(strings.ReplaceAll(r.Stderr, e.Project, "")), "orphan") {
		t.Errorf("up -d does not warn of the orphan %s:\n%s", orphan, r)
	}
	lcSameIDs(t, "up -d with an orphan", ids, lcIDs(t, e))
	if c, err := lcInspectOne(t, e, orphan); err != nil || !c.State.Running {
		t.Errorf("the orphan %s should be kept running without --remove-orphans: %+v %v", orphan, c.State, err)
	}

	r = e.MustBerth(t, "up", "-d", "--remove-orphans")
	after := lcIDs(t, e)
	if _, ok := after[orphan]; ok {
		t.Errorf("up -d --remove-orphans left %s:\n%s", orphan, r)
	}
	delete(ids, orphan)
	lcSameIDs(t, "up -d --remove-orphans", ids, after)
	if r := e.Berth(t, "inspect", orphan); r.Code == 0 {
		t.Errorf("inspect %s after --remove-orphans succeeded: %s", orphan, r)
	}
	if r := e.MustBerth(t, "up", "-d"); strings.Contains(strings.ToLower(strings.ReplaceAll(r.Stderr, e.Project, "")), "orphan") {
		t.Errorf("up -d after --remove-orphans still warns of orphans:\n%s", r.Stderr)
	}
}

// lcServiceNames lists the container names of svc in `ps` (running).
func lcServiceNames(t *testing.T, e *Env, svc string) []string {
	t.Helper()
	var out []string
	for _, p := range mustPs(t, e, svc) {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return out
}

// TestConvergeScale: `berth scale web=3` then `web=1`: replicas are named
// <project>-web-1..3, -1 keeps its container throughout, the highest
// numbers go first, and the service name in DNS follows (3 addresses, then
// 1). TestDNSScaleRotation covers `up --scale` and rotation.
func TestConvergeScale(t *testing.T) {
	e := netEnv(t)
	e.Compose(t, `services:
  web:
`+netSleeper+`  client:
`+netSleeper)
	e.MustBerth(t, "up", "-d")
	web1 := lcName(e, "web", 1)
	ids := lcIDs(t, e)
	if got := lcServiceNames(t, e, "web"); strings.Join(got, " ") != web1 {
		t.Fatalf("web's containers %q, want [%s]", got, web1)
	}

	e.MustBerth(t, "scale", "web=3")
	want := []string{web1, lcName(e, "web", 2), lcName(e, "web", 3)}
	if got := lcServiceNames(t, e, "web"); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after scale web=3, web's containers %q, want %q", got, want)
	}
	lcSameIDs(t, "scale web=3", ids, lcIDs(t, e))
	Eventually(t, 20*time.Second, func() error {
		if got, r := lookup(t, e, "client", "web"); len(got) != 3 {
			return fmt.Errorf("nslookup web from client: %q, want 3 addresses\n%s", got, r)
		}
		return nil
	})

	e.MustBerth(t, "scale", "web=1")
	if got := lcServiceNames(t, e, "web"); strings.Join(got, " ") != web1 {
		t.Errorf("after scale web=1, web's containers %q, want only %s", got, web1)
	}
	if all := lcIDs(t, e); len(all) != 2 {
		t.Errorf("after scale web=1, ps -a = %v; want web-1 and client only (the others removed)", all)
	}
	lcSameIDs(t, "scale web=1", ids, lcIDs(t, e))
	ip := netContainerIP(t, e, "web", "eth0").IP.String()
	waitLookup(t, e, "client", "web", []string{ip})

	// Up again, 2 replicas from --scale: the lowest free number, -2.
	e.MustBerth(t, "up", "-d", "--scale", "web=2")
	if got := lcServiceNames(t, e, "web"); strings.Join(got, " ") != web1+" "+lcName(e, "web", 2) {
		t.Errorf("after up --scale web=2, web's containers %q, want -1 and -2", got)
	}
	lcSameIDs(t, "up --scale web=2", ids, lcIDs(t, e))
}

// TestConvergeReplicasFromFile: deploy.replicas and scale: set the count;
// container_name with more than one replica is an error.
func TestConvergeReplicasFromFile(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  a:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    deploy:
      replicas: 2
  b:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    scale: 3
`)
	e.MustBerth(t, "up", "-d")
	if got := lcServiceNames(t, e, "a"); strings.Join(got, " ") != lcName(e, "a", 1)+" "+lcName(e, "a", 2) {
		t.Errorf("deploy.replicas: 2 gave %q", got)
	}
	if got := lcServiceNames(t, e, "b"); len(got) != 3 || got[2] != lcName(e, "b", 3) {
		t.Errorf("scale: 3 gave %q", got)
	}
	e.MustBerth(t, "down", "-t", "0")

	e.Compose(t, `services:
  a:
    image: busybox
    network_mode: none
    container_name: fixed-`+e.Project+`
    command: ["sleep", "1000"]
    deploy:
      replicas: 2
`)
	r := e.Berth(t, "up", "-d")
	if r.Code == 0 || !strings.Contains(r.Stderr, "container_name") {
		t.Errorf("up -d of 2 replicas with container_name: want a failure naming container_name, got %s", r)
	}
	if !strings.Contains(r.Stderr, `"a"`) {
		t.Errorf("the error does not name service a:\n%s", r.Stderr)
	}
	// (The bad file fails every command: back to one replica to look.)
	e.Compose(t, `services:
  a:
    image: busybox
    network_mode: none
    command: ["sleep", "1000"]
`)
	if ps := mustPs(t, e, "-a"); len(ps) != 0 {
		t.Errorf("the failed up left containers: %+v", ps)
	}
}

// TestConvergeSecretsConfigs: a secret from a file is at
// /run/secrets/<name>, read-only, with the mode and uid given; a config
// from content: is at its target; changing the secret file's content makes
// re-`up` recreate the service (and only it).
func TestConvergeSecretsConfigs(t *testing.T) {
	e := NewEnv(t)
	e.WriteFile(t, "secret.txt", "s3cret-one\n")
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    secrets:
      - source: token
        mode: 0400
        uid: "1000"
        gid: "1001"
    configs:
      - source: appconf
        target: /etc/app.conf
  other:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
secrets:
  token:
    file: ./secret.txt
configs:
  appconf:
    content: |
      listen=8080
`)
	e.MustBerth(t, "up", "-d")
	exec := func(cmd string) Result {
		t.Helper()
		return e.Berth(t, "exec", "-T", "app", "sh", "-c", cmd)
	}
	if r := exec("cat /run/secrets/token"); r.Code != 0 || strings.TrimSpace(r.Stdout) != "s3cret-one" {
		t.Errorf("cat /run/secrets/token: want s3cret-one, got %s", r)
	}
	if r := exec("stat -c '%a %u %g' /run/secrets/token"); r.Code != 0 || strings.TrimSpace(r.Stdout) != "400 1000 1001" {
		t.Errorf("stat /run/secrets/token: want \"400 1000 1001\" (mode 0400, uid 1000, gid 1001), got %s", r)
	}
	if r := exec("echo x > /run/secrets/token"); r.Code == 0 {
		t.Errorf("writing /run/secrets/token succeeded: want it read-only")
	}
	if r := exec("cat /etc/app.conf"); r.Code != 0 || strings.TrimSpace(r.Stdout) != "listen=8080" {
		t.Errorf("cat /etc/app.conf: want listen=8080, got %s", r)
	}
	if r := exec("stat -c '%a %u' /etc/app.conf"); r.Code != 0 || strings.TrimSpace(r.Stdout) != "444 0" {
		t.Errorf("stat /etc/app.conf: want \"444 0\" (Compose's default), got %s", r)
	}
	if r := exec("echo x >> /etc/app.conf"); r.Code == 0 {
		t.Errorf("writing /etc/app.conf succeeded: want it read-only")
	}

	ids := lcIDs(t, e)
	if r := e.MustBerth(t, "up", "-d"); !strings.Contains(strings.ToLower(r.Stderr), "nothing to do") {
		t.Errorf("re-up with nothing changed: want \"Nothing to do\":\n%s", r.Stderr)
	}
	lcSameIDs(t, "re-up", ids, lcIDs(t, e))

	if err := os.WriteFile(filepath.Join(e.Dir, "secret.txt"), []byte("s3cret-two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.MustBerth(t, "up", "--dry-run")
	if !strings.Contains(r.Stdout, "recreate "+lcName(e, "app", 1)) {
		t.Errorf("up --dry-run after the secret file changed: want app recreated:\n%s", r)
	}
	e.MustBerth(t, "up", "-d")
	lcSameIDs(t, "up -d after the secret file changed", ids, lcIDs(t, e), lcName(e, "app", 1))
	if r := exec("cat /run/secrets/token"); strings.TrimSpace(r.Stdout) != "s3cret-two" {
		t.Errorf("after re-up, /run/secrets/token: want s3cret-two, got %s", r)
	}
}

// BenchmarkReUpUnchanged50: `up -d` of a 50-service project that is
// already up and unchanged (issue 7: it should do no work).
func BenchmarkReUpUnchanged50(b *testing.B) {
	e := newBenchEnv(b, servicesCompose(50, false))
	e.berth(b, "up", "-d")
	var ds []time.Duration
	b.ResetTimer()
	for b.Loop() {
		ds = append(ds, e.berth(b, "up", "-d"))
	}
	b.ReportMetric(median(ds), "ms-reup")
}

// BenchmarkHealthyChain10: `up -d --wait` of ten services each depending
// on the one before being healthy (a healthcheck that passes at once,
// probed every 100ms while starting), then down.
func BenchmarkHealthyChain10(b *testing.B) {
	var c strings.Builder
	c.WriteString("services:\n")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&c, `  s%d:
    image: busybox
    network_mode: none
    init: true
    command: ["sleep", "1000"]
    healthcheck:
      test: ["CMD", "true"]
      interval: 10s
      start_period: 30s
      start_interval: 100ms
`, i)
		if i > 0 {
			fmt.Fprintf(&c, "    depends_on:\n      s%d:\n        condition: service_healthy\n", i-1)
		}
	}
	e := newBenchEnv(b, c.String())
	e.berth(b, "up", "-d", "--wait")
	e.berth(b, "down", "-t", "0")
	var ds []time.Duration
	b.ResetTimer()
	for b.Loop() {
		ds = append(ds, e.berth(b, "up", "-d", "--wait"))
		b.StopTimer()
		e.berth(b, "down", "-t", "0")
		b.StartTimer()
	}
	b.ReportMetric(median(ds), "ms-healthy")
}
