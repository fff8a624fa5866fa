package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testimages"
)

// Watch scenarios (develop.watch). They port Compose's
// pkg/e2e/watch_test.go doTest (write until synced, modify, delete a
// file, ignored paths, make a subdirectory, write a file in it several
// times, delete the directory, sync+restart of a config file) onto a
// busybox httpd serving the synced directory, and add what berth
// promises beyond it: batching of bursts, sync+exec once per batch,
// .dockerignore, initial_sync, symlinks kept as symlinks, a container's
// planted symlinks not followed, rebuilds of a Go program.

// watchProc is a running `berth watch` (or `up --watch`) whose output is
// kept for the test to read.
type watchProc struct {
	mu  sync.Mutex
	out bytes.Buffer
	cmd watchCmd
}

// watchCmd ends the process: stop interrupts it (Ctrl-C) and waits.
type watchCmd struct {
	stop func()
}

func (w *watchProc) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(b)
}

func (w *watchProc) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.String()
}

// count is how many lines of the output hold s.
func (w *watchProc) count(s string) int {
	n := 0
	for _, l := range strings.Split(w.String(), "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// waitCount waits until at least n lines hold s.
func (w *watchProc) waitCount(t *testing.T, s string, n int, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		if got := w.count(s); got < n {
			return fmt.Errorf("%d lines with %q, want %d; output:\n%s", got, s, n, w.String())
		}
		return nil
	})
}

// startWatch starts berth with args (watch or up --watch) and waits for
// "Watch enabled". The test's end interrupts it and waits for its exit.
func startWatch(t *testing.T, e *Env, args ...string) *watchProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	cmd := e.Cmd(ctx, args...)
	w := &watchProc{}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		cancel()
	}
	w.cmd = watchCmd{stop: stop}
	t.Cleanup(stop)
	w.waitCount(t, "Watch enabled", 1, 3*time.Minute)
	return w
}

// ctrRead is the output of a command in the service's container.
func ctrRead(t *testing.T, e *Env, svc string, cmd ...string) Result {
	t.Helper()
	return e.Berth(t, append([]string{"exec", "-T", svc}, cmd...)...)
}

// waitCtrFile waits until path in the service's container holds want.
func waitCtrFile(t *testing.T, e *Env, svc, path, want string) {
	t.Helper()
	Eventually(t, 30*time.Second, func() error {
		r := ctrRead(t, e, svc, "cat", path)
		if r.Code != 0 || r.Stdout != want {
			return fmt.Errorf("cat %s in %s: %q (exit %d, %s), want %q", path, svc, r.Stdout, r.Code, strings.TrimSpace(r.Stderr), want)
		}
		return nil
	})
}

// waitCtrGone waits until path no longer exists in the container.
func waitCtrGone(t *testing.T, e *Env, svc, path string) {
	t.Helper()
	Eventually(t, 30*time.Second, func() error {
		if r := ctrRead(t, e, svc, "stat", path); r.Code == 0 {
			return fmt.Errorf("%s still exists in %s: %s", path, svc, r.Stdout)
		}
		return nil
	})
}

// flush writes a fresh sentinel file and waits until it is in the
// container: every change made before it has been handled (Compose's
// waitForFlush).
func flush(t *testing.T, e *Env, hostDir, ctrDir string) {
	t.Helper()
	v := strconv.FormatInt(time.Now().UnixNano(), 36)
	e.WriteFile(t, filepath.Join(hostDir, "wait.txt"), v)
	waitCtrFile(t, e, "web", ctrDir+"/wait.txt", v)
}

const watchWebCompose = `services:
  web:
    build: .
    init: true
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    ports: ["127.0.0.1:%d:8080"]
    develop:
      watch:
        - path: ./site
          target: /www
          action: sync
          ignore: ["*.foo", "ignored/"]
        - path: ./conf
          target: /etc/app
          action: sync+restart
        - path: ./hooks
          target: /hooks
          action: sync+exec
          exec:
            command: ["sh", "-c", "echo ran-$$MARK >> /tmp/exec.log"]
            environment:
              MARK: hook
        - path: ./seed
          target: /seed
          action: sync
          initial_sync: true
`

