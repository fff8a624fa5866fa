package e2e

import (
	"encoding/json"
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

// TestSupervisorKilled (issue 11 item 13): a kill -9 of the project's
// supervisor loses nothing, with no berth command run to repair it: its
// keeper starts a new one at once, which adopts the running containers; a
// container keeps logging through the gap, and restart: always still
// restarts a container whose process then dies.
func TestSupervisorKilled(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  ticker:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "i=0; while true; do echo tick $$i; i=$$((i+1)); sleep 0.1; done"]
  always:
    image: busybox
    network_mode: none
    restart: always
    command: `+longRunning("run")+`
`)
	e.MustBerth(t, "up", "-d")
	sup := supervisorPid(e, e.Project)
	if !procAlive(sup) || !strings.Contains(procCmdline(sup), "__supervise") {
		t.Fatalf("supervisor pid %d (%q) is not a live supervisor", sup, procCmdline(sup))
	}
	Eventually(t, 10*time.Second, func() error {
		if n := strings.Count(containerLog(t, e, "tick"), `"log":"tick`); n < 5 {
			return fmt.Errorf("ticker logged %d ticks, want 5 before the kill", n)
		}
		return nil
	})
	// The OOM killer spares the supervisor and its keeper, not containers.
	keeper := procPpid(sup)
	if !strings.Contains(procCmdline(keeper), "__supervise") {
		t.Fatalf("the supervisor's parent %d (%q) is not its keeper", keeper, procCmdline(keeper))
	}
	// Lowering a score needs CAP_SYS_RESOURCE, which some sandboxes drop.
	canLower := capEff(t, procFile(os.Getpid(), "status"))&(1<<capSysResource) != 0
	for _, pid := range append([]int{sup, keeper}, containerInits(e)...) {
		want := "0"
		if (pid == sup || pid == keeper) && canLower {
			want = "-999"
		}
		if got := procFile(pid, "oom_score_adj"); got != want {
			t.Errorf("pid %d (%s): oom_score_adj %q, want %s", pid, procCmdline(pid), got, want)
		}
	}
	if err := syscall.Kill(sup, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 supervisor %d: %v", sup, err)
	}
	killedAt := time.Now()

	// Logs go on: ticks written after the kill reach the log.
	Eventually(t, 10*time.Second, func() error {
		if n := ticksSince(t, containerLog(t, e, "tick"), killedAt.Add(time.Second)); n < 10 {
			return fmt.Errorf("%d ticks logged from 1s after the supervisor was killed, want 10", n)
		}
		return nil
	})
	// A new supervisor watches the project.
	sup2 := supervisorPid(e, e.Project)
	if sup2 == sup || !procAlive(sup2) {
		t.Fatalf("after the kill, supervisor pid %d (was %d), alive %v; want a new live one", sup2, sup, procAlive(sup2))
	}
	t.Logf("resident now: keeper %d KiB, supervisor %d KiB", procRSSKiB(keeper), procRSSKiB(sup2))
	// The restart policy holds: always's process dies and comes back.
	var victim int
	for _, pid := range containerInits(e) {
		if strings.Contains(procCmdline(pid), "echo run") {
			victim = pid
		}
	}
	if victim == 0 {
		t.Fatalf("cannot find always's process among %v", containerInits(e))
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 15*time.Second, func() error {
		if n := strings.Count(containerLog(t, e, `"log":"run`), `"log":"run`); n != 2 {
			return fmt.Errorf("always ran %d times after its process was killed, want 2", n)
		}
		return nil
	})

	ps := mustPs(t, e)
	if got := states(ps); len(ps) != 2 || got["ticker"] != "running" || got["always"] != "running" {
		t.Errorf("ps = %+v; want ticker and always running", ps)
	}
	for _, p := range ps {
		if strings.Contains(p.Status, "supervisor gone") {
			t.Errorf("%s says %q", p.Service, p.Status)
		}
	}
	// The adopted ticker is stopped like any other.
	e.MustBerth(t, "stop", "-t", "5")
	if got := states(mustPs(t, e, "-a")); got["ticker"] != "exited" || got["always"] != "exited" {
		t.Errorf("after stop, ps -a states = %v; want both exited", got)
	}
	if n := len(containerInits(e)); n != 0 {
		t.Errorf("%d container processes still run after stop", n)
	}
	e.MustBerth(t, "down")
	assertNothingLeft(t, e)
}

const capSysResource = 24

func procFile(pid int, name string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	return strings.TrimSpace(string(b))
}

// procPpid is pid's parent, from /proc/PID/status.
func procPpid(pid int) int {
	for _, l := range strings.Split(procFile(pid, "status"), "\n") {
		if v, ok := strings.CutPrefix(l, "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

func procRSSKiB(pid int) int {
	for _, l := range strings.Split(procFile(pid, "status"), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// containerLog returns the json-file log of the test's container whose log
// holds needle ("" when none does), read straight from the state root: no
// berth command runs.
func containerLog(t *testing.T, e *Env, needle string) string {
	t.Helper()
	var found string
	filepath.WalkDir(e.Root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "-json.log") {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), needle) {
			found = string(b)
		}
		return nil
	})
	return found
}

// ticksSince counts the entries of a json-file log stamped after since.
func ticksSince(t *testing.T, log string, since time.Time) int {
	t.Helper()
	n := 0
	for _, l := range strings.Split(log, "\n") {
		var ent struct {
			Log  string    `json:"log"`
			Time time.Time `json:"time"`
		}
		if json.Unmarshal([]byte(l), &ent) == nil && strings.HasPrefix(ent.Log, "tick") && ent.Time.After(since) {
			n++
		}
	}
	return n
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
