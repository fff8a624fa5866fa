package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
	labels := e.WriteFile(t, "labels", "# comment\ne2e.keep=1\ne2e.from=file\n")
	cid := filepath.Join(e.Dir, "cid")
	r = e.MustBerth(t, "container", "run", "--name", "fg-keep", "--label-file", labels, "-l", "e2e.from=flag", "--cidfile", cid, "busybox", "echo", "kept")
	if b, err := os.ReadFile(cid); err != nil || len(b) != 64 {
		t.Errorf("--cidfile: %q, %v; want the 64-hex ID", b, err)
	}
	if c := containerLs(t, e, "-a")["fg-keep"]; !strings.Contains(c.Labels, "e2e.from=flag") || !strings.Contains(c.Labels, "e2e.keep=1") {
		t.Errorf("--label-file then -l: labels %q, want e2e.keep=1 and e2e.from=flag", c.Labels)
	}
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
	r := e.MustBerth(t, "container", "ls")
	if lines := strings.Split(strings.TrimSpace(r.Stdout), "\n"); len(lines) != 3 ||
		strings.Join(strings.Fields(lines[0]), " ") != "CONTAINER ID IMAGE COMMAND CREATED STATUS PORTS NAMES" ||
		!strings.Contains(r.Stdout, `"sleep 300"`) || !strings.Contains(r.Stdout, " Up ") {
		t.Errorf("container ls: want Docker's table with both containers:\n%s", r.Stdout)
	}
	r = e.MustBerth(t, "container", "ls", "--format", "{{.Names}}:{{.State}}", "--filter", "name=solo")
	if strings.TrimSpace(r.Stdout) != "solo:running" {
		t.Errorf("container ls --format {{.Names}}:{{.State}}: %q", r.Stdout)
	}
	r = e.MustBerth(t, "ls", "-a", "-q")
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
		{[]string{"-m", "lots"}, "--memory"},
		{[]string{"--ulimit", "nofile"}, "--ulimit"},
		{[]string{"--mount", "type=bind,target=/x"}, "--mount"},
		{[]string{"--platform", "amd64"}, "--platform"},
		{[]string{"--ip", "10.218.0.300"}, "--ip"},
		{[]string{"--add-host", "nohost"}, "--add-host"},
		{[]string{"--health-interval", "soon"}, "--health-interval"},
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