// TestWatchSyncActions: the Compose scenario on an httpd serving the
// synced dir, plus sync+restart once per batch, sync+exec once per
// batch, .dockerignore and initial_sync.
func TestWatchSyncActions(t *testing.T) {
	e := NewEnv(t)
	port := netFreePort(t, "tcp")
	e.Compose(t, fmt.Sprintf(watchWebCompose, port))
	e.WriteFile(t, "Dockerfile", "FROM busybox\nRUN mkdir -p /www && echo image > /www/index.html\n")
	e.WriteFile(t, ".dockerignore", "site/*.secret\n")
	e.WriteFile(t, "site/index.html", "first\n")
	e.WriteFile(t, "conf/app.conf", "v=0\n")
	e.WriteFile(t, "hooks/a.sh", "echo a\n")
	e.WriteFile(t, "seed/seeded.txt", "from initial_sync\n")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)

	w := startWatch(t, e, "watch")
	// initial_sync: the file was there before the watch began
	waitCtrFile(t, e, "web", "/seed/seeded.txt", "from initial_sync\n")
	if r := ctrRead(t, e, "web", "stat", "/www/index.html"); r.Code != 0 {
		t.Fatalf("image's index.html missing: %s", r)
	}

	// Compose: write until synced, then modify — served by httpd
	e.WriteFile(t, "site/index.html", "hello watch\n")
	netHostGet(t, url+"index.html", "hello watch")
	e.WriteFile(t, "site/index.html", "hello again\n")
	netHostGet(t, url+"index.html", "hello again")

	// Compose: deleting a file deletes it in the container
	e.WriteFile(t, "site/old.html", "old\n")
	waitCtrFile(t, e, "web", "/www/old.html", "old\n")
	if err := os.Remove(filepath.Join(e.Dir, "site/old.html")); err != nil {
		t.Fatal(err)
	}
	waitCtrGone(t, e, "web", "/www/old.html")

	// Compose: ignored paths (ignore:) and .dockerignore are not synced
	e.WriteFile(t, "site/data.foo", "ignored\n")
	e.WriteFile(t, "site/ignored/hello.txt", "ignored\n")
	e.WriteFile(t, "site/key.secret", "dockerignored\n")
	e.WriteFile(t, "site/.index.html.swp", "editor\n")
	flush(t, e, "site", "/www")
	for _, p := range []string{"/www/data.foo", "/www/ignored", "/www/key.secret", "/www/.index.html.swp"} {
		if r := ctrRead(t, e, "web", "stat", p); r.Code == 0 {
			t.Errorf("%s was synced though it is ignored", p)
		}
	}

	// Compose: a new subdirectory, a file in it written several times,
	// then the directory deleted
	if err := os.Mkdir(filepath.Join(e.Dir, "site/subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	flush(t, e, "site", "/www")
	if r := ctrRead(t, e, "web", "stat", "/www/subdir"); r.Code != 0 {
		t.Errorf("subdir not made: %s", r)
	}
	for _, v := range []string{"a", "x", "y", "z"} {
		e.WriteFile(t, "site/subdir/file.txt", v)
	}
	waitCtrFile(t, e, "web", "/www/subdir/file.txt", "z")
	os.RemoveAll(filepath.Join(e.Dir, "site/subdir"))
	waitCtrGone(t, e, "web", "/www/subdir")

	// a directory moved in arrives whole, in one batch; moved away, it goes
	for i := range 5 {
		e.WriteFile(t, fmt.Sprintf("outside/tree/d%d/f.txt", i), fmt.Sprint(i))
	}
	before := w.count(`Syncing service "web"`)
	if err := os.Rename(filepath.Join(e.Dir, "outside/tree"), filepath.Join(e.Dir, "site/tree")); err != nil {
		t.Fatal(err)
	}
	waitCtrFile(t, e, "web", "/www/tree/d4/f.txt", "4")
	if got := w.count(`Syncing service "web"`) - before; got != 1 {
		t.Errorf("a directory moved in made %d batches, want 1:\n%s", got, w.String())
	}
	if err := os.Rename(filepath.Join(e.Dir, "site/tree"), filepath.Join(e.Dir, "site/moved")); err != nil {
		t.Fatal(err)
	}
	waitCtrFile(t, e, "web", "/www/moved/d2/f.txt", "2")
	waitCtrGone(t, e, "web", "/www/tree")

	// sync+restart: five config files at once are one batch, one restart
	restarts := w.count("restarted")
	for i := range 5 {
		e.WriteFile(t, fmt.Sprintf("conf/extra%d.conf", i), "x\n")
	}
	e.WriteFile(t, "conf/app.conf", "v=1\n")
	w.waitCount(t, "restarted", restarts+1, time.Minute)
	waitCtrFile(t, e, "web", "/etc/app/app.conf", "v=1\n")
	time.Sleep(time.Second) // a second restart would show by now
	if got := w.count("restarted") - restarts; got != 1 {
		t.Errorf("one batch of 6 config files restarted %d times, want 1:\n%s", got, w.String())
	}
	netHostGet(t, url+"index.html", "hello again") // the restarted container serves

	// sync+exec: runs once per batch, with its environment
	for i := range 4 {
		e.WriteFile(t, fmt.Sprintf("hooks/h%d.sh", i), "echo\n")
	}
	waitCtrFile(t, e, "web", "/tmp/exec.log", "ran-hook\n")
	e.WriteFile(t, "hooks/a.sh", "echo b\n")
	waitCtrFile(t, e, "web", "/tmp/exec.log", "ran-hook\nran-hook\n")
}

// TestWatchBurst: 200 files written within a second make one batch,
// every file arrives with its content, none lost; a burst of deletions
// deletes them all.
func TestWatchBurst(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: busybox
    init: true
    command: ["sleep", "3600"]
    develop:
      watch:
        - path: ./site
          target: /www
          action: sync
`)
	e.WriteFile(t, "site/burst/.keep", "")
	w := startWatch(t, e, "watch")
	flush(t, e, "site", "/www")
	before := w.count(`Syncing service "web"`)
	start := time.Now()
	for i := range 200 {
		e.WriteFile(t, fmt.Sprintf("site/burst/f%03d.txt", i), fmt.Sprintf("file %d\n", i))
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("the 200 writes took %s (over a second: the machine is loaded)", d)
	}
	waitCtrFile(t, e, "web", "/www/burst/f199.txt", "file 199\n")
	time.Sleep(500 * time.Millisecond)
	if got := w.count(`Syncing service "web"`) - before; got != 1 {
		t.Errorf("200 writes made %d batches, want 1:\n%s", got, w.String())
	}
	if !strings.Contains(w.String(), `Syncing service "web" after 200 changes were detected`) {
		t.Errorf("no batch of 200 changes:\n%s", w.String())
	}
	r := ctrRead(t, e, "web", "sh", "-c", "cat /www/burst/f*.txt")
	var want strings.Builder
	for i := range 200 {
		fmt.Fprintf(&want, "file %d\n", i)
	}
	if r.Stdout != want.String() {
		t.Errorf("files in the container differ from those written (%d bytes, want %d)", len(r.Stdout), want.Len())
	}
	for i := range 200 {
		os.Remove(filepath.Join(e.Dir, fmt.Sprintf("site/burst/f%03d.txt", i)))
	}
	Eventually(t, 30*time.Second, func() error {
		r := ctrRead(t, e, "web", "ls", "-A", "/www/burst")
		if got := strings.TrimSpace(r.Stdout); r.Code != 0 || got != "" {
			return fmt.Errorf("after deleting the burst, /www/burst holds %q (%s)", got, r)
		}
		return nil
	})
}

// TestWatchSymlinks: a symlink of the watched tree pointing outside it
// arrives as a symlink (its target is never read); symlinks the
// container planted in the target directory — to the host's canary, by
// absolute path or through /proc — are replaced, and nothing is written
// outside the container's root.
func TestWatchSymlinks(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: busybox
    init: true
    command: ["sleep", "3600"]
    develop:
      watch:
        - path: ./site
          target: /www
          action: sync
`)
	e.WriteFile(t, "site/index.html", "x\n")
	startWatch(t, e, "watch")
	flush(t, e, "site", "/www")

	secret := CanaryPath("victim/secret.txt")
	if err := os.Symlink(secret, filepath.Join(e.Dir, "site/link")); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 30*time.Second, func() error {
		r := ctrRead(t, e, "web", "readlink", "/www/link")
		if strings.TrimSpace(r.Stdout) != secret {
			return fmt.Errorf("readlink /www/link = %q (exit %d), want %q", r.Stdout, r.Code, secret)
		}
		return nil
	})
	if r := ctrRead(t, e, "web", "cat", "/www/link"); strings.Contains(r.Stdout, "secret") {
		t.Errorf("the link's host target was copied: %q", r.Stdout)
	}

	// the attack: the container plants symlinks where the host will write
	victim := CanaryPath("victim")
	plant := fmt.Sprintf("ln -s %s /www/pwn && ln -s %s/passwd /www/pw.txt && ln -s /proc/1/root%s /www/viaproc", victim, victim, victim)
	if r := ctrRead(t, e, "web", "sh", "-c", plant); r.Code != 0 {
		t.Fatalf("plant: %s", r)
	}
	e.WriteFile(t, "site/pwn/passwd", "evil\n")
	e.WriteFile(t, "site/pw.txt", "evil\n")
	e.WriteFile(t, "site/viaproc/secret.txt", "evil\n")
	waitCtrFile(t, e, "web", "/www/pwn/passwd", "evil\n")
	waitCtrFile(t, e, "web", "/www/pw.txt", "evil\n")
	waitCtrFile(t, e, "web", "/www/viaproc/secret.txt", "evil\n")
	for rel, want := range map[string]string{"victim/passwd": canaryFiles["victim/passwd"], "victim/secret.txt": canaryFiles["victim/secret.txt"]} {
		if b, err := os.ReadFile(CanaryPath(rel)); err != nil || string(b) != want {
			t.Errorf("the host canary %s was written through a planted symlink: %q %v", rel, b, err)
		}
	}
	if r := ctrRead(t, e, "web", "sh", "-c", "test -d /www/pwn && test ! -L /www/pwn"); r.Code != 0 {
		t.Errorf("the planted /www/pwn symlink was not replaced by a directory: %s", r)
	}
}

