package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// DefaultTimeout bounds one berth command run by Env.Berth.
const DefaultTimeout = 2 * time.Minute

// Env is one test's world: its own berth state root and run dir, its own
// project directory (whose name is the test's unique project name) and the
// environment every berth command of the test runs with.
type Env struct {
	// Root and Run are the test's BERTH_ROOT and BERTH_RUN.
	Root, Run string
	// Dir is the project directory; commands run in it.
	Dir string
	// Project is the unique project name: Dir's base name, which is what
	// berth names the project unless the test says otherwise.
	Project string
	// Timeout bounds each command (DefaultTimeout when zero).
	Timeout time.Duration
	// ExtraEnv is added to every command's environment (KEY=value).
	ExtraEnv []string

	mu       sync.Mutex
	projects map[string]bool // names passed with -p, for the cleanup
}

// Result is what a berth command did.
type Result struct {
	Stdout, Stderr string
	// Code is the exit code; -1 when the command did not finish (timeout).
	Code int
}

func (r Result) String() string {
	return fmt.Sprintf("exit code %d\n--- stdout\n%s--- stderr\n%s", r.Code, r.Stdout, r.Stderr)
}

var projectSeq atomic.Int64

// NewEnv makes the test's Env. When the test ends, `berth down -v
// --remove-orphans -t 0` runs for its project(s), then its mounts and
// processes are checked (see leak_test.go).
func NewEnv(t *testing.T) *Env {
	t.Helper()
	if suite.berth == "" {
		t.Fatal("e2e: the suite is not set up (TestMain did not run?)")
	}
	base := t.TempDir()
	e := &Env{
		Root:     filepath.Join(base, "root"),
		Run:      filepath.Join(base, "run"),
		Project:  projectName(t.Name()),
		projects: map[string]bool{},
	}
	// Unix socket paths are limited to 108 bytes, and berth's supervisor
	// socket is $BERTH_RUN/projects/<project>/supervisor.sock (project
	// names are up to ~45 bytes): keep the run dir short when the test's
	// temp dir is long.
	if len(e.Run) > 36 {
		short, err := os.MkdirTemp(suite.tmp, "run")
		if err != nil {
			t.Fatal(err)
		}
		e.Run = short
	}
	e.Dir = filepath.Join(base, e.Project)
	for _, d := range []string{e.Root, e.Run, e.Dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	roots := []string{base}
	if !strings.HasPrefix(e.Run, base+"/") {
		roots = append(roots, e.Run)
	}
	suite.mu.Lock()
	suite.roots = append(suite.roots, roots...)
	suite.mu.Unlock()

	// Registered after t.TempDir, so it runs before the dir is removed.
	t.Cleanup(func() {
		e.down(t)
		// Container processes show "/" as their root link, so checkLocal
		// does not see them: look for them by their mounts first.
		leaks := containerLeaks(e, leakGrace)
		if leaks = append(leaks, checkLocal(roots, leakGrace)...); len(leaks) > 0 {
			suite.mu.Lock()
			for _, l := range leaks {
				suite.leaks = append(suite.leaks, t.Name()+": "+l)
			}
			suite.mu.Unlock()
			t.Errorf("leaked after the test (now removed):\n  %s", strings.Join(leaks, "\n  "))
		}
		if !strings.HasPrefix(e.Run, base+"/") {
			_ = os.RemoveAll(e.Run)
		}
	})
	return e
}

// containerLeaks waits up to grace for the test's container processes (see
// containerProcs) to be gone; those left are returned as leak lines and
// killed.
func containerLeaks(e *Env, grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		procs := containerProcs(e)
		if len(procs) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var leaks []string
			for pid := range procs {
				leaks = append(leaks, fmt.Sprintf("container process: pid %d %s", pid, procCmdline(pid)))
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			time.Sleep(200 * time.Millisecond) // let the kills take effect before unmounting
			return leaks
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// projectName makes a project name unique to this test run from the test's
// name: lower case, [a-z0-9-], at most ~40 characters.
func projectName(test string) string {
	s := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(test), "-"), "-")
	s = strings.TrimPrefix(s, "test")
	s = strings.Trim(s, "-")
	if len(s) > 28 {
		s = strings.TrimRight(s[:28], "-")
	}
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	return fmt.Sprintf("e2e%d-%s-%s", projectSeq.Add(1), s, hex.EncodeToString(rnd[:]))
}

// down is the cleanup: berth down for every project the test used.
func (e *Env) down(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	var args [][]string
	if _, err := os.Stat(filepath.Join(e.Dir, "compose.yaml")); err == nil {
		args = append(args, []string{"down", "-v", "--remove-orphans", "-t", "0"})
	}
	for p := range e.projects {
		args = append(args, []string{"-p", p, "down", "-v", "--remove-orphans", "-t", "0"})
	}
	e.mu.Unlock()
	// The default bridge stays after its last container, as docker0 does;
	// a prune removes it (after the downs above, which may free it).
	if _, err := os.Stat(filepath.Join(e.Root, "networks", "bridge.json")); err == nil {
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
			defer cancel()
			if r := e.run(ctx, nil, "network", "prune", "-f"); r.Code != 0 {
				t.Logf("cleanup: berth network prune -f: %s", r)
			}
		}()
	}
	for _, a := range args {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		r := e.run(ctx, nil, a...)
		cancel()
		if r.Code != 0 && !strings.Contains(r.Stderr, "not implemented") {
			t.Logf("cleanup: berth %s: %s", strings.Join(a, " "), r)
		}
	}
}