// TestContainerRunFlags: docker run's flags reach the container: bind and
// named volumes (:ro), --read-only, -u, --entrypoint, --cap-drop,
// --privileged, --restart and --network NAME (a berth network); a named
// volume outlives the container under its own name.
func TestContainerRunFlags(t *testing.T) {
	e := containerEnv(t, "flaky", "onnet")
	net := "cnet-" + e.Project[len(e.Project)-6:]
	t.Cleanup(func() {
		e.run(context.Background(), nil, "volume", "rm", "cvol1")
		e.run(context.Background(), nil, "network", "rm", net)
	})
	dir := filepath.Dir(e.WriteFile(t, "bind/hello.txt", "from-host\n"))
	run := func(args ...string) string {
		t.Helper()
		return e.MustBerth(t, append([]string{"container", "run", "--rm"}, args...)...).Stdout
	}
	out := run("-v", dir+":/data:ro", "busybox", "sh", "-c", "cat /data/hello.txt; touch /data/x 2>/dev/null || echo ro-bind")
	if !strings.Contains(out, "from-host") || !strings.Contains(out, "ro-bind") {
		t.Errorf("-v DIR:/data:ro: %q, want from-host and a refused write", out)
	}
	out = run("--read-only", "-u", "1234:5678", "--entrypoint", "sh", "busybox", "-c", "id -u; id -g; touch /x 2>/dev/null || echo ro-root")
	if f := strings.Fields(out); len(f) != 3 || f[0] != "1234" || f[1] != "5678" || f[2] != "ro-root" {
		t.Errorf("--read-only -u 1234:5678 --entrypoint sh: %q, want 1234 5678 ro-root", out)
	}
	out = run("--mount", "type=bind,source="+dir+",target=/m,readonly", "--mount", "type=tmpfs,target=/t", "busybox", "sh", "-c", "cat /m/hello.txt; touch /m/x 2>/dev/null || echo ro-mount; grep ' /t ' /proc/mounts")
	if !strings.Contains(out, "from-host") || !strings.Contains(out, "ro-mount") || !strings.Contains(out, "tmpfs") {
		t.Errorf("--mount bind readonly + tmpfs: %q", out)
	}
	out = run("--cap-drop", "ALL", "busybox", "grep", "CapEff", "/proc/self/status")
	if !strings.Contains(out, "0000000000000000") {
		t.Errorf("--cap-drop ALL: %q", out)
	}
	out = run("--privileged", "busybox", "grep", "CapEff", "/proc/self/status")
	if strings.Contains(out, "0000000000000000") || !strings.Contains(out, "CapEff") {
		t.Errorf("--privileged: %q", out)
	}
	run("-v", "cvol1:/vol", "busybox", "sh", "-c", "echo kept > /vol/f")
	if out = run("-v", "cvol1:/vol:ro", "busybox", "cat", "/vol/f"); strings.TrimSpace(out) != "kept" {
		t.Errorf("named volume: second container reads %q, want kept", out)
	}
	if r := e.MustBerth(t, "volume", "ls", "-q"); !strings.Contains(r.Stdout, "cvol1") {
		t.Errorf("volume ls: no cvol1:\n%s", r.Stdout)
	}

	// --restart: the supervisor runs it again after it fails
	e.MustBerth(t, "container", "run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo attempt; exit 1")
	Eventually(t, 30*time.Second, func() error {
		r := e.MustBerth(t, "container", "logs", "flaky")
		if n := strings.Count(r.Stdout, "attempt"); n != 3 {
			return fmt.Errorf("logs show %d attempts, want 3 (1 + 2 restarts):\n%s", n, r.Stdout)
		}
		if c := containerLs(t, e, "-a")["flaky"]; c.State != "exited" {
			return fmt.Errorf("flaky is %s, want exited", c.State)
		}
		return nil
	})

	// --network NAME joins a berth network
	e.MustBerth(t, "network", "create", "--subnet", "10.218.41.0/24", net)
	e.MustBerth(t, "container", "run", "-d", "--name", "onnet", "--init", "--network", net, "--ip", "10.218.41.77", "busybox", "sleep", "300")
	r := e.MustBerth(t, "container", "exec", "onnet", "ip", "-4", "-o", "addr", "show", "eth0")
	if !strings.Contains(r.Stdout, "10.218.41.77/") {
		t.Errorf("--network %s --ip 10.218.41.77: eth0 has not that address:\n%s", net, r.Stdout)
	}
	// names resolve across containers of the network, as Docker's DNS: a
	// second standalone container and a compose project's service
	e.MustBerth(t, "container", "run", "-d", "--name", "onnet2", "--init", "--network", net, "busybox", "sleep", "300")
	t.Cleanup(func() { e.run(context.Background(), nil, "container", "rm", "-f", "onnet2") })
	e.MustBerth(t, "container", "exec", "onnet2", "ping", "-c1", "-W2", "onnet")
	e.Compose(t, fmt.Sprintf("services:\n  peer:\n    image: busybox\n    command: [sleep, \"300\"]\n    init: true\n    networks: [shared]\nnetworks:\n  shared:\n    name: %s\n    external: true\n", net))
	e.MustBerth(t, "up", "-d")
	e.MustBerth(t, "exec", "-T", "peer", "ping", "-c1", "-W2", "onnet")
	e.MustBerth(t, "container", "exec", "onnet", "ping", "-c1", "-W2", "peer")
	e.MustBerth(t, "down", "-t", "0")
	e.MustBerth(t, "container", "rm", "-f", "onnet", "onnet2")
	if r := e.Berth(t, "network", "rm", net); r.Code != 0 {
		t.Errorf("network rm %s after the container's rm: %s", net, r)
	}
}

// TestContainerGpusNoGPU: --gpus on a host without a GPU fails before
// anything is created, with the GPU named; --gpus' value is checked.
func TestContainerGpusNoGPU(t *testing.T) {
	e := containerEnv(t, "gpu")
	if _, err := os.Stat("/dev/nvidiactl"); err == nil {
		t.Skip("this host has an NVIDIA GPU")
	}
	for _, v := range []string{"all", "1", "device=0,1"} {
		r := e.Berth(t, "container", "run", "-d", "--name", "gpu", "--gpus", v, "busybox", "true")
		if r.Code == 0 || !strings.Contains(r.Stderr, "GPU") {
			t.Errorf("--gpus %s on a GPU-less host: want an error naming the GPU:\n%s", v, r)
		}
	}
	if ls := containerLs(t, e, "-a"); len(ls) != 0 {
		t.Errorf("--gpus created containers: %v", ls)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.Root, "networks")); len(entries) != 0 {
		t.Errorf("--gpus on a GPU-less host left %d network records", len(entries))
	}
}

