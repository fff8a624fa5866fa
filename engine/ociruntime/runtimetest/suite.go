package runtimetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/internal/testutil"
)

// Run is the conformance suite every runtime driver passes. newRuntime
// returns a driver with its own state root (t.TempDir). It needs root and
// busybox-static, and makes the test process a child subreaper.
func Run(t *testing.T, newRuntime func(t *testing.T) ociruntime.Runtime) {
	testutil.RequiresRoot(t)
	BecomeSubreaper(t)
	tests := []struct {
		name string
		fn   func(t *testing.T, rt ociruntime.Runtime)
	}{
		{"Lifecycle", testLifecycle},
		{"Terminal", testTerminal},
		{"BadSpec", testBadSpec},
		{"RunExitCode", testRunExitCode},
		{"DefaultCannotMount", testDefaultCannotMount},
		{"OwnPIDNamespace", testOwnPIDs},
		{"CapDropAllUser", testCapDropAllUser},
		{"ReadOnlyRoot", testReadOnly},
		{"Limits", testLimits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newRuntime(t)) })
	}
}

// project is the compose project name tests put their cgroups under.
func project(t *testing.T) string { return "rtt-" + ID()[:8] }

// cleanupContainer kills and deletes id and reaps pid when the test ends.
func cleanupContainer(t *testing.T, rt ociruntime.Runtime, id string, pid *int) {
	t.Cleanup(func() {
		ctx := context.Background()
		_ = rt.Kill(ctx, id, syscall.SIGKILL, true)
		_ = rt.Delete(ctx, id, true)
		if *pid > 0 {
			_, _ = Wait(*pid, 5*time.Second)
		}
	})
}

func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		l, _ := r.ReadString('\n')
		ch <- strings.TrimSpace(l)
	}()
	select {
	case l := <-ch:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("timed out reading the container's output")
		return ""
	}
}

func wantStatus(t *testing.T, rt ociruntime.Runtime, id string, want ociruntime.Status) ociruntime.State {
	t.Helper()
	st, err := rt.State(t.Context(), id)
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	if st.Status != want {
		t.Fatalf("status %q, want %q", st.Status, want)
	}
	return st
}

