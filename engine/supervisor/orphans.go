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
// subreaper, without being anything it waits for: crun's create (and exec
// --detach) returns as soon as its helper, the forked process that made
// the container, reports, and the helper exits an instant later, after
// its parent; it is then re-parented here. Such a zombie is told from the
// supervisor's own children by its session and group: a runtime call the
// supervisor starts leads a process group of its own (Setpgid), any other
// child shares the supervisor's session; the helper is in a session of
// crun's making and leads no group. Container inits (skip) are reaped by
// reap with their exit code, whatever their group.
func reapOrphans(skip func(pid int) bool) {
	self := os.Getpid()
	sid, err := unix.Getsid(0)
	if err != nil {
		return
	}
	for _, pid := range ownChildren() {
		if skip(pid) {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.state != 'Z' || st.ppid != self || st.pgrp == pid || st.session == sid {
			continue
		}
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
	}
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
