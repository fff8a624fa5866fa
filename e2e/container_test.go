package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Scenarios of `berth container …`, Docker's container group: standalone
// containers made from flags run on the engine's path (rootfs, networks,
// ports, supervisor, logs) and sit beside compose projects' containers.

// containerEnv is an Env whose standalone containers named in names are
// force-removed when the test ends (before the leak check), so that a
// failing test leaves nothing either.
func containerEnv(t *testing.T, names ...string) *Env {
	t.Helper()
	e := netEnv(t)
	t.Cleanup(func() {
		for _, n := range names {
			e.run(context.Background(), nil, "container", "rm", "-f", n)
		}
	})
	return e
}

// psLine is the part of `container ls --format json` the tests read.
type psLine struct {
	ID, Names, Image, State, Status, Labels, Ports string
}

func containerLs(t *testing.T, e *Env, args ...string) map[string]psLine {
	t.Helper()
	r := e.MustBerth(t, append([]string{"container", "ls", "--format", "json"}, args...)...)
	out := map[string]psLine{}
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if line == "" {
			continue
		}
		var l psLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("container ls --format json: line %q: %v", line, err)
		}
		out[l.Names] = l
	}
	return out
}

// TestContainerRunDetachedServes: `container run -d -p 127.0.0.1:PORT:8080
// --name web httpecho` prints the ID, the server answers on the published
// port, `ls` shows it running with its port, `logs` has its output, and
// stop / start / rm do what Docker's do; rm leaves no bridge, netns or
// supervisor (the Env's leak check).
func TestContainerRunDetachedServes(t *testing.T) {
	const name = "web"
	e := containerEnv(t, name)
	port := netFreePort(t, "tcp")
	r := e.MustBerth(t, "container", "run", "-d", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), "--name", name,
		"-e", "GREETING=hello", "--hostname", "standalone1", "httpecho")
	id := strings.TrimSpace(r.Stdout)
	if len(id) != 64 {
		t.Fatalf("container run -d printed %q, want the 64-hex container ID", r.Stdout)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	netHostGet(t, url, "hostname: standalone1")
	netHostGet(t, url+"env", "GREETING=hello")

	ls := containerLs(t, e)
	c, ok := ls[name]
	if !ok || c.State != "running" || c.ID != id[:12] {
		t.Fatalf("container ls: %s not running with ID %s: %+v", name, id[:12], ls)
	}
	if !strings.Contains(c.Ports, fmt.Sprintf("127.0.0.1:%d->8080/tcp", port)) {
		t.Errorf("container ls: ports %q, want 127.0.0.1:%d->8080/tcp", c.Ports, port)
	}
	if !strings.Contains(c.Labels, "dev.berth.standalone=true") {
		t.Errorf("container ls: labels %q lack dev.berth.standalone=true", c.Labels)
	}
	r = e.MustBerth(t, "container", "port", name)
	if want := fmt.Sprintf("8080/tcp -> 127.0.0.1:%d", port); strings.TrimSpace(r.Stdout) != want {
		t.Errorf("container port: %q, want %q", r.Stdout, want)
	}
	r = e.MustBerth(t, "container", "logs", name)
	if !strings.Contains(r.Stdout, "httpecho listening") {
		t.Errorf("container logs: no server output:\n%s", r)
	}
	r = e.MustBerth(t, "container", "exec", name, "cat", "/etc/hostname")
	if strings.TrimSpace(r.Stdout) != "standalone1" {
		t.Errorf("container exec cat /etc/hostname: %q", r.Stdout)
	}
	r = e.MustBerth(t, "container", "inspect", "-f", "{{.State.Status}} {{.Name}}", name)
	if got := strings.TrimSpace(r.Stdout); got != "running /"+name {
		t.Errorf("container inspect: %q, want \"running /%s\"", got, name)
	}

	// rm without -f refuses a running container, naming it
	if r := e.Berth(t, "container", "rm", name); r.Code == 0 || !strings.Contains(r.Stderr, "stop the container") {
		t.Errorf("container rm of a running container: want an error telling to stop it:\n%s", r)
	}
	e.MustBerth(t, "container", "stop", "-t", "0", name)
	if ls := containerLs(t, e); len(ls) != 0 {
		t.Errorf("container ls after stop lists %v; want only running ones (none)", ls)
	}
	if c := containerLs(t, e, "-a")[name]; c.State != "exited" {
		t.Errorf("container ls -a after stop: %+v, want exited", c)
	}
	e.MustBerth(t, "container", "start", name)
	netHostGet(t, url, "hostname: standalone1")
	r = e.MustBerth(t, "container", "rm", "-f", name)
	if strings.TrimSpace(r.Stdout) != name {
		t.Errorf("container rm -f printed %q, want %q", r.Stdout, name)
	}
	if ls := containerLs(t, e, "-a"); len(ls) != 0 {
		t.Errorf("container ls -a after rm: %v", ls)
	}
	if _, err := netHTTP.Get(url); err == nil {
		t.Errorf("GET %s answered after rm -f", url)
	}
}

