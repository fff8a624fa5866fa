package engine

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/mountinfo"

	"github.com/berth-dev/berth/engine/state"
)

// ContainerStats is one row of `berth stats`: a container's resource
// usage read from its cgroups and its network namespace.
type ContainerStats struct {
	ID      string
	Name    string
	Project string
	Service string
	State   string

	CPUPercent float64 // of one CPU, as Docker counts: 200% is two cores busy
	MemUsage   uint64  // bytes, without the inactive page cache (as Docker)
	MemLimit   uint64  // bytes; the host's memory when the cgroup has no limit
	MemPercent float64
	NetRx      uint64 // bytes received on the container's interfaces (lo excluded)
	NetTx      uint64
	BlockRead  uint64 // bytes
	BlockWrite uint64
	Pids       uint64
}

// StatsOptions select the containers of Stats and StatsStream.
type StatsOptions struct {
	Services []string
	All      bool // also containers that are not running (all zero)
	// Interval separates the two samples CPU % is computed from (Stats,
	// default 500ms) and the rounds of StatsStream (default 1s).
	Interval time.Duration
}

// Stats samples the project's running containers twice, Interval apart,
// and returns their usage with CPU % over that interval.
func (e *Engine) Stats(ctx context.Context, project string, o StatsOptions) ([]ContainerStats, error) {
	if o.Interval <= 0 {
		o.Interval = 500 * time.Millisecond
	}
	var out []ContainerStats
	err := e.StatsStream(ctx, project, o, func(s []ContainerStats) error {
		out = s
		return errStopStats
	})
	if err == errStopStats {
		err = nil
	}
	return out, err
}

var errStopStats = fmt.Errorf("stop stats")

// StatsStream calls fn with every container's usage each Interval until
// ctx ends (returning nil) or fn returns an error (returned). CPU % is
// computed between consecutive rounds.
func (e *Engine) StatsStream(ctx context.Context, project string, o StatsOptions, fn func([]ContainerStats) error) error {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	c := &statsCollector{store: e.store, proc: "/proc"}
	prev, _, err := c.round(project, o, nil)
	if err != nil {
		return err
	}
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		var rows []ContainerStats
		prev, rows, err = c.round(project, o, prev)
		if err != nil {
			return err
		}
		if err := fn(rows); err != nil {
			return err
		}
	}
}

// statsCollector reads usage from a proc tree ("/proc", or a fake one in
// tests) and the cgroup mounts it lists.
type statsCollector struct {
	store *state.Store
	proc  string
}

// cpuSample is a container's cumulative CPU time at an instant.
type cpuSample struct {
	at  time.Time
	cpu uint64 // ns
	pid int
}

// round reads every selected container once; with prev (the samples of
// the previous round), CPU % is the CPU time used since then.
func (c *statsCollector) round(project string, o StatsOptions, prev map[string]cpuSample) (map[string]cpuSample, []ContainerStats, error) {
	recs, err := c.store.List(project)
	if err != nil {
		return nil, nil, err
	}
	cg, err := readCgroupMounts(filepath.Join(c.proc, "self", "mountinfo"))
	if err != nil {
		return nil, nil, err
	}
	memTotal := readMemTotal(filepath.Join(c.proc, "meminfo"))
	next := map[string]cpuSample{}
	var rows []ContainerStats
	for _, r := range recs {
		if len(o.Services) > 0 && !slices.Contains(o.Services, r.Service) {
			continue
		}
		st, err := c.store.GetState(r.ID)
		if err != nil {
			return nil, nil, err
		}
		row := ContainerStats{ID: r.ID, Name: r.Name, Project: r.Project, Service: r.Service, State: string(st.Status)}
		live := st.Pid > 0 && (st.Status == state.StatusRunning || st.Status == state.StatusPaused)
		var s cpuSample
		if live {
			s, live = c.read(&row, r.ID, st.Pid, cg, memTotal)
		}
		if !live {
			if !o.All {
				continue
			}
			row.State = string(st.Status)
			if row.State == string(state.StatusRunning) {
				row.State = string(state.StatusExited) // the record is behind: its init is gone
			}
		} else {
			next[r.ID] = s
			if p, ok := prev[r.ID]; ok && p.pid == s.pid && s.cpu >= p.cpu && s.at.After(p.at) {
				row.CPUPercent = float64(s.cpu-p.cpu) / float64(s.at.Sub(p.at).Nanoseconds()) * 100
			}
		}
		rows = append(rows, row)
	}
	return next, rows, nil
}