// Compose writes the project's compose.yaml and returns its path.
func (e *Env) Compose(t *testing.T, yaml string) string {
	t.Helper()
	return e.WriteFile(t, "compose.yaml", yaml)
}

// WriteFile writes a file (an env file, a config, …) relative to the
// project dir, making its directories, and returns its path.
func (e *Env) WriteFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(e.Dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Image is the reference of a standard test image ("busybox",
// "httpecho:latest", …) in the suite's registry:
// "127.0.0.1:PORT/busybox:latest". Plain `image: busybox` works too: the
// registry is berth's docker.io mirror for the suite.
func (e *Env) Image(name string) string {
	if !strings.Contains(name, ":") {
		name += ":latest"
	}
	return suite.registry.Ref(name)
}

// Environ is the environment berth commands run with: the host's, less
// berth's and Compose's own variables, plus the test's state dirs, the
// suite registry as docker.io mirror, NO_COLOR=1 and ExtraEnv.
func (e *Env) Environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "BERTH_RUNTIME" || (!strings.HasPrefix(k, "BERTH_") && !strings.HasPrefix(k, "COMPOSE_") && k != "NO_COLOR") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"BERTH_ROOT="+e.Root,
		"BERTH_RUN="+e.Run,
		suite.registry.MirrorEnv(),
		"NO_COLOR=1",
	)
	env = append(env, noInternet...)
	return append(env, e.ExtraEnv...)
}

// noInternet keeps berth commands of the tests off the internet: a pull
// that the suite's mirror cannot serve falls back to the image's own
// registry (as Docker does), which would then be asked through a proxy
// that refuses at once. The suite's registry, on 127.0.0.1, is never
// proxied.
var noInternet = []string{"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost"}

// Cmd is an unstarted berth command in the project dir with the test's
// environment, for tests that need to signal it or feed its stdin (an
// attached `up`). The caller starts and waits for it.
func (e *Env) Cmd(ctx context.Context, args ...string) *exec.Cmd {
	e.noteProject(args)
	cmd := exec.CommandContext(ctx, suite.berth, args...)
	cmd.Dir = e.Dir
	cmd.Env = e.Environ()
	// On timeout, SIGQUIT first: a Go binary then prints every goroutine's
	// stack, which tells where it hung. SIGKILL follows if it does not die.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (e *Env) noteProject(args []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, a := range args {
		switch {
		case (a == "-p" || a == "--project-name") && i+1 < len(args):
			e.projects[args[i+1]] = true
		case strings.HasPrefix(a, "--project-name="):
			e.projects[strings.TrimPrefix(a, "--project-name=")] = true
		case strings.HasPrefix(a, "-p") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			e.projects[strings.TrimPrefix(a[2:], "=")] = true
		}
	}
}

// Berth runs the berth binary with args in the project dir and returns
// what it did. A command that outlives the Env's timeout is stopped and
// fails the test; so does one whose stdout/stderr stay open after it exits
// (a process it started, such as a supervisor, kept them).
func (e *Env) Berth(t *testing.T, args ...string) Result {
	t.Helper()
	timeout := e.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	r := e.run(ctx, nil, args...)
	if ctx.Err() != nil {
		t.Errorf("berth %s: did not finish within %s:\n%s", strings.Join(args, " "), timeout, r)
	}
	return r
}

// BerthStdin is Berth with stdin.
func (e *Env) BerthStdin(t *testing.T, stdin string, args ...string) Result {
	t.Helper()
	timeout := e.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	r := e.run(ctx, strings.NewReader(stdin), args...)
	if ctx.Err() != nil {
		t.Errorf("berth %s: did not finish within %s:\n%s", strings.Join(args, " "), timeout, r)
	}
	return r
}

func (e *Env) run(ctx context.Context, stdin *strings.Reader, args ...string) Result {
	cmd := e.Cmd(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = stdin
	}
	err := cmd.Run()
	r := Result{Code: cmd.ProcessState.ExitCode()} // -1 when it never ran
	if errors.Is(err, exec.ErrWaitDelay) {
		stderr.WriteString("\n[e2e: berth exited but its stdout/stderr stayed open: a process it started holds them]\n")
		if r.Code == 0 {
			r.Code = -1
		}
	} else if err != nil && cmd.ProcessState == nil {
		stderr.WriteString("\n[e2e: " + err.Error() + "]\n")
	}
	if ctx.Err() != nil {
		r.Code = -1
	}
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	return r
}

