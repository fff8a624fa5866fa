package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// reapOrphans reaps the zombies that came to the supervisor, the child
// subreaper, without being anything it waits for:
//   - crun's create (and exec --detach) returns as soon as its helper, the
//     forked process that made the container, reports, and the helper exits
//     an instant later, after its parent; it is then re-parented here (in a
//     session of crun's making);
//   - a runtime call killed while it starts a process (a healthcheck's exec
//     at its timeout) leaves its children, re-parented here: the runtime's
//     own stages (in the call's process group) and the process in the
//     container (a session of its own, in the container's pid namespace).
//     The kernel ends a container's init only once every process of its
//     pid namespace is reaped, so such a zombie left alone makes the init
//     unkillable: stop waits forever.
//
// What the supervisor waits for itself (os/exec) is left to it: a runtime
// call leads a process group of its own in the supervisor's session
// (Setpgid), any other child shares the supervisor's group and session.
// Container inits (skip) are reaped by reap with their exit code — and so
// is one not registered yet (a runtime that creates and starts in one call
// returns its pid after the command may have ended): a session leader
// (every init is one) that is pid 1 of its pid namespace, or in the
// supervisor's own (a container sharing the host's), is left alone.
func reapOrphans(skip func(pid int) bool) {
	self, pgrp := os.Getpid(), unix.Getpgrp()
	sid, err := unix.Getsid(0)
	if err != nil {
		return
	}
	for _, pid := range ownChildren() {
		if skip(pid) {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.state != 'Z' || st.ppid != self || startedHere(st, pid, pgrp, sid) || mayBeInit(pid, st) {
			continue
		}
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
}

// startedHere reports whether child pid, with /proc stat st, is one this
// process (group pgrp, session sid) started and waits for itself: one in
// its session that leads its own group (a runtime call) or shares the
// process's group.
func startedHere(st procStat, pid, pgrp, sid int) bool {
	return st.session == sid && (st.pgrp == pid || st.pgrp == pgrp)
}

// mayBeInit reports whether zombie pid may be a container's init: a
// session leader that is pid 1 of its pid namespace or lives in ours.
func mayBeInit(pid int, st procStat) bool {
	if st.session != pid {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return true // unknown: leave it
	}
	inner, levels := nsPid(b)
	return levels <= 1 || inner == 1
}

// nsPid reads the NSpid line of /proc/PID/status: the process's pid in
// its innermost pid namespace and how many namespaces it has one in.
func nsPid(status []byte) (inner, levels int) {
	for _, line := range strings.Split(string(status), "\n") {
		rest, ok := strings.CutPrefix(line, "NSpid:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, 0
		}
		inner, _ = strconv.Atoi(f[len(f)-1])
		return inner, len(f)
	}
	return 0, 0
}

// procStat is what reapOrphans reads of /proc/PID/stat.
type procStat struct {
	state               byte
	ppid, pgrp, session int
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(b)
}

// parseProcStat parses "pid (comm) state ppid pgrp session ..."; comm may
// hold spaces and parentheses, so the fields start after the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("proc stat %q: no comm", b)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("proc stat %q: too short", b)
	}
	st := procStat{state: f[0][0]}
	var errs [3]error
	st.ppid, errs[0] = strconv.Atoi(f[1])
	st.pgrp, errs[1] = strconv.Atoi(f[2])
	st.session, errs[2] = strconv.Atoi(f[3])
	for _, err := range errs {
		if err != nil {
			return procStat{}, fmt.Errorf("proc stat %q: %w", b, err)
		}
	}
	return st, nil
}

// ownChildren lists this process's children (every thread's), from
// /proc/self/task/*/children; nothing where the kernel lacks the file.
func ownChildren() []int {
	tasks, _ := os.ReadDir("/proc/self/task")
	var pids []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if p, err := strconv.Atoi(f); err == nil {
				pids = append(pids, p)
			}
		}
	}
	return pids
}