// TestContainerDetachedRmAndCreate: `run -d --rm` is removed (its netns
// and supervisor too: the leak check; the default bridge stays) once its
// command exits; `create` makes
// a container that `start` runs.
func TestContainerDetachedRmAndCreate(t *testing.T) {
	e := containerEnv(t, "gone", "made")
	e.MustBerth(t, "container", "run", "-d", "--rm", "--name", "gone", "busybox", "sleep", "1")
	if c := containerLs(t, e, "-a")["gone"]; c.Names != "gone" {
		t.Fatalf("container ls -a right after run -d --rm: no gone")
	}
	Eventually(t, 30*time.Second, func() error {
		if ls := containerLs(t, e, "-a"); len(ls) != 0 {
			return fmt.Errorf("run -d --rm: still listed after its command exited: %v", ls)
		}
		// the default bridge stays, as docker0 (the Env's cleanup prunes it)
		entries, _ := os.ReadDir(filepath.Join(e.Root, "networks"))
		for _, en := range entries {
			if en.Name() != "bridge.json" {
				return fmt.Errorf("run -d --rm: network record %s left", en.Name())
			}
		}
		return projectLocksLeft(e)
	})

	r := e.MustBerth(t, "container", "create", "--name", "made", "busybox", "echo", "made-ran")
	if id := strings.TrimSpace(r.Stdout); len(id) != 64 {
		t.Errorf("container create printed %q, want the ID", r.Stdout)
	}
	if c := containerLs(t, e, "-a")["made"]; c.State != "created" {
		t.Fatalf("container ls -a after create: %+v, want created", c)
	}
	e.MustBerth(t, "container", "start", "made")
	Eventually(t, 20*time.Second, func() error {
		if r := e.MustBerth(t, "container", "logs", "made"); !strings.Contains(r.Stdout, "made-ran") {
			return fmt.Errorf("logs after start: %q", r.Stdout)
		}
		return nil
	})
	e.MustBerth(t, "container", "rm", "made")
	if err := projectLocksLeft(e); err != nil {
		t.Errorf("after container rm: %v", err)
	}
}

// projectLocksLeft names the project lock files left in the state root:
// every standalone container is a project of its own, and its lock goes
// with its last container (a file per run would pile up otherwise).
func projectLocksLeft(e *Env) error {
	m, _ := filepath.Glob(filepath.Join(e.Root, "locks", "project-*.lock"))
	if len(m) > 0 {
		return fmt.Errorf("project lock files left: %v", m)
	}
	return nil
}

// TestContainerHealthAndHostFlags: --health-* give the container a
// healthcheck the supervisor runs (ls shows healthy); --add-host, --tmpfs,
// -m and --sysctl reach it.
func TestContainerHealthAndHostFlags(t *testing.T) {
	e := containerEnv(t, "hc")
	e.MustBerth(t, "container", "run", "-d", "--name", "hc", "--init",
		"--health-cmd", "test -f /tmp/ok", "--health-interval", "200ms", "--health-retries", "1",
		"--add-host", "foo.test:10.218.9.9", "--tmpfs", "/scratch", "-m", "64m",
		"--sysctl", "net.ipv4.ip_forward=1",
		"busybox", "sh", "-c", "touch /tmp/ok; exec sleep 300")
	Eventually(t, 30*time.Second, func() error {
		if c := containerLs(t, e)["hc"]; !strings.Contains(c.Status, "(healthy)") {
			return fmt.Errorf("status %q, want (healthy)", c.Status)
		}
		return nil
	})
	r := e.MustBerth(t, "container", "exec", "hc", "sh", "-c", "grep foo.test /etc/hosts; grep ' /scratch ' /proc/mounts; cat /proc/sys/net/ipv4/ip_forward")
	for _, want := range []string{"10.218.9.9", "tmpfs", "\n1"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("exec: %q lacks %q", r.Stdout, want)
		}
	}
	r = e.MustBerth(t, "container", "exec", "hc", "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max")
	if strings.TrimSpace(r.Stdout) != "67108864" {
		t.Errorf("-m 64m: the cgroup's limit is %q, want 67108864", r.Stdout)
	}
	e.MustBerth(t, "container", "exec", "hc", "rm", "/tmp/ok")
	Eventually(t, 30*time.Second, func() error {
		if c := containerLs(t, e)["hc"]; !strings.Contains(c.Status, "(unhealthy)") {
			return fmt.Errorf("status %q, want (unhealthy)", c.Status)
		}
		return nil
	})
}