// MustBerth is Berth that fails the test, showing the output, unless the
// command exits 0.
func (e *Env) MustBerth(t *testing.T, args ...string) Result {
	t.Helper()
	r := e.Berth(t, args...)
	if r.Code != 0 {
		t.Fatalf("berth %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// Eventually retries check every 100ms until it returns nil, failing the
// test with its last error after timeout.
func Eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %s: %v", timeout, err)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("test ended while waiting: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// The tier's first scenarios, and checks that the framework itself works.

func TestConfigE2E(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: httpecho
    depends_on: [db]
    environment:
      GREETING: ${GREETING:-hi}
  db:
    image: busybox
    command: ["sleep", "1000"]
`)
	e.WriteFile(t, ".env", "GREETING=hello from dotenv\n")

	r := e.MustBerth(t, "config", "--services")
	got := strings.Fields(r.Stdout)
	sort.Strings(got)
	if strings.Join(got, " ") != "db web" {
		t.Errorf("config --services = %q, want db and web", r.Stdout)
	}

	r = e.MustBerth(t, "config", "--format", "json")
	var cfg struct {
		Name     string
		Services map[string]struct {
			Image       string
			Environment map[string]*string
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &cfg); err != nil {
		t.Fatalf("config --format json: %v\n%s", err, r.Stdout)
	}
	if cfg.Name != e.Project {
		t.Errorf("project name %q, want the directory's name %q", cfg.Name, e.Project)
	}
	if cfg.Services["db"].Image != "busybox" || cfg.Services["web"].Image != "httpecho" {
		t.Errorf("images: %+v", cfg.Services)
	}
	if g := cfg.Services["web"].Environment["GREETING"]; g == nil || *g != "hello from dotenv" {
		t.Errorf("GREETING = %v, want the .env value", g)
	}

	r = e.MustBerth(t, "config")
	for _, want := range []string{"name: " + e.Project, "services:", "image: busybox", "image: httpecho"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("config output lacks %q:\n%s", want, r.Stdout)
		}
	}

	r = e.MustBerth(t, "version")
	if !strings.HasPrefix(r.Stdout, "berth version ") {
		t.Errorf("version = %q", r.Stdout)
	}

	e.WriteFile(t, "compose.yaml", "services:\n  web:\n    imagez: busybox\n")
	r = e.Berth(t, "config")
	if r.Code == 0 || !strings.Contains(r.Stderr, "imagez") {
		t.Errorf("config of a bad file: want a failure naming imagez, got %s", r)
	}
}

// TestLeakCheckFinds proves the leak check can fail: a mount and a process
// left under a test's dir are found, then removed.
func TestLeakCheckFinds(t *testing.T) {
	dir := t.TempDir()
	mnt := filepath.Join(dir, "a dir")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(mnt, syscall.MNT_DETACH) })
	sleep := exec.Command("sleep", "60")
	sleep.Env = []string{"BERTH_ROOT=" + dir + "/root"}
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := make(chan struct{})
	go func() { _ = sleep.Wait(); close(reaped) }() // reap it, so it leaves /proc once killed
	t.Cleanup(func() { _ = sleep.Process.Kill(); <-reaped })

	got, err := mountsUnder([]string{dir})
	if err != nil || len(got) != 1 || got[0] != mnt {
		t.Fatalf("mountsUnder = %q, %v; want [%s]", got, err, mnt)
	}
	// /proc of a process just started may not show its new environment at
	// once on a loaded machine: look again for a little while.
	procs := procsUnder([]string{dir})
	for deadline := time.Now().Add(3 * time.Second); len(procs) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		procs = procsUnder([]string{dir})
	}
	if len(procs) != 1 || procs[0].pid != sleep.Process.Pid {
		t.Fatalf("procsUnder = %v, want pid %d", procs, sleep.Process.Pid)
	}
	leaks := checkLocal([]string{dir}, 0)
	if len(leaks) != 2 {
		t.Errorf("checkLocal = %q, want the process and the mount", leaks)
	}
	if got, _ := mountsUnder([]string{dir}); len(got) != 0 {
		t.Errorf("mount still there after checkLocal: %q", got)
	}
	if procs := waitProcsGone([]string{dir}, 2*time.Second); len(procs) != 0 {
		t.Errorf("process still there after checkLocal: %v", procs)
	}

	before := hostSnapshot{links: map[string]string{"br-1": "bridge"}, netns: map[string]bool{}, nft: map[string]int{"inet berth": 2}}
	after := hostSnapshot{
		links: map[string]string{"br-1": "bridge", "veth9": "veth"},
		netns: map[string]bool{"x": true},
		nft:   map[string]int{"inet berth": 3, "ip berth-nat": 0},
	}
	if got := strings.Join(newSince(before, after), "|"); got !=
		"link: veth9 (veth)|netns: /run/netns/x|nftables table: inet berth has 3 rules, had 2 before the suite|nftables table: ip berth-nat (0 rules)" {
		t.Errorf("newSince = %s", got)
	}
}
