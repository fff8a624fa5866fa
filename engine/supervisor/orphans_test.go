package supervisor

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/ociruntime/runtimetest"
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
// (the subreaper) are reaped — one in the call's process group, one in a
// session of its own, as runc's exec stages and the process it started
// in the container — while children this process waits for itself (one
// leading its own group, as a runtime call; one in its group) are left to
// their cmd.Wait.
func TestReapOrphansStrays(t *testing.T) {
	runtimetest.BecomeSubreaper(t)
	// a "runtime call": its own group; it leaves two children and exits
	call := exec.Command("sh", "-c", `sleep 0.2 & echo $!; (exec setsid sleep 0.2) & echo $!; exit 0`)
	call.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := call.Output()
	if err != nil {
		t.Fatal(err)
	}
	var strays []int
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("stray pids %q: %v", out, err)
		}
		strays = append(strays, pid)
	}
	// children waited for by cmd.Wait: a Setpgid one and a plain one
	leader := exec.Command("true")
	leader.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	plain := exec.Command("true")
	for _, c := range []*exec.Cmd{leader, plain} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	zombie := func(pid int) bool {
		st, err := readProcStat(pid)
		return err == nil && st.state == 'Z'
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range append(strays, leader.Process.Pid, plain.Process.Pid) {
		for !zombie(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d not a zombie here: %v", pid, func() error { _, err := readProcStat(pid); return err }())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	reapOrphans(func(int) bool { return false })
	for _, pid := range strays {
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
			t.Errorf("stray zombie %d left unreaped", pid)
		}
	}
	for _, c := range []*exec.Cmd{leader, plain} {
		if err := c.Wait(); err != nil {
			t.Errorf("Wait of a child of ours after reapOrphans: %v (reaped by it)", err)
		}
	}
}
