package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/engine/events"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/layout"
	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/project"
)

// fakeContainer writes a container record, its state and a bundle.
func fakeContainer(t *testing.T, root string, rec engine.Container, st engine.ContainerState, spec *specs.Spec) {
	t.Helper()
	store := state.NewStore(layout.Layout{Root: root}.Containers())
	rec.Bundle = store.Dir(rec.ID)
	if rec.Labels == nil {
		rec.Labels = map[string]string{}
	}
	if err := store.Put(&rec); err != nil {
		t.Fatal(err)
	}
	if err := store.PutState(rec.ID, &st); err != nil {
		t.Fatal(err)
	}
	if spec != nil {
		b, _ := json.Marshal(spec)
		if err := os.WriteFile(filepath.Join(rec.Bundle, "config.json"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func id(c byte) string { return strings.Repeat(string(c), 64) }

func TestLs(t *testing.T) {
	root, _ := testutil.StateDirs(t)
	files := map[string]string{project.LabelConfigFiles: "/src/a/compose.yaml,/src/a/compose.override.yaml"}
	fakeContainer(t, root, engine.Container{ID: id('1'), Name: "alpha-web-1", Project: "alpha", Service: "web", Labels: files}, engine.ContainerState{Status: engine.StatusRunning, Pid: 1}, nil)
	fakeContainer(t, root, engine.Container{ID: id('2'), Name: "alpha-web-2", Project: "alpha", Service: "web", Labels: files}, engine.ContainerState{Status: engine.StatusRunning, Pid: 1}, nil)
	fakeContainer(t, root, engine.Container{ID: id('3'), Name: "alpha-job-1", Project: "alpha", Service: "job", Labels: files}, engine.ContainerState{Status: engine.StatusExited}, nil)
	fakeContainer(t, root, engine.Container{ID: id('4'), Name: "beta-db-1", Project: "beta", Service: "db", Labels: map[string]string{project.LabelConfigFiles: "/src/b/compose.yaml"}}, engine.ContainerState{Status: engine.StatusExited, ExitCode: 1}, nil)
	dir := t.TempDir()

	out, errs, code := berth(t, dir, "ls")
	want := "NAME    STATUS       CONFIG FILES\nalpha   running(2)   /src/a/compose.yaml,/src/a/compose.override.yaml\n"
	if code != 0 || out != want {
		t.Errorf("ls: code %d err %q\n got %q\nwant %q", code, errs, out, want)
	}
	out, _, _ = berth(t, dir, "ls", "-a", "--format", "json")
	var list []map[string]string
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("ls --format json: %v: %q", err, out)
	}
	if len(list) != 2 || list[0]["Name"] != "alpha" || list[0]["Status"] != "exited(1), running(2)" || list[1]["Status"] != "exited(1)" || list[1]["ConfigFiles"] != "/src/b/compose.yaml" {
		t.Errorf("ls -a json: %v", list)
	}
	out, _, _ = berth(t, dir, "ls", "-a", "-q", "--filter", "name=^be")
	if out != "beta\n" {
		t.Errorf("ls -q --filter: %q", out)
	}
	if _, errs, code = berth(t, dir, "ls", "--filter", "label=x"); code == 0 || !strings.Contains(errs, "name=") {
		t.Errorf("bad filter: code %d %q", code, errs)
	}
	out, _, _ = berth(t, t.TempDir(), "ls", "--format", "json", "--filter", "name=nothing")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("empty json: %q", out)
	}
}

func TestInspect(t *testing.T) {
	root, _ := testutil.StateDirs(t)
	started := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	volSrc := filepath.Join(root, "volumes", "p_data", "_data")
	spec := &specs.Spec{
		Hostname: "web-host",
		Process: &specs.Process{
			Args: []string{"/usr/bin/berth", "__init", "--", "httpd", "-f", "-p", "80"},
			Env:  []string{"PATH=/bin", "A=1"},
			Cwd:  "/srv",
			User: specs.User{UID: 1000, GID: 1000},
		},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/etc/hosts", Type: "bind", Source: "/x/hosts", Options: []string{"rbind", "ro"}},
			{Destination: "/data", Type: "bind", Source: volSrc, Options: []string{"rbind", "rprivate"}},
			{Destination: "/conf", Type: "bind", Source: "/src/conf", Options: []string{"rbind", "ro", "rprivate"}},
		},
	}
	cfg, _ := json.Marshal(map[string]any{"command": []string{"httpd", "-f", "-p", "80"}, "user": "app"})
	fakeContainer(t, root, engine.Container{
		ID: "abc123" + strings.Repeat("0", 58), Name: "p-web-1", Project: "p", Service: "web", Number: 1,
		Image: "busybox:1.36", ImageID: "sha256:feed", Created: started.Add(-time.Minute), Hostname: "web-host",
		Config: cfg, Restart: "on-failure:3",
		Ports:    []state.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
		Networks: []state.Attachment{{Network: "p_default", Key: "default", IP: "10.89.3.2", Prefix: 24, Gateway: "10.89.3.1", MAC: "02:42:0a:59:03:02", Aliases: []string{"web", "p-web-1"}}},
		Labels:   map[string]string{project.LabelProject: "p"},
		Health:   &state.HealthConfig{Test: []string{"CMD", "true"}, Interval: time.Second, Retries: 3},
	}, engine.ContainerState{Status: engine.StatusRunning, Pid: 4242, StartedAt: started, Health: "healthy", RestartCount: 2,
		HealthLog: []state.HealthResult{{Start: started, End: started.Add(time.Millisecond), ExitCode: 0, Output: "ok\n"}}}, spec)
	fakeContainer(t, root, engine.Container{ID: "abd" + strings.Repeat("0", 61), Name: "p-db-1", Project: "p", Service: "db"}, engine.ContainerState{Status: engine.StatusExited, ExitCode: 3}, nil)
	dir := t.TempDir()

	out, errs, code := berth(t, dir, "-p", "p", "inspect", "web")
	if code != 0 {
		t.Fatalf("inspect web: code %d %q", code, errs)
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect output: %v %q", err, out)
	}
	c := got[0]
	st := c["State"].(map[string]any)
	if c["Name"] != "/p-web-1" || c["Path"] != "httpd" || st["Status"] != "running" || st["Running"] != true || st["Pid"] != float64(4242) || c["RestartCount"] != float64(2) {
		t.Errorf("inspect: %v", c)
	}
	if h, _ := st["Health"].(map[string]any); h == nil || h["Status"] != "healthy" || len(h["Log"].([]any)) != 1 || h["Log"].([]any)[0].(map[string]any)["Output"] != "ok\n" {
		t.Errorf("health: %v", st["Health"])
	}
	config := c["Config"].(map[string]any)
	if hc, _ := config["Healthcheck"].(map[string]any); hc == nil || hc["Interval"] != float64(time.Second) || hc["Retries"] != float64(3) {
		t.Errorf("healthcheck: %v", config["Healthcheck"])
	}
	if config["User"] != "app" || config["WorkingDir"] != "/srv" || config["Image"] != "busybox:1.36" || config["Hostname"] != "web-host" {
		t.Errorf("config: %v", config)
	}
	hc := c["HostConfig"].(map[string]any)
	if rp := hc["RestartPolicy"].(map[string]any); rp["Name"] != "on-failure" || rp["MaximumRetryCount"] != float64(3) || hc["NetworkMode"] != "p_default" {
		t.Errorf("host config: %v", hc)
	}
	mounts := c["Mounts"].([]any)
	if len(mounts) != 2 {
		t.Fatalf("mounts (no /proc, no /etc/hosts): %v", mounts)
	}
	if m := mounts[0].(map[string]any); m["Destination"] != "/conf" || m["Type"] != "bind" || m["RW"] != false {
		t.Errorf("bind mount: %v", m)
	}
	if m := mounts[1].(map[string]any); m["Type"] != "volume" || m["Name"] != "p_data" || m["RW"] != true {
		t.Errorf("volume mount: %v", m)
	}
	nets := c["NetworkSettings"].(map[string]any)["Networks"].(map[string]any)
	if n := nets["p_default"].(map[string]any); n["IPAddress"] != "10.89.3.2" || n["IPPrefixLen"] != float64(24) || n["Gateway"] != "10.89.3.1" {
		t.Errorf("networks: %v", nets)
	}

	out, _, code = berth(t, dir, "-p", "p", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.Name}}", "abd", "p-web-1")
	if code != 0 || out != "exited 3 /p-db-1\nrunning 0 /p-web-1\n" {
		t.Errorf("inspect -f: code %d %q", code, out)
	}
	out, _, _ = berth(t, dir, "-p", "p", "inspect", "--format", `{{json .NetworkSettings.Ports}}`, "web")
	if strings.TrimSpace(out) != `{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}` {
		t.Errorf("ports: %q", out)
	}
	if _, errs, code = berth(t, dir, "-p", "p", "inspect", "ab"); code == 0 || !strings.Contains(errs, "ambiguous") {
		t.Errorf("ambiguous prefix: code %d %q", code, errs)
	}
	if _, errs, code = berth(t, dir, "-p", "p", "inspect", "nope"); code == 0 || !strings.Contains(errs, "no such service or container") {
		t.Errorf("unknown: code %d %q", code, errs)
	}
	out, _, _ = berth(t, dir, "-p", "p", "inspect", "-f", "{{.Name}}")
	if out != "/p-db-1\n/p-web-1\n" {
		t.Errorf("no args: the project's containers: %q", out)
	}
}

