package engine

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/testutil"
)

// fakeHost is a proc tree and cgroup mounts in a temp dir.
type fakeHost struct {
	t     *testing.T
	proc  string
	cgrp  string
	store *state.Store
}

const (
	idV1 = "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
	idV2 = "bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222"
)

func newFakeHost(t *testing.T) *fakeHost {
	base := t.TempDir()
	h := &fakeHost{t: t, proc: filepath.Join(base, "proc"), cgrp: filepath.Join(base, "cgroup"), store: state.NewStore(filepath.Join(base, "root"))}
	// A hybrid host: v1 controllers, one of them co-mounted, plus cgroup2;
	// the memory hierarchy is mounted from a sub-root as in a nested setup.
	h.write("self/mountinfo", strings.Join([]string{
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755",
		fmt.Sprintf("32 31 0:29 / %s/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct", h.cgrp),
		fmt.Sprintf("35 31 0:32 /outer %s/mem\\040ory rw,relatime - cgroup cgroup rw,memory", h.cgrp),
		fmt.Sprintf("38 31 0:35 / %s/blkio rw,relatime - cgroup cgroup rw,blkio", h.cgrp),
		fmt.Sprintf("39 31 0:36 / %s/pids rw,relatime - cgroup cgroup rw,pids", h.cgrp),
		fmt.Sprintf("41 31 0:38 / %s/unified rw,relatime - cgroup2 cgroup2 rw", h.cgrp),
		"50 23 8:1 / /data rw - ext4 /dev/sda1 rw",
	}, "\n")+"\n")
	h.write("meminfo", "MemTotal:        2048000 kB\nMemFree:  100 kB\n")
	return h
}