// TestContainerSignalsAndWait: kill, restart, pause/unpause, wait and ls
// filters act on the one container named.
func TestContainerSignalsAndWait(t *testing.T) {
	e := containerEnv(t, "sig1", "sig2")
	e.MustBerth(t, "container", "run", "-d", "--name", "sig1", "--init", "-l", "e2e.role=a", "busybox", "sleep", "300")
	e.MustBerth(t, "container", "run", "-d", "--name", "sig2", "--init", "-l", "e2e.role=b", "busybox", "sleep", "300")
	r := e.MustBerth(t, "container", "ls", "-q", "--filter", "label=e2e.role=b")
	if ls := containerLs(t, e); strings.TrimSpace(r.Stdout) != ls["sig2"].ID {
		t.Errorf("ls --filter label=e2e.role=b: %q, want sig2's ID %s", r.Stdout, ls["sig2"].ID)
	}
	e.MustBerth(t, "container", "pause", "sig1")
	if c := containerLs(t, e)["sig1"]; c.State != "paused" {
		t.Errorf("after pause: %+v", c)
	}
	e.MustBerth(t, "container", "unpause", "sig1")
	e.MustBerth(t, "container", "restart", "-t", "0", "sig1")
	if c := containerLs(t, e)["sig1"]; c.State != "running" {
		t.Errorf("after restart: %+v", c)
	}
	src := e.WriteFile(t, "in.txt", "copied-in\n")
	e.MustBerth(t, "container", "cp", src, "sig1:/tmp/in.txt")
	if r := e.MustBerth(t, "container", "exec", "sig1", "cat", "/tmp/in.txt"); r.Stdout != "copied-in\n" {
		t.Errorf("cp in, then cat: %q", r.Stdout)
	}
	out := filepath.Join(e.Dir, "out.txt")
	e.MustBerth(t, "container", "cp", "sig1:/tmp/in.txt", out)
	if b, err := os.ReadFile(out); err != nil || string(b) != "copied-in\n" {
		t.Errorf("cp out: %q, %v", b, err)
	}
	if r := e.MustBerth(t, "container", "top", "sig1"); !strings.Contains(r.Stdout, "sleep 300") || !strings.Contains(r.Stdout, "PID") {
		t.Errorf("top: no sleep 300:\n%s", r.Stdout)
	}
	r = e.MustBerth(t, "container", "stats", "--no-stream", "--format", "json", "sig1")
	if !strings.Contains(r.Stdout, `"Name":"sig1"`) || strings.Contains(r.Stdout, "sig2") {
		t.Errorf("stats --no-stream sig1: want sig1's row only:\n%s", r.Stdout)
	}
	e.MustBerth(t, "container", "run", "-d", "--name", "att", "busybox", "sh", "-c", "echo early; sleep 1; echo late; exit 7")
	t.Cleanup(func() { e.run(context.Background(), nil, "container", "rm", "-f", "att") })
	r = e.Berth(t, "container", "attach", "--no-stdin", "att")
	if r.Code != 7 || !strings.Contains(r.Stdout, "late") || strings.Contains(r.Stdout, "early") {
		t.Errorf("attach: want late (not early, printed before) and exit 7:\n%s", r)
	}
	e.MustBerth(t, "container", "rm", "att")
	e.MustBerth(t, "container", "kill", "-s", "TERM", "sig2")
	r = e.MustBerth(t, "container", "wait", "sig2")
	if got := strings.TrimSpace(r.Stdout); got != "143" {
		t.Errorf("wait after kill -s TERM: %q, want 143", got)
	}
	if ls := containerLs(t, e, "--filter", "status=exited"); len(ls) != 1 || ls["sig2"].State != "exited" {
		t.Errorf("ls --filter status=exited: %v, want sig2 only", ls)
	}
	if c := containerLs(t, e)["sig1"]; c.State != "running" {
		t.Errorf("kill of sig2 touched sig1: %+v", c)
	}
	// rename: the new name finds it, the old one no more; a taken name is refused
	if r := e.Berth(t, "container", "rename", "sig1", "sig2"); r.Code == 0 || !strings.Contains(r.Stderr, "already in use") {
		t.Errorf("rename to a taken name: want an error:\n%s", r)
	}
	e.MustBerth(t, "container", "rename", "sig1", "sig1b")
	t.Cleanup(func() { e.run(context.Background(), nil, "container", "rm", "-f", "sig1b") })
	if r := e.MustBerth(t, "container", "exec", "sig1b", "echo", "renamed"); strings.TrimSpace(r.Stdout) != "renamed" {
		t.Errorf("exec by the new name: %q", r.Stdout)
	}
	if r := e.Berth(t, "container", "exec", "sig1", "true"); r.Code == 0 {
		t.Errorf("exec by the old name still works")
	}
	if r := e.Berth(t, "container", "ls", "--filter", "colour=red"); r.Code == 0 || !strings.Contains(r.Stderr, "--filter") {
		t.Errorf("ls --filter colour=red: want an error naming --filter:\n%s", r)
	}
}