func testLifecycle(t *testing.T, rt ociruntime.Runtime) {
	ctx := t.Context()
	rootfs := BusyboxRootfs(t)
	id := ID()
	bundle := Bundle(t, rootfs, project(t), id, types.ServiceConfig{
		ContainerSpec: types.ContainerSpec{Command: types.ShellCommand{"sh", "-c", "echo hi; sleep 30"}},
	})
	r, w := pipe(t)
	var pid int
	cleanupContainer(t, rt, id, &pid)
	pid, err := rt.Create(ctx, id, bundle, ociruntime.CreateOpts{Stdio: ociruntime.Stdio{Stdout: w, Stderr: w}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	w.Close() // the container holds its own copy
	if st := wantStatus(t, rt, id, ociruntime.StatusCreated); st.Pid != pid {
		t.Errorf("state pid %d, create returned %d", st.Pid, pid)
	}
	if err := rt.Start(ctx, id); err != nil {
		t.Fatalf("start: %v", err)
	}
	out := bufio.NewReader(r)
	if l := readLine(t, out); l != "hi" {
		t.Fatalf("container printed %q, want hi", l)
	}
	wantStatus(t, rt, id, ociruntime.StatusRunning)

	pids, err := rt.Ps(ctx, id)
	if err != nil {
		t.Fatalf("ps: %v", err)
	}
	if !slices.Contains(pids, pid) {
		t.Errorf("ps %v does not list the init pid %d", pids, pid)
	}
	checkExecs(t, rt, id)
	checkPauseResume(t, rt, id)
	checkKillDelete(t, rt, id, &pid)
}

// checkExecs runs execs in the running container id: attached ones with
// their output and exit codes, and a detached one, whose exit the test,
// as subreaper, reaps.
func checkExecs(t *testing.T, rt ociruntime.Runtime, id string) {
	t.Helper()
	var buf bytes.Buffer
	code := execIn(t, rt, id, []string{"echo", "from-exec"}, &buf)
	if code != 0 || strings.TrimSpace(buf.String()) != "from-exec" {
		t.Errorf("exec echo: code %d output %q", code, buf.String())
	}
	if code := execIn(t, rt, id, []string{"sh", "-c", "exit 3"}, io.Discard); code != 3 {
		t.Errorf("exec exit 3: code %d", code)
	}
	e, err := rt.Exec(t.Context(), id, ociruntime.ExecProcess(&specs.Process{Env: []string{"PATH=" + ociruntime.DefaultPath}},
		[]string{"sh", "-c", "exit 4"}, nil, "", false), ociruntime.ExecOpts{Detach: true})
	if err != nil {
		t.Fatalf("detached exec: %v", err)
	}
	if code, err := Wait(e.Pid, 10*time.Second); err != nil || code != 4 {
		t.Errorf("detached exec: wait4 %d: code %d, %v; want 4", e.Pid, code, err)
	}
}

// checkPauseResume pauses the running container id and resumes it.
func checkPauseResume(t *testing.T, rt ociruntime.Runtime, id string) {
	t.Helper()
	if err := rt.Pause(t.Context(), id); err != nil {
		t.Fatalf("pause: %v", err)
	}
	wantStatus(t, rt, id, ociruntime.StatusPaused)
	if err := rt.Resume(t.Context(), id); err != nil {
		t.Fatalf("resume: %v", err)
	}
	wantStatus(t, rt, id, ociruntime.StatusRunning)
}

// checkKillDelete kills the running container id, reaps its init *pid
// (then 0, so the cleanup does not kill it again), and deletes it, twice.
func checkKillDelete(t *testing.T, rt ociruntime.Runtime, id string, pid *int) {
	t.Helper()
	ctx := t.Context()
	if err := rt.Kill(ctx, id, syscall.SIGKILL, false); err != nil {
		t.Fatalf("kill: %v", err)
	}
	code, err := Wait(*pid, 10*time.Second)
	if err != nil {
		t.Fatalf("wait4 %d: %v", *pid, err)
	}
	if code != 137 {
		t.Errorf("exit code %d, want 137 (SIGKILL)", code)
	}
	*pid = 0
	wantStatus(t, rt, id, ociruntime.StatusStopped)
	if err := rt.Delete(ctx, id, false); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := rt.State(ctx, id); !errors.Is(err, ociruntime.ErrNotFound) {
		t.Errorf("state after delete: %v, want ErrNotFound", err)
	}
	if err := rt.Delete(ctx, id, true); err != nil {
		t.Errorf("forced delete of a deleted container: %v", err)
	}
}

func execIn(t *testing.T, rt ociruntime.Runtime, id string, args []string, out io.Writer) int {
	t.Helper()
	p := ociruntime.ExecProcess(&specs.Process{
		Cwd: "/", Env: []string{"PATH=" + ociruntime.DefaultPath},
		Capabilities: &specs.LinuxCapabilities{
			Bounding: ociruntime.DefaultCapabilities(), Effective: ociruntime.DefaultCapabilities(),
			Permitted: ociruntime.DefaultCapabilities(),
		},
	}, args, nil, "", false)
	e, err := rt.Exec(t.Context(), id, p, ociruntime.ExecOpts{Stdout: out, Stderr: out})
	if err != nil {
		t.Fatalf("exec %v: %v", args, err)
	}
	code, err := e.Wait()
	if err != nil {
		t.Fatalf("exec %v: %v", args, err)
	}
	return code
}

func testBadSpec(t *testing.T, rt ociruntime.Runtime) {
	ctx := t.Context()
	id := ID()
	bundle := Bundle(t, BusyboxRootfs(t), project(t), id, types.ServiceConfig{
		ContainerSpec: types.ContainerSpec{Command: types.ShellCommand{"/nonexistent-binary"}},
	})
	var pid int
	cleanupContainer(t, rt, id, &pid)
	pid, err := rt.Create(ctx, id, bundle, ociruntime.CreateOpts{})
	if err == nil {
		err = rt.Start(ctx, id)
	}
	if err == nil {
		t.Fatal("a container whose binary is missing started")
	}
	t.Logf("error (as expected): %v", err)
	if !strings.Contains(err.Error(), "nonexistent-binary") {
		t.Errorf("error %q does not carry the runtime's message about the missing binary", err)
	}
	if !strings.Contains(err.Error(), rt.Name()) {
		t.Errorf("error %q does not name the runtime", err)
	}
}

// runOut runs svc in the foreground and returns its exit code and output.
func runOut(t *testing.T, rt ociruntime.Runtime, svc types.ServiceConfig) (int, string) {
	t.Helper()
	id := ID()
	bundle := Bundle(t, BusyboxRootfs(t), project(t), id, svc)
	t.Cleanup(func() { _ = rt.Delete(context.Background(), id, true) })
	r, w := pipe(t)
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&buf, r); close(done) }()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code, err := rt.Run(ctx, id, bundle, ociruntime.Stdio{Stdout: w, Stderr: w})
	w.Close()
	if err != nil {
		t.Fatalf("run %v: %v", svc.Command, err)
	}
	<-done
	return code, buf.String()
}

