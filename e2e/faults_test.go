package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Faults: what berth says and leaves when something breaks under it.

// TestSupervisorKilled: after a kill -9 of the project's supervisor, ps says
// the containers are unwatched, and up repairs.
func TestSupervisorKilled(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  a:
    image: busybox
    network_mode: none
    command: `+longRunning("a-up")+`
  b:
    image: busybox
    network_mode: none
    command: `+longRunning("b-up")+`
`)
	e.MustBerth(t, "up", "-d")
	sup := supervisorPid(e, e.Project)
	if !procAlive(sup) || !strings.Contains(procCmdline(sup), "__supervise") {
		t.Fatalf("supervisor pid %d (%q) is not a live supervisor", sup, procCmdline(sup))
	}
	if err := syscall.Kill(sup, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 supervisor %d: %v", sup, err)
	}
	Eventually(t, 5*time.Second, func() error {
		if procAlive(sup) {
			return fmt.Errorf("supervisor %d still alive", sup)
		}
		return nil
	})

	r := e.MustBerth(t, "ps")
	if !strings.Contains(r.Stdout, "supervisor gone") {
		t.Errorf("ps after the supervisor was killed does not say so:\n%s", r.Stdout)
	}
	for _, p := range mustPs(t, e) {
		if !strings.Contains(p.Status, "supervisor gone") {
			t.Errorf("ps --format json: %s status %q, want it to say the supervisor is gone", p.Service, p.Status)
		}
	}

	r = e.MustBerth(t, "up", "-d")
	ps := mustPs(t, e)
	if got := states(ps); len(ps) != 2 || got["a"] != "running" || got["b"] != "running" {
		t.Errorf("after up -d repaired, ps = %+v; want a and b running", ps)
	}
	for _, p := range ps {
		if strings.Contains(p.Status, "supervisor gone") {
			t.Errorf("after up -d, %s still says %q; up -d said:\n%s", p.Service, p.Status, r.Stderr)
		}
	}
	if sup2 := supervisorPid(e, e.Project); sup2 == sup || !procAlive(sup2) {
		t.Errorf("after up -d, supervisor pid %d (was %d), alive %v; want a new live one", sup2, sup, procAlive(sup2))
	}
	// The repaired project is watched again: a stop works and is seen.
	e.MustBerth(t, "stop", "-t", "5")
	if got := states(mustPs(t, e, "-a")); got["a"] != "exited" || got["b"] != "exited" {
		t.Errorf("after stop, ps -a states = %v; want a and b exited", got)
	}
	if n := len(containerInits(e)); n != 0 {
		t.Errorf("%d container processes still run after stop (the ones the killed supervisor watched?)", n)
	}
	e.MustBerth(t, "down")
	assertNothingLeft(t, e)
}

// TestContainerProcessKilled: a kill -9 of a container's process (behind
// berth's back) is seen as an exit with code 137; restart: always restarts
// it.
func TestContainerProcessKilled(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  always:
    image: busybox
    network_mode: none
    restart: always
    command: `+longRunning("run")+`
`)
	e.MustBerth(t, "up", "-d")
	Eventually(t, 10*time.Second, func() error {
		if n := runsOf(t, e, "always"); n != 1 {
			return fmt.Errorf("always ran %d times, want 1", n)
		}
		return nil
	})
	inits := containerInits(e)
	if len(inits) != 1 {
		t.Fatalf("found container processes %v, want one", inits)
	}
	if err := syscall.Kill(inits[0], syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", inits[0], err)
	}
	Eventually(t, 20*time.Second, func() error {
		if n := runsOf(t, e, "always"); n != 2 {
			return fmt.Errorf("always ran %d times after its process was killed, want 2", n)
		}
		if st := states(mustPs(t, e))["always"]; st != "running" {
			return fmt.Errorf("always is %q, want running again", st)
		}
		return nil
	})

	// Without a restart policy the crash shows as exit code 137.
	e.Compose(t, `services:
  always:
    image: busybox
    network_mode: none
    restart: always
    command: `+longRunning("run")+`
  once:
    image: busybox
    network_mode: none
    command: `+longRunning("once-up")+`
`)
	e.MustBerth(t, "up", "-d", "once")
	Eventually(t, 10*time.Second, func() error {
		if n := count(serviceLines(t, e, "once"), "once-up"); n != 1 {
			return fmt.Errorf("once printed once-up %d times", n)
		}
		return nil
	})
	before := containerInits(e)
	if len(before) != 2 {
		t.Fatalf("container processes %v, want two", before)
	}
	var victim int
	for _, pid := range before {
		if strings.Contains(procCmdline(pid), "once-up") {
			victim = pid
		}
	}
	if victim == 0 {
		t.Fatalf("cannot tell once's process among %v", before)
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p := waitExited(t, e, "once", 15*time.Second)
	if p.ExitCode != 137 {
		t.Errorf("once exit code %d after kill -9, want 137", p.ExitCode)
	}
	if st := states(mustPs(t, e))["always"]; st != "running" {
		t.Errorf("always is %q after another container was killed, want running", st)
	}
}