const watchGoDockerfile = `FROM ` + testimages.GolangName + ` AS build
WORKDIR /src
COPY go.mod ./
COPY *.go ./
RUN go build -o /out/web .

FROM scratch
COPY --from=build /out/web /web
EXPOSE 8080
ENTRYPOINT ["/web"]
`

// TestWatchRebuildGo: rebuild of a Go web server: a changed source is
// built (layer cache: go.mod's COPY cached) and the service recreated,
// serving the new binary, while the other service keeps its container; a
// source that does not compile leaves the old container serving and says
// why.
func TestWatchRebuildGo(t *testing.T) {
	e := NewEnv(t)
	loadGolang(t, func(args ...string) { e.MustBerth(t, args...) })
	e.WriteFile(t, "go.mod", "module example.com/web\n\ngo 1.22\n")
	e.WriteFile(t, "main.go", goWebMain)
	e.WriteFile(t, "message.go", "package main\n\nconst message = \"first\"\n")
	e.WriteFile(t, "Dockerfile", watchGoDockerfile)
	port := netFreePort(t, "tcp")
	e.Compose(t, fmt.Sprintf(`services:
  web:
    build: .
    ports:
      - "127.0.0.1:%d:8080"
    develop:
      watch:
        - path: .
          action: rebuild
          ignore: [compose.yaml]
  other:
    image: busybox
    init: true
    command: ["sleep", "3600"]
`, port))
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	w := startWatch(t, e, "watch", "--prune")
	netHostGet(t, url, "first from a berth-built binary")
	otherID := psIDs(t, e)["other"]
	firstImage := imageID(t, e, e.Project+"-web")

	e.WriteFile(t, "message.go", "package main\n\nconst message = \"second\"\n")
	w.waitCount(t, "successfully built", 1, 3*time.Minute)
	netHostGet(t, url, "second from a berth-built binary")
	if got := psIDs(t, e)["other"]; got != otherID {
		t.Errorf("the other service was recreated by web's rebuild (%s → %s)", otherID, got)
	}
	if r := e.Berth(t, "image", "inspect", firstImage); r.Code == 0 {
		t.Errorf("--prune kept the replaced image %s", firstImage)
	}

	e.WriteFile(t, "message.go", "package main\n\nconst message = \n")
	w.waitCount(t, "build failed", 1, 3*time.Minute)
	if !strings.Contains(w.String(), "running containers are kept") {
		t.Errorf("the failed build does not say the old container is kept:\n%s", w.String())
	}
	netHostGet(t, url, "second from a berth-built binary")
}