// read fills row from the cgroups of the container's init. It returns
// false when pid is not (or no longer) the container's: its cgroup paths
// do not name the container.
func (c *statsCollector) read(row *ContainerStats, id string, pid int, mounts []cgroupMount, memTotal uint64) (cpuSample, bool) {
	procDir := filepath.Join(c.proc, strconv.Itoa(pid))
	paths, err := readProcCgroup(filepath.Join(procDir, "cgroup"))
	if err != nil || !paths.names(id) {
		return cpuSample{}, false
	}
	s := cpuSample{at: time.Now(), pid: pid}
	if dir, v2, ok := paths.dir(mounts, "cpuacct"); ok && !v2 {
		s.cpu = readUint(filepath.Join(dir, "cpuacct.usage"))
	} else if dir, ok := paths.unifiedDir(mounts); ok {
		s.cpu = keyedUint(filepath.Join(dir, "cpu.stat"), "usage_usec") * 1000
	}
	if dir, v2, ok := paths.dir(mounts, "memory"); ok {
		if v2 {
			row.MemUsage = readUint(filepath.Join(dir, "memory.current"))
			row.MemLimit = readUint(filepath.Join(dir, "memory.max")) // "max" reads as 0
			row.MemUsage = subFloor(row.MemUsage, keyedUint(filepath.Join(dir, "memory.stat"), "inactive_file"))
		} else {
			row.MemUsage = readUint(filepath.Join(dir, "memory.usage_in_bytes"))
			row.MemLimit = readUint(filepath.Join(dir, "memory.limit_in_bytes"))
			row.MemUsage = subFloor(row.MemUsage, keyedUint(filepath.Join(dir, "memory.stat"), "total_inactive_file"))
		}
	}
	if memTotal > 0 && (row.MemLimit == 0 || row.MemLimit > memTotal) {
		row.MemLimit = memTotal
	}
	if row.MemLimit > 0 {
		row.MemPercent = float64(row.MemUsage) / float64(row.MemLimit) * 100
	}
	if dir, _, ok := paths.dir(mounts, "pids"); ok {
		row.Pids = readUint(filepath.Join(dir, "pids.current"))
	}
	if dir, v2, ok := paths.dir(mounts, "blkio"); ok && !v2 {
		row.BlockRead, row.BlockWrite = readBlkioV1(dir)
	} else if dir, ok := paths.unifiedDir(mounts); ok {
		row.BlockRead, row.BlockWrite = readIOStat(filepath.Join(dir, "io.stat"))
	}
	row.NetRx, row.NetTx = readNetDev(filepath.Join(procDir, "net", "dev"))
	return s, true
}

func subFloor(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// cgroupMount is one cgroup or cgroup2 mount of the host.
type cgroupMount struct {
	root, point string
	v2          bool
	controllers []string // v1 only
}

// readCgroupMounts lists the cgroup mounts of a mountinfo file.
func readCgroupMounts(path string) ([]cgroupMount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	defer f.Close()
	ms, err := mountinfo.GetMountsFromReader(f, mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, fmt.Errorf("stats: %s: %w", path, err)
	}
	out := make([]cgroupMount, 0, len(ms))
	for _, m := range ms {
		c := cgroupMount{root: m.Root, point: m.Mountpoint, v2: m.FSType == "cgroup2"}
		if !c.v2 {
			c.controllers = strings.Split(m.VFSOptions, ",")
		}
		out = append(out, c)
	}
	return out, nil
}

// procCgroups are a process's cgroup paths: per v1 controller, and its
// unified (v2) path.
type procCgroups struct {
	v1      map[string]string
	unified string
	hasV2   bool
}

func readProcCgroup(path string) (procCgroups, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return procCgroups{}, err
	}
	pc := procCgroups{v1: map[string]string{}}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			pc.unified, pc.hasV2 = parts[2], true
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			pc.v1[c] = parts[2]
		}
	}
	return pc, nil
}