// TestContainerRunForegroundRm: a foreground run prints the command's
// output and returns its exit code; --rm leaves no container (nor its
// network or supervisor: the leak check); without --rm it stays exited,
// and `container prune -f` removes it.
func TestContainerRunForegroundRm(t *testing.T) {
	e := containerEnv(t, "fg-keep")
	envFile := e.WriteFile(t, "app.env", "# comment\nFROM_FILE=yes\n")
	r := e.Berth(t, "container", "run", "--rm", "--env-file", envFile, "-w", "/tmp", "busybox",
		"sh", "-c", "echo out:$FROM_FILE:$(pwd); exit 3")
	if r.Code != 3 || !strings.Contains(r.Stdout, "out:yes:/tmp") {
		t.Fatalf("container run --rm: want exit 3 and out:yes:/tmp:\n%s", r)
	}
	if ls := containerLs(t, e, "-a"); len(ls) != 0 {
		t.Errorf("container ls -a after run --rm: %v", ls)
	}
	r = e.MustBerth(t, "container", "run", "--name", "fg-keep", "-l", "e2e.keep=1", "busybox", "echo", "kept")
	if !strings.Contains(r.Stdout, "kept") {
		t.Errorf("container run: no output:\n%s", r)
	}
	if c := containerLs(t, e, "-a")["fg-keep"]; c.State != "exited" {
		t.Fatalf("container ls -a: fg-keep %+v, want exited", c)
	}
	r = e.MustBerth(t, "container", "logs", "--tail", "1", "fg-keep")
	if strings.TrimSpace(r.Stdout) != "kept" {
		t.Errorf("container logs --tail 1: %q, want kept", r.Stdout)
	}
	r = e.MustBerth(t, "container", "prune", "-f", "--filter", "label=e2e.keep=1")
	if !strings.Contains(r.Stdout, "Deleted Containers:") {
		t.Errorf("container prune: %s", r)
	}
	if ls := containerLs(t, e, "-a"); len(ls) != 0 {
		t.Errorf("container ls -a after prune: %v", ls)
	}
}

// TestContainerBesideCompose: a standalone container is listed beside a
// compose project's containers, compose's `ls` and `ps` do not count it,
// and `down` of the project leaves it running.
func TestContainerBesideCompose(t *testing.T) {
	e := containerEnv(t, "solo")
	e.Compose(t, "services:\n  app:\n    image: busybox\n    command: [\"sleep\", \"300\"]\n    init: true\n")
	e.MustBerth(t, "up", "-d")
	e.MustBerth(t, "container", "run", "-d", "--name", "solo", "--init", "--network", "none", "busybox", "sleep", "300")

	ls := containerLs(t, e)
	if ls["solo"].State != "running" || ls[e.Project+"-app-1"].State != "running" {
		t.Fatalf("container ls: want solo and %s-app-1 running: %+v", e.Project, ls)
	}
	if !strings.Contains(ls[e.Project+"-app-1"].Labels, "com.docker.compose.project="+e.Project) {
		t.Errorf("compose container's labels lack its project: %q", ls[e.Project+"-app-1"].Labels)
	}
	r := e.MustBerth(t, "ls", "-a", "-q")
	if got := strings.Fields(r.Stdout); len(got) != 1 || got[0] != e.Project {
		t.Errorf("berth ls -a -q: %q, want only %s", r.Stdout, e.Project)
	}
	r = e.MustBerth(t, "ps", "-a", "--format", "json")
	if strings.Contains(r.Stdout, "solo") {
		t.Errorf("berth ps lists the standalone container:\n%s", r.Stdout)
	}
	e.MustBerth(t, "down", "-t", "0")
	ls = containerLs(t, e, "-a")
	if len(ls) != 1 || ls["solo"].State != "running" {
		t.Errorf("after down: want only solo, running: %+v", ls)
	}
	r = e.MustBerth(t, "container", "exec", "solo", "ip", "-o", "link")
	if strings.Contains(r.Stdout, "eth0") {
		t.Errorf("--network none: the container has eth0:\n%s", r.Stdout)
	}
	e.MustBerth(t, "container", "rm", "-f", "solo")
}

// TestContainerBadFlags: a bad flag value is an error naming the flag, and
// nothing is created.
func TestContainerBadFlags(t *testing.T) {
	e := containerEnv(t)
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"-p", "notaport"}, "--publish"},
		{[]string{"--restart", "sometimes"}, "--restart"},
		{[]string{"-v", "/only-a-source:"}, "--volume"},
		{[]string{"--gpus", "count=zero"}, "--gpus"},
		{[]string{"--pull", "often"}, "--pull"},
		{[]string{"-e", "=x"}, "--env"},
	} {
		args := append(append([]string{"container", "run", "-d"}, c.args...), "busybox", "true")
		r := e.Berth(t, args...)
		if r.Code == 0 || !strings.Contains(r.Stderr, c.flag) {
			t.Errorf("berth %s: want an error naming %s:\n%s", strings.Join(args, " "), c.flag, r)
		}
	}
	if ls := containerLs(t, e, "-a"); len(ls) != 0 {
		t.Errorf("bad flags created containers: %v", ls)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.Root, "containers")); len(entries) != 0 {
		t.Errorf("bad flags left %d container dirs", len(entries))
	}
}