// psIDs maps each service to its container's ID (one replica each).
func psIDs(t *testing.T, e *Env) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range mustPs(t, e) {
		out[p.Service] = p.ID
	}
	return out
}

// TestWatchUpFlag: `up --watch` prints the containers' logs and syncs;
// Ctrl-C stops both the watch and the containers.
func TestWatchUpFlag(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: busybox
    init: true
    command: ["sh", "-c", "echo hello-from-web; exec sleep 3600"]
    develop:
      watch:
        - path: ./site
          target: /www
          action: sync
`)
	e.WriteFile(t, "site/a.txt", "a\n")
	w := startWatch(t, e, "up", "--watch")
	w.waitCount(t, "hello-from-web", 1, time.Minute)
	e.WriteFile(t, "site/a.txt", "b\n")
	waitCtrFile(t, e, "web", "/www/a.txt", "b\n")
	w.cmd.stop()
	if !strings.Contains(w.String(), "Watch disabled") {
		t.Errorf("Ctrl-C did not end the watch:\n%s", w.String())
	}
	waitStates(t, e, 30*time.Second, map[string]string{"web": "exited"})
}

// TestWatchNoDevelop: watch of a project without develop sections fails
// at once, saying so.
func TestWatchNoDevelop(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, "services:\n  web:\n    image: busybox\n")
	r := e.Berth(t, "watch", "--no-up")
	if r.Code == 0 || !strings.Contains(r.Stderr, "develop") {
		t.Errorf("watch without develop: %s", r)
	}
	r = e.Berth(t, "up", "--watch")
	if r.Code == 0 || !strings.Contains(r.Stderr, "develop") {
		t.Errorf("up --watch without develop: %s", r)
	}
}

// TestWatchExample: examples/watchstack as its README tells: an edit of
// the page is served, a draft is not synced, a config change restarts
// the service.
func TestWatchExample(t *testing.T) {
	e := NewEnv(t)
	src := exampleDir(t, "watchstack")
	if err := os.CopyFS(e.Dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	port := netFreePort(t, "tcp")
	e.ExtraEnv = append(e.ExtraEnv, fmt.Sprintf("SITE_PORT=%d", port))
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	w := startWatch(t, e, "watch")
	netHostGet(t, url, "Hello from berth watch")
	e.WriteFile(t, "html/index.html", "<h1>edited</h1>\n")
	netHostGet(t, url, "edited")
	e.WriteFile(t, "html/notes.draft", "x\n")
	e.WriteFile(t, "html/key.secret", "k\n")
	e.WriteFile(t, "conf/httpd.conf", ".txt:text/plain\n.md:text/plain\n")
	w.waitCount(t, "restarted", 1, time.Minute)
	netHostGet(t, url, "edited")
	for _, p := range []string{"/www/notes.draft", "/www/key.secret"} {
		if r := ctrRead(t, e, "site", "stat", p); r.Code == 0 {
			t.Errorf("%s was synced though it is ignored", p)
		}
	}
}

// TestWatchRebuildExternalNetwork ports Compose's
// TestRebuildOnDotEnvWithExternalNetwork: a rebuild triggered by a .env
// change recreates the service on the external network it was on; its
// dependent with depends_on restart: true is restarted.
func TestWatchRebuildExternalNetwork(t *testing.T) {
	e := NewEnv(t)
	netName := "ext-" + e.Project
	e.MustBerth(t, "network", "create", "--subnet", "10.217.41.0/24", netName)
	t.Cleanup(func() {
		// t.Context is over by now: the network goes with a context of its own
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		defer cancel()
		e.run(ctx, nil, "down", "-t", "0")
		if r := e.run(ctx, nil, "network", "rm", netName); r.Code != 0 {
			t.Errorf("network rm %s: %s", netName, r)
		}
	})
	e.WriteFile(t, ".env", "HELLO=WORLD\n")
	e.WriteFile(t, "Dockerfile", "FROM busybox\nCOPY .env /env.txt\nCMD [\"sleep\", \"3600\"]\n")
	e.Compose(t, fmt.Sprintf(`services:
  ext-app:
    build: .
    init: true
    networks: [ext]
    develop:
      watch:
        - path: .env
          action: rebuild
  dep:
    image: busybox
    init: true
    command: ["sleep", "3600"]
    network_mode: none
    depends_on:
      ext-app:
        condition: service_started
        restart: true
networks:
  ext:
    external: true
    name: %s
`, netName))
	e.MustBerth(t, "up", "-d")
	w := startWatch(t, e, "watch", "ext-app")
	waitCtrFile(t, e, "ext-app", "/env.txt", "HELLO=WORLD\n")
	depPid := func() string {
		return strings.TrimSpace(e.MustBerth(t, "inspect", "-f", "{{.State.Pid}}", "dep").Stdout)
	}
	depBefore := depPid()
	e.WriteFile(t, ".env", "HELLO=WORLD\nTEST=REBUILD\n")
	w.waitCount(t, "successfully built", 1, 3*time.Minute)
	waitCtrFile(t, e, "ext-app", "/env.txt", "HELLO=WORLD\nTEST=REBUILD\n")
	r := e.MustBerth(t, "inspect", "-f", "{{json .NetworkSettings.Networks}}", "ext-app")
	if !strings.Contains(r.Stdout, netName) {
		t.Errorf("after the rebuild the container is not on %s: %s", netName, r.Stdout)
	}
	if strings.Contains(w.String(), "failed") {
		t.Errorf("the rebuild reported a failure:\n%s", w.String())
	}
	// a dependent with depends_on restart: true is restarted, as Compose
	Eventually(t, 30*time.Second, func() error {
		if now := depPid(); now == depBefore || now == "0" {
			return fmt.Errorf("dep was not restarted after ext-app's rebuild (pid %s)", now)
		}
		return nil
	})
}

// TestWatchInotifyLimit: a tree with more directories than the inotify
// limit fails at once with the sysctl to raise and the value needed;
// directories added while watching past the limit are reported the same
// way. The limit is lowered in a user namespace of the test's own
// (user.max_inotify_watches there), never on the host.
func TestWatchInotifyLimit(t *testing.T) {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) not found")
	}
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: busybox
    develop:
      watch:
        - path: ./tree
          target: /tree
          action: sync
`)
	for i := range 200 {
		if err := os.MkdirAll(filepath.Join(e.Dir, "tree", fmt.Sprintf("d%03d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	inNS := func(limit int) *exec.Cmd {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		t.Cleanup(cancel)
		cmd := exec.CommandContext(ctx, unshare, "-U", "-r", "sh", "-c",
			fmt.Sprintf(`echo %d > /proc/sys/user/max_inotify_watches && exec "$0" watch --no-up`, limit), suite.berth)
		cmd.Dir, cmd.Env = e.Dir, e.Environ()
		return cmd
	}
	out, err := inNS(50).CombinedOutput()
	if err == nil {
		t.Fatalf("watch of 201 directories with a limit of 50 succeeded:\n%s", out)
	}
	for _, want := range []string{"user.max_inotify_watches is 50", "needs 201 inotify watches", "sysctl -w user.max_inotify_watches="} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the error lacks %q:\n%s", want, out)
		}
	}

	// within the limit at the start, past it as the tree grows
	cmd := inNS(260)
	w := &watchProc{}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGINT); cmd.Wait() })
	w.waitCount(t, "Watch enabled", 1, time.Minute)
	for i := range 100 {
		os.MkdirAll(filepath.Join(e.Dir, "tree", fmt.Sprintf("new%03d", i)), 0o755)
	}
	w.waitCount(t, "user.max_inotify_watches is 260", 1, 30*time.Second)
}

