package supervisor

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/ociruntime/runtimetest"
	"github.com/berth-dev/berth/internal/testutil"
)

func TestParseProcStat(t *testing.T) {
	st, err := parseProcStat([]byte("4242 (cr) un (x)) Z 17 4240 4239 0 -1 4194560 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st != (procStat{state: 'Z', ppid: 17, pgrp: 4240, session: 4239}) {
		t.Errorf("got %+v", st)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) Z 2", "1 (x) Z a b c"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q): no error", bad)
		}
	}
}

// TestReapOrphansStrays: the zombies a killed runtime call leaves here
// (the subreaper) are reaped — its own stages, in the call's process
// group, and the process it was starting in the container: a session
// leader in the container's pid namespace that is not its pid 1 (runc's
// exec stage, which holds the container's init in zap_pid_ns_processes
// until reaped). Left alone: children this process waits for itself (one
// leading its own group, as a runtime call; one in its group), and a
// session leader that may be a container's init not registered yet — pid
// 1 of its namespace, or in ours (a container sharing the host's).
func TestReapOrphansStrays(t *testing.T) {
	testutil.RequiresRoot(t) // pid namespaces
	if !inOwnProcess(t) {
		return
	}
	runtimetest.BecomeSubreaper(t)
	deadline := time.Now().Add(10 * time.Second)
	waitFor := func(what string, pid int, ok func(int) bool) {
		t.Helper()
		waitUntil(t, deadline, what, pid, ok)
	}
	childOf := func(pid int) int {
		t.Helper()
		var got int
		waitFor("a child of", pid, func(pid int) bool {
			b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
			f := strings.Fields(string(b))
			if len(f) > 0 {
				got, _ = strconv.Atoi(f[0])
			}
			return got > 0
		})
		return got
	}
	start := func(args ...string) *exec.Cmd {
		t.Helper()
		c := exec.Command(args[0], args[1:]...)
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // as a runtime call
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	kill := func(c *exec.Cmd) { c.Process.Kill(); c.Wait() }

	// A container: its init (a session leader, pid 1 of a new pid
	// namespace) re-parented here when the call that made it ends.
	mk := start("unshare", "--pid", "--fork", "setsid", "sleep", "1")
	init := childOf(mk.Process.Pid)
	// An exec into it, killed while its process runs: that process (a
	// session leader in the container's namespace, not its pid 1) comes
	// here.
	ex := start("nsenter", "-t", strconv.Itoa(init), "--pid", "--", "setsid", "sleep", "0.3")
	inCtr := childOf(ex.Process.Pid)
	kill(ex)
	kill(mk)
	// A call that exits leaving two processes behind: one in its group,
	// one in a session of its own, both in our pid namespace.
	call := exec.Command("sh", "-c", `sleep 0.2 & echo $!; (exec setsid sleep 0.2) & echo $!; exit 0`)
	call.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := call.Output()
	if err != nil {
		t.Fatal(err)
	}
	var inGroup, leader int
	if _, err := fmt.Sscan(string(out), &inGroup, &leader); err != nil {
		t.Fatalf("pids %q: %v", out, err)
	}
	// Children waited for by cmd.Wait: a Setpgid one and a plain one.
	ours := start("true")
	plain := exec.Command("true")
	if err := plain.Start(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{inCtr, inGroup, leader, ours.Process.Pid, plain.Process.Pid} {
		waitFor("zombie", pid, zombie)
	}

	reapOrphans(func(int) bool { return false })

	for _, pid := range []int{inCtr, inGroup} {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			t.Errorf("stray zombie %d left unreaped", pid)
		}
	}
	// The container's init can end now (it waited in zap_pid_ns_processes
	// for inCtr); it is not reaped by reapOrphans either.
	waitFor("zombie (the container's init, whose namespace still held a zombie)", init, zombie)
	reapOrphans(func(int) bool { return false })
	for _, pid := range []int{init, leader} {
		var ws unix.WaitStatus
		if got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); got != pid {
			t.Errorf("possible container init %d was reaped by reapOrphans (wait4: %d, %v)", pid, got, err)
		}
	}
	for _, c := range []*exec.Cmd{ours, plain} {
		if err := c.Wait(); err != nil {
			t.Errorf("Wait of a child of ours after reapOrphans: %v (reaped by it)", err)
		}
	}
}

func TestNSpid(t *testing.T) {
	for in, want := range map[string][2]int{
		"Name:\tsleep\nNSpid:\t9406\t5\nNSpgid:\t1\n": {5, 2},
		"NSpid:\t9329\t1\n":                           {1, 2},
		"Pid:\t7\nNSpid:\t7\n":                        {7, 1},
		"Pid:\t7\n":                                   {0, 0},
	} {
		if inner, levels := nsPid([]byte(in)); inner != want[0] || levels != want[1] {
			t.Errorf("nsPid(%q) = %d, %d; want %d, %d", in, inner, levels, want[0], want[1])
		}
	}
}

// TestReapWaitsForStarts: while a start is between the runtime's create
// and the init's registration (starting), reap leaves strays for a later
// round — the zombie may be that init — and takes them after.
func TestReapWaitsForStarts(t *testing.T) {
	if !inOwnProcess(t) {
		return
	}
	runtimetest.BecomeSubreaper(t)
	call := exec.Command("sh", "-c", `sleep 0.1 & echo $!; exit 0`) // a stray in the dead call's group (alive when sh exits, so not sh's to reap)
	call.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := call.Output()
	if err != nil {
		t.Fatal(err)
	}
	var stray int
	if _, err := fmt.Sscan(string(out), &stray); err != nil {
		t.Fatalf("pid %q: %v", out, err)
	}
	waitUntil(t, time.Now().Add(10*time.Second), "zombie", stray, zombie)
	s := &Server{containers: map[string]*managed{}, byPid: map[int]*managed{}}
	s.starting.RLock()
	s.reap()
	s.starting.RUnlock()
	if _, err := os.Stat("/proc/" + strconv.Itoa(stray)); err != nil {
		t.Fatalf("reap took zombie %d while a start was in flight", stray)
	}
	s.reap()
	if _, err := os.Stat("/proc/" + strconv.Itoa(stray)); err == nil {
		t.Errorf("reap left zombie %d once no start was in flight", stray)
	}
}

// zombie reports whether pid is a zombie.
func zombie(pid int) bool {
	st, err := readProcStat(pid)
	return err == nil && st.state == 'Z'
}

// waitUntil waits for ok(pid), failing the test at deadline.
func waitUntil(t *testing.T, deadline time.Time, what string, pid int, ok func(int) bool) {
	t.Helper()
	for !ok(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s %d: not so by the deadline", what, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// inOwnProcess runs the calling test alone in a process of its own (this
// test binary again) and reports whether the caller is that process: a
// test of what is reaped must not meet another test's reaping (every
// Server's start reaps) in a shared process.
func inOwnProcess(t *testing.T) bool {
	t.Helper()
	const env = "BERTH_SUPERVISOR_TEST_ALONE"
	if os.Getenv(env) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in a process of its own: %v\n%s", t.Name(), err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s in a process of its own did not pass:\n%s", t.Name(), out)
	}
	return false
}