func (h *fakeHost) write(rel, content string) {
	h.t.Helper()
	p := filepath.Join(h.proc, rel)
	if strings.HasPrefix(rel, "/") {
		p = rel
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *fakeHost) cg(rel, content string) { h.write(filepath.Join(h.cgrp, rel), content) }

func (h *fakeHost) container(id, service string, num int, st state.RuntimeState) {
	h.t.Helper()
	rec := &state.Container{ID: id, Name: fmt.Sprintf("p-%s-%d", service, num), Project: "p", Service: service, Number: num}
	if err := h.store.Put(rec); err != nil {
		h.t.Fatal(err)
	}
	if err := h.store.PutState(id, &st); err != nil {
		h.t.Fatal(err)
	}
}

const netDev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  999999      10    0    0    0     0          0         0   999999      10    0    0    0     0       0          0
  eth0:    1500      10    0    0    0     0          0         0      700       5    0    0    0     0       0          0
  eth1:     500      10    0    0    0     0          0         0      300       5    0    0    0     0       0          0
`

func TestStatsV1Hybrid(t *testing.T) {
	h := newFakeHost(t)
	h.container(idV1, "web", 1, state.RuntimeState{Status: state.StatusRunning, Pid: 101})
	h.container(idV2, "db", 1, state.RuntimeState{Status: state.StatusExited})
	cgPath := "/berth/p/" + idV1
	h.write("101/cgroup", "9:name=systemd:/\n8:pids:"+cgPath+"\n7:blkio:"+cgPath+"\n4:memory:/outer"+cgPath+"\n1:cpu,cpuacct:"+cgPath+"\n0::/\n")
	h.write("101/net/dev", netDev)
	h.cg("cpu,cpuacct"+cgPath+"/cpuacct.usage", "1000000000\n")
	h.cg("mem ory"+cgPath+"/memory.usage_in_bytes", "10485760\n")
	h.cg("mem ory"+cgPath+"/memory.limit_in_bytes", "9223372036854771712\n")
	h.cg("mem ory"+cgPath+"/memory.stat", "cache 100\ntotal_inactive_file 2097152\n")
	h.cg("pids"+cgPath+"/pids.current", "3\n")
	h.cg("blkio"+cgPath+"/blkio.throttle.io_service_bytes_recursive", "8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\n8:16 Read 4\nTotal 12292\n")

	c := &statsCollector{store: h.store, proc: h.proc}
	prev, rows, err := c.round("p", StatsOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("rows %+v: want only the running container", rows)
	}
	r := rows[0]
	if r.Name != "p-web-1" || r.CPUPercent != 0 {
		t.Errorf("first round: %+v", r)
	}
	if r.MemUsage != 8<<20 || r.MemLimit != 2048000*1024 {
		t.Errorf("memory %d / %d: want usage minus inactive file, limit capped at MemTotal", r.MemUsage, r.MemLimit)
	}
	if want := float64(8<<20) / float64(2048000*1024) * 100; math.Abs(r.MemPercent-want) > 1e-9 {
		t.Errorf("mem %% %v, want %v", r.MemPercent, want)
	}
	if r.Pids != 3 || r.NetRx != 2000 || r.NetTx != 1000 || r.BlockRead != 4100 || r.BlockWrite != 8192 {
		t.Errorf("pids/net/block: %+v", r)
	}

	// Half a CPU over the interval.
	p := prev[idV1]
	p.at = p.at.Add(-time.Second)
	prev[idV1] = p
	h.cg("cpu,cpuacct"+cgPath+"/cpuacct.usage", "1500000000\n")
	_, rows, err = c.round("p", StatsOptions{All: true}, prev)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("--all rows: %+v", rows)
	}
	db, web := rows[0], rows[1]
	if db.Name != "p-db-1" || db.State != "exited" || db.MemUsage != 0 {
		t.Errorf("stopped row: %+v", db)
	}
	if web.CPUPercent < 45 || web.CPUPercent > 50.01 {
		t.Errorf("cpu %% = %v, want about 50", web.CPUPercent)
	}
}

func TestStatsV2(t *testing.T) {
	h := newFakeHost(t)
	// A pure v2 host.
	h.write("self/mountinfo", fmt.Sprintf("41 31 0:38 / %s/unified rw,relatime - cgroup2 cgroup2 rw\n", h.cgrp))
	h.container(idV2, "db", 1, state.RuntimeState{Status: state.StatusRunning, Pid: 202})
	cgPath := "/berth/p/" + idV2
	h.write("202/cgroup", "0::"+cgPath+"\n")
	h.write("202/net/dev", netDev)
	dir := "unified" + cgPath
	h.cg(dir+"/cpu.stat", "usage_usec 2000000\nuser_usec 1500000\nsystem_usec 500000\n")
	h.cg(dir+"/memory.current", "3145728\n")
	h.cg(dir+"/memory.max", "4194304\n")
	h.cg(dir+"/memory.stat", "anon 1\ninactive_file 1048576\n")
	h.cg(dir+"/pids.current", "7\n")
	h.cg(dir+"/io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=2 rios=1 wios=1\n")
	c := &statsCollector{store: h.store, proc: h.proc}
	prev, rows, err := c.round("p", StatsOptions{Services: []string{"db"}}, nil)
	if err != nil || len(rows) != 1 {
		t.Fatalf("%+v %v", rows, err)
	}
	r := rows[0]
	if r.MemUsage != 2<<20 || r.MemLimit != 4<<20 || r.MemPercent != 50 || r.Pids != 7 || r.BlockRead != 101 || r.BlockWrite != 202 {
		t.Errorf("v2 row: %+v", r)
	}
	if prev[idV2].cpu != 2e9 {
		t.Errorf("cpu.stat usage_usec: %d ns", prev[idV2].cpu)
	}
	h.cg(dir+"/memory.max", "max\n")
	_, rows, _ = c.round("p", StatsOptions{}, nil)
	if rows[0].MemLimit != 2048000*1024 {
		t.Errorf("memory.max \"max\": limit %d, want MemTotal", rows[0].MemLimit)
	}
	// Services filter.
	_, rows, _ = c.round("p", StatsOptions{Services: []string{"web"}}, nil)
	if len(rows) != 0 {
		t.Errorf("services filter: %+v", rows)
	}
}

// A pid reused by another process is not the container's: its row is
// dropped (or shown stopped with --all) rather than someone else's usage.
func TestStatsStalePid(t *testing.T) {
	h := newFakeHost(t)
	h.container(idV1, "web", 1, state.RuntimeState{Status: state.StatusRunning, Pid: 303})
	h.write("303/cgroup", "1:cpu,cpuacct:/user.slice\n0::/user.slice\n")
	c := &statsCollector{store: h.store, proc: h.proc}
	_, rows, err := c.round("p", StatsOptions{}, nil)
	if err != nil || len(rows) != 0 {
		t.Fatalf("stale pid: %+v %v", rows, err)
	}
	_, rows, _ = c.round("p", StatsOptions{All: true}, nil)
	if len(rows) != 1 || rows[0].State != "exited" {
		t.Errorf("stale pid with --all: %+v", rows)
	}
}

// TestReadCgroupMounts: only cgroup and cgroup2 mounts are kept, with
// mountinfo's octal escapes undone (\040 is a space) and v1 controllers
// from the super options.
func TestReadCgroupMounts(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mountinfo")
	if err := os.WriteFile(p, []byte(strings.Join([]string{
		`22 1 0:21 / /proc rw,nosuid - proc proc rw`,
		`30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct`,
		`31 25 0:27 /a\040b /sys/fs/cgroup/with\040space rw - cgroup2 cgroup2 rw`,
		`32 25 0:28 / /mnt/tab\011x rw - ext4 /dev/sda1 rw`,
	}, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readCgroupMounts(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []cgroupMount{
		{root: "/", point: "/sys/fs/cgroup/cpu,cpuacct", controllers: []string{"rw", "cpu", "cpuacct"}},
		{root: "/a b", point: "/sys/fs/cgroup/with space", v2: true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("readCgroupMounts:\n got %+v\nwant %+v", got, want)
	}
}

// TestStatsRealCgroup reads a real process placed in berth's cgroups on
// this host (v1 controllers, or the unified hierarchy on a v2 host).
func TestStatsRealCgroup(t *testing.T) {
	testutil.RequiresRoot(t)
	root, run := testutil.StateDirs(t)
	e, err := New(root, run)
	if err != nil {
		t.Fatal(err)
	}
	proj := fmt.Sprintf("statstest-%d", os.Getpid())
	id := strings.Repeat("c", 64)
	busy := exec.Command("/bin/sh", "-c", "while :; do :; done")
	if err := busy.Start(); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	t.Cleanup(func() {
		busy.Process.Kill()
		busy.Wait()
		for i := len(dirs) - 1; i >= 0; i-- {
			os.Remove(dirs[i])
		}
	})
	placed := 0
	for _, base := range []string{"/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(base, "cgroup.procs")); err != nil {
			continue
		}
		if base == "/sys/fs/cgroup" {
			if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil || placed > 0 {
				continue // not a v2 host
			}
		}
		projDir := filepath.Join(base, "berth", proj)
		leaf := filepath.Join(projDir, id)
		if err := os.MkdirAll(leaf, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, projDir, leaf)
		if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(busy.Process.Pid)), 0o644); err != nil {
			t.Fatalf("move into %s: %v", leaf, err)
		}
		placed++
	}
	if placed == 0 {
		t.Skip("skipped: no cgroup hierarchy to place a process in")
	}
	rec := &state.Container{ID: id, Name: proj + "-busy-1", Project: proj, Service: "busy", Number: 1}
	if err := e.store.Put(rec); err != nil {
		t.Fatal(err)
	}
	e.store.PutState(id, &state.RuntimeState{Status: state.StatusRunning, Pid: busy.Process.Pid})
	rows, err := e.Stats(t.Context(), proj, StatsOptions{Interval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("rows: %+v", rows)
	}
	r := rows[0]
	// How much CPU the loop gets depends on the machine's load: the test
	// asks only that its CPU time was read (above 0) and is one thread's
	// at most.
	if r.CPUPercent <= 0 || r.CPUPercent > 110 {
		t.Errorf("a busy loop uses %.1f%% CPU, want above 0 and at most one CPU's", r.CPUPercent)
	}
	// (MemUsage may be 0: v1 leaves a moved process's pages charged to
	// its old cgroup, and the loop allocates nothing new.)
	if r.Pids != 1 || r.MemLimit == 0 {
		t.Errorf("row: %+v", r)
	}
}