// TestWatchRestartInclude: the restart action restarts the service (a
// new init process) once per batch without syncing anything; include
// limits a sync rule to the files it names.
func TestWatchRestartInclude(t *testing.T) {
	e := NewEnv(t)
	port := netFreePort(t, "tcp")
	e.Compose(t, fmt.Sprintf(`services:
  web:
    image: busybox
    init: true
    command: ["sh", "-c", "mkdir -p /www && exec httpd -f -p 8080 -h /www"]
    ports: ["127.0.0.1:%d:8080"]
    develop:
      watch:
        - path: ./site
          target: /www
          action: sync
          include: ["*.html"]
        - path: ./settings
          action: restart
`, port))
	e.WriteFile(t, "site/index.html", "x\n")
	e.WriteFile(t, "settings/a.env", "A=1\n")
	w := startWatch(t, e, "watch")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)

	e.WriteFile(t, "site/page.html", "included\n")
	e.WriteFile(t, "site/notes.txt", "not included\n")
	netHostGet(t, url+"page.html", "included")
	if r := ctrRead(t, e, "web", "stat", "/www/notes.txt"); r.Code == 0 {
		t.Errorf("notes.txt was synced though include names *.html only")
	}

	pid := func() string {
		return strings.TrimSpace(e.MustBerth(t, "inspect", "-f", "{{.State.Pid}}", "web").Stdout)
	}
	before := pid()
	for i := range 3 {
		e.WriteFile(t, fmt.Sprintf("settings/s%d.env", i), "B=2\n")
	}
	w.waitCount(t, "restarted", 1, time.Minute)
	time.Sleep(time.Second)
	if got := w.count("restarted"); got != 1 {
		t.Errorf("one batch restarted %d times, want 1:\n%s", got, w.String())
	}
	if after := pid(); after == before {
		t.Errorf("the restart action did not restart web (pid %s)", after)
	}
	if r := ctrRead(t, e, "web", "stat", "/settings"); r.Code == 0 {
		t.Errorf("the restart action synced files")
	}
	netHostGet(t, url+"page.html", "included")
}