// TestMissingRuntime: a runtime binary that does not exist fails up with a
// message naming it, and leaves nothing.
func TestMissingRuntime(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  a:
    image: busybox
    network_mode: none
    command: `+longRunning("a-up")+`
  b:
    image: busybox
    network_mode: none
    command: `+longRunning("b-up")+`
`)
	saved := e.ExtraEnv
	e.ExtraEnv = append(append([]string(nil), saved...), "BERTH_RUNTIME=/nonexistent/runc")
	r := e.Berth(t, "up", "-d")
	e.ExtraEnv = saved
	if r.Code == 0 {
		t.Fatalf("up -d with BERTH_RUNTIME=/nonexistent/runc succeeded: %s", r)
	}
	if !strings.Contains(r.Stderr, "/nonexistent/runc") {
		t.Errorf("the error does not name the runtime /nonexistent/runc:\n%s", r.Stderr)
	}
	if strings.Count(r.Stderr, "goroutine ") > 0 {
		t.Errorf("up crashed:\n%s", r.Stderr)
	}
	assertNothingLeft(t, e)
}

// TestBadUser: user: nosuchuser fails with a message naming the user and
// the service, and leaves nothing behind.
func TestBadUser(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  good:
    image: busybox
    network_mode: none
    command: `+longRunning("good-up")+`
  baduser:
    image: busybox
    network_mode: none
    user: nosuchuser
    command: ["true"]
`)
	r := e.Berth(t, "up", "-d", "baduser")
	if r.Code == 0 {
		t.Fatalf("up -d of a service with user: nosuchuser succeeded: %s", r)
	}
	if !strings.Contains(r.Stderr, "nosuchuser") || !strings.Contains(r.Stderr, "baduser") {
		t.Errorf("the error does not name both the user nosuchuser and the service baduser:\n%s", r.Stderr)
	}
	assertNothingLeft(t, e)

	// The whole project: the good service may start, the bad one fails the
	// same way; down then leaves nothing.
	r = e.Berth(t, "up", "-d")
	if r.Code == 0 || !strings.Contains(r.Stderr, "nosuchuser") {
		t.Errorf("up -d of the project: want a failure naming nosuchuser, got %s", r)
	}
	for _, p := range mustPs(t, e, "-a") {
		if p.Service == "baduser" {
			t.Errorf("ps -a lists a container of baduser after the failed up: %+v", p)
		}
	}
	e.MustBerth(t, "down")
	assertNothingLeft(t, e)
}

// Process helpers: the supervisor's and the containers' host processes.

// supervisorPid reads the project's supervisor pid file (0 when absent).
func supervisorPid(e *Env, project string) int {
	b, err := os.ReadFile(filepath.Join(e.Run, "projects", project, "supervisor.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// procAlive reports whether pid is a live (not zombie) process.
func procAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	st := s[i+2]
	return st != 'Z' && st != 'X'
}

func procCmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// containerProcs maps pid → ppid for every process in one of the test's
// containers: a process in another mount namespace whose mounts name the
// test's state root (its rootfs overlay's upperdir is there). Its
// /proc/PID/root reads "/", so the root link cannot tell.
func containerProcs(e *Env) map[int]int {
	out := map[int]int{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	self, _ := os.Readlink("/proc/self/ns/mnt")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || !procAlive(pid) {
			continue
		}
		if ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err != nil || ns == self {
			continue
		}
		mi, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
		if err != nil || !strings.Contains(string(mi), e.Root+"/") {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		st := string(b)
		f := strings.Fields(st[strings.LastIndexByte(st, ')')+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		out[pid] = ppid
	}
	return out
}

// containerInits lists the host PIDs of the containers' init processes:
// container processes whose parent is not one.
func containerInits(e *Env) []int {
	procs := containerProcs(e)
	var out []int
	for pid, ppid := range procs {
		if _, ok := procs[ppid]; !ok {
			out = append(out, pid)
		}
	}
	sort.Ints(out)
	return out
}