func TestEventsReplay(t *testing.T) {
	root, _ := testutil.StateDirs(t)
	log := events.New(root)
	now := time.Now()
	for i, e := range []engine.ProjectEvent{
		{Action: events.ActionCreate, ID: "c1", Name: "p-web-1", Project: "p", Service: "web", Attributes: map[string]string{"image": "busybox"}},
		{Action: events.ActionStart, ID: "c1", Name: "p-web-1", Project: "p", Service: "web", Attributes: map[string]string{"image": "busybox"}},
		{Action: events.ActionStart, ID: "c2", Name: "p-db-1", Project: "p", Service: "db"},
		{Action: events.ActionStart, ID: "c3", Name: "q-web-1", Project: "q", Service: "web"},
	} {
		e.Time = now.Add(time.Duration(i-10) * time.Second)
		if err := log.Emit(e); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	until := now.Format(time.RFC3339Nano)
	out, errs, code := berth(t, dir, "-p", "p", "events", "--json", "--since", "1m", "--until", until, "web")
	if code != 0 {
		t.Fatalf("events: code %d %q", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("events --json web: %q", out)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil || e["action"] != "start" || e["service"] != "web" || e["type"] != "container" || e["id"] != "c1" {
		t.Errorf("json event: %v %v", e, err)
	}
	if a, _ := e["attributes"].(map[string]any); a["name"] != "p-web-1" || a["image"] != "busybox" {
		t.Errorf("attributes: %v", e["attributes"])
	}
	out, _, _ = berth(t, dir, "-p", "p", "events", "--since", "1m", "--until", until)
	if n := strings.Count(out, "\n"); n != 3 || !strings.Contains(out, " container start c2 (name=p-db-1)\n") {
		t.Errorf("text events: %q", out)
	}
	if _, errs, code = berth(t, dir, "-p", "p", "events", "--since", "someday"); code == 0 || !strings.Contains(errs, "--since") {
		t.Errorf("bad --since: code %d %q", code, errs)
	}
}

func TestStatsPrinter(t *testing.T) {
	var b strings.Builder
	p, err := newStatsPrinter(&b, "table", false)
	if err != nil {
		t.Fatal(err)
	}
	p.print([]engine.ContainerStats{{ID: id('a'), Name: "p-web-1", CPUPercent: 12.345, MemUsage: 1536 << 10, MemLimit: 2 << 30, MemPercent: 0.073, NetRx: 1200, NetTx: 0, BlockRead: 4096, BlockWrite: 2_500_000, Pids: 3}})
	want := "CONTAINER ID   NAME      CPU %    MEM USAGE / LIMIT   MEM %   NET I/O      BLOCK I/O       PIDS\n" +
		"aaaaaaaaaaaa   p-web-1   12.35%   1.5MiB / 2GiB       0.07%   1.2kB / 0B   4.1kB / 2.5MB   3\n"
	if b.String() != want {
		t.Errorf("table:\n got %q\nwant %q", b.String(), want)
	}
	b.Reset()
	p, _ = newStatsPrinter(&b, "json", false)
	p.print([]engine.ContainerStats{{ID: id('a'), Name: "p-web-1", Pids: 1}})
	var m map[string]string
	if err := json.Unmarshal([]byte(b.String()), &m); err != nil || m["ID"] != "aaaaaaaaaaaa" || m["PIDs"] != "1" || m["MemUsage"] != "0B / 0B" {
		t.Errorf("json: %q %v", b.String(), err)
	}
	b.Reset()
	p, _ = newStatsPrinter(&b, "{{.Name}}: {{.CPUPerc}}", false)
	p.print([]engine.ContainerStats{{Name: "x", CPUPercent: 1}})
	if b.String() != "x: 1.00%\n" {
		t.Errorf("template: %q", b.String())
	}
}

func TestStatsNoStreamEmpty(t *testing.T) {
	testutil.StateDirs(t)
	out, errs, code := berth(t, t.TempDir(), "-p", "empty", "stats", "--no-stream")
	if code != 0 || !strings.HasPrefix(out, "CONTAINER ID") || strings.Count(out, "\n") != 1 {
		t.Errorf("stats --no-stream with nothing running: code %d out %q err %q", code, out, errs)
	}
}