// names reports whether the process's cgroups are the container's
// (berth gives each container a cgroup ending in its ID).
func (pc procCgroups) names(id string) bool {
	for _, p := range pc.v1 {
		if path.Base(p) == id {
			return true
		}
	}
	return pc.hasV2 && path.Base(pc.unified) == id
}

// dir is the directory of a controller's cgroup: the v1 hierarchy that
// has the controller when the process is in one, else the unified one.
func (pc procCgroups) dir(mounts []cgroupMount, controller string) (dir string, v2, ok bool) {
	if p, in := pc.v1[controller]; in {
		for _, m := range mounts {
			if !m.v2 && slices.Contains(m.controllers, controller) {
				if d, ok := under(m, p); ok {
					return d, false, true
				}
			}
		}
	}
	d, ok := pc.unifiedDir(mounts)
	return d, true, ok
}

func (pc procCgroups) unifiedDir(mounts []cgroupMount) (string, bool) {
	if !pc.hasV2 {
		return "", false
	}
	for _, m := range mounts {
		if m.v2 {
			if d, ok := under(m, pc.unified); ok {
				return d, true
			}
		}
	}
	return "", false
}

// under maps a cgroup path to the directory of the mount that shows it.
func under(m cgroupMount, p string) (string, bool) {
	rel := p
	if m.root != "/" {
		r, ok := strings.CutPrefix(p, m.root)
		if !ok || (r != "" && r[0] != '/') {
			return "", false
		}
		rel = r
	}
	d := filepath.Join(m.point, rel)
	if _, err := os.Stat(d); err != nil {
		return "", false
	}
	return d, true
}

// readUint reads a file holding one number; "max" or anything else that
// is not a number reads as 0.
func readUint(path string) uint64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	return n
}

// keyedUint reads "key value" from a flat-keyed file (cpu.stat, memory.stat).
func keyedUint(path, key string) uint64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// readBlkioV1 sums the Read and Write bytes of every device, from the
// first io_service_bytes file the kernel offers.
func readBlkioV1(dir string) (read, write uint64) {
	for _, name := range []string{"blkio.throttle.io_service_bytes_recursive", "blkio.io_service_bytes_recursive", "blkio.throttle.io_service_bytes", "blkio.bfq.io_service_bytes_recursive"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line) // "8:0 Read 4096"
			if len(f) != 3 {
				continue
			}
			n, _ := strconv.ParseUint(f[2], 10, 64)
			switch f[1] {
			case "Read":
				read += n
			case "Write":
				write += n
			}
		}
		return read, write
	}
	return 0, 0
}

// readIOStat sums rbytes and wbytes of io.stat ("8:0 rbytes=… wbytes=…").
func readIOStat(path string) (read, write uint64) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	for _, f := range strings.Fields(string(data)) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseUint(v, 10, 64)
		switch k {
		case "rbytes":
			read += n
		case "wbytes":
			write += n
		}
	}
	return read, write
}

// readNetDev sums the bytes of every interface but lo in a net/dev file.
func readNetDev(path string) (rx, tx uint64) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			continue // the header lines
		}
		rx += r
		tx += t
	}
	return rx, tx
}

// readMemTotal is the host's memory in bytes, from /proc/meminfo.
func readMemTotal(path string) uint64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}