// TestContainerRunInteractive: -i feeds the container the caller's stdin;
// -it gives it a terminal (the pty path `berth run` uses) and returns its
// exit code; --rm leaves nothing.
func TestContainerRunInteractive(t *testing.T) {
	e := containerEnv(t, "itc")
	r := e.BerthStdin(t, "echo piped-$((6*7))\nexit 4\n", "container", "run", "-i", "--rm", "busybox", "sh")
	if r.Code != 4 || !strings.Contains(r.Stdout, "piped-42") {
		t.Errorf("container run -i --rm busybox sh: want piped-42 and exit 4:\n%s", r)
	}

	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	var mu sync.Mutex
	var seen strings.Builder
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := master.Read(buf)
			mu.Lock()
			seen.Write(buf[:k])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	cmd := e.Cmd(t.Context(), "container", "run", "-it", "--rm", "--name", "itc", "busybox", "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	master.Write([]byte("tty; echo mark-$((6*7)); exit 5\n"))
	err = cmd.Wait()
	mu.Lock()
	out := seen.String()
	mu.Unlock()
	if code := cmd.ProcessState.ExitCode(); code != 5 {
		t.Errorf("container run -it: exit code %d (%v), want 5; terminal:\n%s", code, err, out)
	}
	if !strings.Contains(out, "mark-42") || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("container run -it: the terminal shows no tty and mark-42:\n%s", out)
	}
	if ls := containerLs(t, e, "-a"); len(ls) != 0 {
		t.Errorf("container ls -a after run -it --rm: %v", ls)
	}
}

// TestContainerNameInUse: a second container of a taken name fails,
// naming it, and leaves nothing of itself (no network); -p CONTAINER_PORT
// takes a free host port that `port` tells.
func TestContainerNameInUse(t *testing.T) {
	e := containerEnv(t, "dup")
	e.MustBerth(t, "container", "run", "-d", "--name", "dup", "-p", "8080", "httpecho")
	r := e.MustBerth(t, "container", "port", "dup", "8080")
	addr := strings.TrimSpace(r.Stdout)
	if !strings.HasPrefix(addr, "0.0.0.0:") {
		t.Fatalf("container port dup 8080: %q, want 0.0.0.0:PORT", addr)
	}
	netHostGet(t, "http://127.0.0.1:"+strings.TrimPrefix(addr, "0.0.0.0:")+"/", "method: GET")
	e.MustBerth(t, "container", "run", "-d", "--name", "pall", "--expose", "8080", "-P", "httpecho")
	t.Cleanup(func() { e.run(context.Background(), nil, "container", "rm", "-f", "pall") })
	r = e.MustBerth(t, "container", "port", "pall", "8080/tcp")
	if a := strings.TrimSpace(r.Stdout); !strings.HasPrefix(a, "0.0.0.0:") {
		t.Errorf("-P --expose 8080: port %q", a)
	} else {
		netHostGet(t, "http://127.0.0.1:"+strings.TrimPrefix(a, "0.0.0.0:")+"/", "method: GET")
	}
	e.MustBerth(t, "container", "rm", "-f", "pall")
	nets, _ := os.ReadDir(filepath.Join(e.Root, "networks"))
	r = e.Berth(t, "container", "run", "-d", "--name", "dup", "busybox", "true")
	if r.Code == 0 || !strings.Contains(r.Stderr, `"dup" is already in use`) {
		t.Errorf("second container named dup: want an error saying the name is in use:\n%s", r)
	}
	if after, _ := os.ReadDir(filepath.Join(e.Root, "networks")); len(after) != len(nets) {
		t.Errorf("the failed run left networks: %d before, %d after", len(nets), len(after))
	}
	if ls := containerLs(t, e, "-a"); len(ls) != 1 {
		t.Errorf("container ls -a: %v, want dup only", ls)
	}
	if r := e.Berth(t, "container", "run", "--rm", "--restart", "always", "busybox", "true"); r.Code == 0 || !strings.Contains(r.Stderr, "--restart") {
		t.Errorf("--rm with --restart always: want a conflict error:\n%s", r)
	}
}