func cmd(args ...string) types.ServiceConfig {
	return types.ServiceConfig{ContainerSpec: types.ContainerSpec{Command: args}}
}

func testRunExitCode(t *testing.T, rt ociruntime.Runtime) {
	code, out := runOut(t, rt, cmd("sh", "-c", "echo out; exit 5"))
	if code != 5 || strings.TrimSpace(out) != "out" {
		t.Errorf("run: code %d output %q, want 5 and out", code, out)
	}
}

func testDefaultCannotMount(t *testing.T, rt ociruntime.Runtime) {
	code, out := runOut(t, rt, cmd("mount", "-t", "tmpfs", "x", "/mnt"))
	if code == 0 {
		t.Fatalf("a default container mounted a tmpfs: %q", out)
	}
	if !strings.Contains(out, "denied") && !strings.Contains(out, "not permitted") {
		t.Errorf("mount failed for another reason than EPERM: %q", out)
	}
}

func testOwnPIDs(t *testing.T, rt ociruntime.Runtime) {
	code, out := runOut(t, rt, cmd("ls", "/proc"))
	if code != 0 {
		t.Fatalf("ls /proc: code %d: %s", code, out)
	}
	var pids []string
	for _, f := range strings.Fields(out) {
		if strings.Trim(f, "0123456789") == "" {
			pids = append(pids, f)
		}
	}
	if !slices.Equal(pids, []string{"1"}) {
		t.Errorf("container sees pids %v, want only its own [1]", pids)
	}
}

func testCapDropAllUser(t *testing.T, rt ociruntime.Runtime) {
	svc := cmd("sh", "-c", "id -u; id -G; grep Cap[EP] /proc/self/status")
	svc.CapDrop = []string{"ALL"}
	svc.User = "1000"
	code, out := runOut(t, rt, svc)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) < 1 || lines[0] != "1000" {
		t.Fatalf("id -u: code %d output %q, want 1000", code, out)
	}
	if !strings.Contains(out, "CapEff:\t0000000000000000") {
		t.Errorf("capabilities left after cap_drop ALL: %q", out)
	}
	if len(lines) < 2 || lines[1] != "1000 50" {
		t.Errorf("id -G = %q, want the primary and supplementary groups 1000 50", lines[1])
	}
}

func testReadOnly(t *testing.T, rt ociruntime.Runtime) {
	svc := cmd("sh", "-c", "touch /x 2>/dev/null && echo root-writable; touch /tmp/x && echo tmp-ok")
	svc.ReadOnly = true
	svc.Tmpfs = types.StringList{"/tmp:size=1m"}
	code, out := runOut(t, rt, svc)
	if code != 0 || strings.Contains(out, "root-writable") || !strings.Contains(out, "tmp-ok") {
		t.Errorf("read_only: code %d output %q, want / read-only and /tmp writable", code, out)
	}
}

func testLimits(t *testing.T, rt ociruntime.Runtime) {
	svc := cmd("sh", "-c", `cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max
cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max`)
	svc.PidsLimit = 10
	svc.MemLimit = 64 << 20
	code, out := runOut(t, rt, svc)
	lines := strings.Fields(out)
	if code != 0 || len(lines) != 2 {
		t.Fatalf("code %d output %q", code, out)
	}
	if lines[0] != "10" {
		t.Errorf("pids.max %q, want 10", lines[0])
	}
	if lines[1] != "67108864" {
		t.Errorf("memory limit %q, want 67108864", lines[1])
	}
}

func testTerminal(t *testing.T, rt ociruntime.Runtime) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	id := ID()
	svc := cmd("sh", "-c", "[ -t 0 ] && [ -t 1 ] && echo tty-$TERM; sleep 30")
	svc.Tty = true
	bundle := Bundle(t, BusyboxRootfs(t), project(t), id, svc)
	sock, err := ociruntime.NewConsoleSocket(filepath.Join(t.TempDir(), "console.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	var pid int
	cleanupContainer(t, rt, id, &pid)
	type recv struct {
		f   *os.File
		err error
	}
	got := make(chan recv, 1)
	go func() { f, err := sock.ReceiveMaster(ctx); got <- recv{f, err} }()
	pid, err = rt.Create(ctx, id, bundle, ociruntime.CreateOpts{ConsoleSocket: sock.Path()})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.f.Close()
	if err := rt.Start(ctx, id); err != nil {
		t.Fatalf("start: %v", err)
	}
	if l := readLine(t, bufio.NewReader(r.f)); l != "tty-xterm" {
		t.Errorf("container printed %q, want tty-xterm", l)
	}
}
