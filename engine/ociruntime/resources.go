package ociruntime

import (
	"fmt"
	"math"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// NamespaceMode says how the container gets one namespace.
type NamespaceMode struct {
	Host bool   // share the host's (e.g. network_mode: host, pid: host)
	Path string // join this namespace file (a netns made by the caller); "" = new, empty one
}

// WithNamespace sets how the container gets the namespace of type t.
func WithNamespace(t specs.LinuxNamespaceType, m NamespaceMode) SpecOpt {
	return func(s *specs.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		ns := s.Linux.Namespaces[:0:0]
		for _, n := range s.Linux.Namespaces {
			if n.Type != t {
				ns = append(ns, n)
			}
		}
		if !m.Host {
			ns = append(ns, specs.LinuxNamespace{Type: t, Path: m.Path})
		}
		s.Linux.Namespaces = ns
		return nil
	}
}

// CgroupsPath is the cgroup berth gives a container: /berth/<project>/<id>,
// or <parent>/<id> with the service's cgroup_parent. runc and crun's
// cgroupfs managers take it relative to each hierarchy's root, so it works
// on v1, hybrid and v2 hosts alike.
func CgroupsPath(parent, project, id string) string {
	if parent == "" {
		parent = path.Join("/berth", project)
	}
	if !path.IsAbs(parent) {
		parent = "/" + parent
	}
	return path.Join(parent, id)
}

// WithCgroupsPath sets linux.cgroupsPath.
func WithCgroupsPath(p string) SpecOpt {
	return func(s *specs.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		s.Linux.CgroupsPath = p
		return nil
	}
}

// RlimitFunc reports the calling process's current limits for an
// RLIMIT_* resource (unix.Getrlimit in production, a fake in tests).
type RlimitFunc func(resource int) (unix.Rlimit, error)

func getrlimit(resource int) (unix.Rlimit, error) {
	var r unix.Rlimit
	err := unix.Getrlimit(resource, &r)
	return r, err
}

var rlimitNames = map[string]int{
	"as": unix.RLIMIT_AS, "core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU,
	"data": unix.RLIMIT_DATA, "fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS,
	"memlock": unix.RLIMIT_MEMLOCK, "msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE,
	"nofile": unix.RLIMIT_NOFILE, "nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS,
	"rtprio": unix.RLIMIT_RTPRIO, "rttime": unix.RLIMIT_RTTIME, "sigpending": unix.RLIMIT_SIGPENDING,
	"stack": unix.RLIMIT_STACK,
}

func currentRlimit(typ string) (specs.POSIXRlimit, error) {
	name := strings.ToLower(strings.TrimPrefix(typ, "RLIMIT_"))
	r, err := getrlimit(rlimitNames[name])
	if err != nil {
		return specs.POSIXRlimit{}, err
	}
	return specs.POSIXRlimit{Type: typ, Soft: r.Cur, Hard: r.Max}, nil
}

func rlimitValue(v int) uint64 {
	if v < 0 {
		return math.MaxUint64 // -1: unlimited
	}
	return uint64(v)
}

// WithUlimits sets the service's ulimits. Without CAP_SYS_RESOURCE no limit
// can be raised above the caller's current hard limit, and the runtime would
// die on setrlimit: each limit above it is clamped to it and a warning
// naming the limit is passed to warn (which may be nil). current is the
// caller's limits (nil: getrlimit).
func WithUlimits(limits map[string]*types.UlimitsConfig, current RlimitFunc, warn func(string)) SpecOpt {
	return func(s *specs.Spec) error {
		if current == nil {
			current = getrlimit
		}
		names := make([]string, 0, len(limits))
		for n := range limits {
			names = append(names, n)
		}
		sort.Strings(names)
		p := ensureProcess(s)
		for _, n := range names {
			u := limits[n]
			if u == nil {
				continue
			}
			res, ok := rlimitNames[strings.ToLower(n)]
			if !ok {
				return fmt.Errorf("ulimits: unknown limit %q", n)
			}
			soft, hard := rlimitValue(u.Soft), rlimitValue(u.Hard)
			if u.Single != 0 || (u.Soft == 0 && u.Hard == 0) {
				soft, hard = rlimitValue(u.Single), rlimitValue(u.Single)
			}
			if soft > hard {
				return fmt.Errorf("ulimits: %s: soft limit %d is above hard limit %d", n, u.Soft, u.Hard)
			}
			cur, err := current(res)
			if err != nil {
				return fmt.Errorf("ulimits: %s: %w", n, err)
			}
			if hard > cur.Max {
				if warn != nil {
					warn(fmt.Sprintf("ulimits: %s: hard limit %s lowered to %s, the most this process may grant (no CAP_SYS_RESOURCE)",
						n, fmtLimit(hard), fmtLimit(cur.Max)))
				}
				hard = cur.Max
				soft = min(soft, hard)
			}
			typ := "RLIMIT_" + strings.ToUpper(n)
			rl := specs.POSIXRlimit{Type: typ, Soft: soft, Hard: hard}
			replaced := false
			for i := range p.Rlimits {
				if p.Rlimits[i].Type == typ {
					p.Rlimits[i] = rl
					replaced = true
				}
			}
			if !replaced {
				p.Rlimits = append(p.Rlimits, rl)
			}
		}
		return nil
	}
}

func fmtLimit(v uint64) string {
	if v == math.MaxUint64 {
		return "unlimited"
	}
	return fmt.Sprint(v)
}

// WithSysctls sets namespaced kernel parameters. net.* needs the
// container's own network namespace; the runtime checks the rest.
func WithSysctls(sysctls map[string]string) SpecOpt {
	return func(s *specs.Spec) error {
		if len(sysctls) == 0 {
			return nil
		}
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		for k, v := range sysctls {
			if strings.HasPrefix(k, "net.") && !hasNamespace(s, specs.NetworkNamespace) {
				return fmt.Errorf("sysctls: %s: not allowed with the host's network (network_mode: host)", k)
			}
			s.Linux.Sysctl[k] = v
		}
		return nil
	}
}

func hasNamespace(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	if s.Linux == nil {
		return false
	}
	for _, n := range s.Linux.Namespaces {
		if n.Type == t {
			return true
		}
	}
	return false
}

// Resources is the resource part of a service, gathered from its top-level
// keys and deploy.resources (top-level keys win, as Compose).
type Resources struct {
	PidsLimit      int64   // 0 unset, -1 unlimited
	Memory         int64   // bytes
	MemorySwap     int64   // bytes incl. memory; -1 unlimited; 0 = Docker's default (2×Memory)
	MemoryReserve  int64   // bytes
	MemSwappiness  int64   // 1..100; other values leave the kernel's default
	CPUs           float64 // e.g. 1.5
	CPUShares      int64
	CPUSet         string
	CPUPeriod      int64
	CPUQuota       int64
	OomKillDisable bool
	OomScoreAdj    int64
}

// ServiceResources gathers a service's resource settings.
func ServiceResources(svc *types.ServiceConfig) Resources {
	r := Resources{
		PidsLimit: svc.PidsLimit, Memory: int64(svc.MemLimit), MemorySwap: int64(svc.MemSwapLimit),
		MemoryReserve: int64(svc.MemReservation), MemSwappiness: int64(svc.MemSwappiness),
		CPUs: float64(svc.CPUS), CPUShares: svc.CPUShares, CPUSet: svc.CPUSet,
		CPUPeriod: svc.CPUPeriod, CPUQuota: svc.CPUQuota,
		OomKillDisable: svc.OomKillDisable, OomScoreAdj: svc.OomScoreAdj,
	}
	if svc.Deploy != nil {
		if l := svc.Deploy.Resources.Limits; l != nil {
			if r.CPUs == 0 {
				r.CPUs = float64(l.NanoCPUs)
			}
			if r.Memory == 0 {
				r.Memory = int64(l.MemoryBytes)
			}
			if r.PidsLimit == 0 {
				r.PidsLimit = l.Pids
			}
		}
		if rs := svc.Deploy.Resources.Reservations; rs != nil && r.MemoryReserve == 0 {
			r.MemoryReserve = int64(rs.MemoryBytes)
		}
	}
	return r
}

// swapAccounting says whether the host can limit swap (memsw on v1, memory.swap.max on v2).
func swapAccounting() bool {
	for _, f := range []string{"/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", "/sys/fs/cgroup/memory.swap.max"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	return false
}

// WithResources applies r to linux.resources. As Docker, a memory limit
// without memswap_limit allows as much swap as memory (swap = 2×memory)
// where the host accounts swap.
func WithResources(r Resources) SpecOpt {
	return func(s *specs.Spec) error {
		res := ensureResources(s)
		if r.PidsLimit != 0 {
			l := r.PidsLimit
			if l < 0 {
				l = -1
			}
			res.Pids = &specs.LinuxPids{Limit: &l}
		}
		if err := applyMemory(res, r, swapAccounting); err != nil {
			return err
		}
		if err := applyCPU(res, r); err != nil {
			return err
		}
		if r.OomScoreAdj != 0 {
			v := int(r.OomScoreAdj)
			ensureProcess(s).OOMScoreAdj = &v
		}
		return nil
	}
}

// applyMemory sets the memory limits of r that are set; hostSwap says
// whether the host accounts swap (asked only for a limit without
// memswap_limit).
func applyMemory(res *specs.LinuxResources, r Resources, hostSwap func() bool) error {
	mem := func() *specs.LinuxMemory {
		if res.Memory == nil {
			res.Memory = &specs.LinuxMemory{}
		}
		return res.Memory
	}
	if r.Memory < 0 || r.MemoryReserve < 0 {
		return fmt.Errorf("mem_limit/mem_reservation: negative size")
	}
	if r.Memory > 0 {
		m := r.Memory
		mem().Limit = &m
		swap := r.MemorySwap
		if swap == 0 && hostSwap() {
			swap = 2 * m
		}
		if swap != 0 {
			if swap > 0 && swap < m {
				return fmt.Errorf("memswap_limit (%d) must be at least mem_limit (%d)", swap, m)
			}
			mem().Swap = &swap
		}
	} else if r.MemorySwap > 0 {
		return fmt.Errorf("memswap_limit needs mem_limit")
	}
	if r.MemoryReserve > 0 {
		v := r.MemoryReserve
		mem().Reservation = &v
	}
	if r.MemSwappiness > 0 && r.MemSwappiness <= 100 {
		v := uint64(r.MemSwappiness)
		mem().Swappiness = &v
	}
	if r.OomKillDisable {
		t := true
		mem().DisableOOMKiller = &t
	}
	return nil
}

// applyCPU sets the CPU limits of r that are set: cpus as a quota of a
// 100ms period, which cpu_period and cpu_quota override.
func applyCPU(res *specs.LinuxResources, r Resources) error {
	cpu := func() *specs.LinuxCPU {
		if res.CPU == nil {
			res.CPU = &specs.LinuxCPU{}
		}
		return res.CPU
	}
	if r.CPUs < 0 {
		return fmt.Errorf("cpus: negative value %g", r.CPUs)
	}
	if r.CPUs > 0 {
		period := uint64(100000)
		quota := int64(r.CPUs * float64(period))
		cpu().Period, cpu().Quota = &period, &quota
	}
	if r.CPUPeriod > 0 {
		v := uint64(r.CPUPeriod)
		cpu().Period = &v
	}
	if r.CPUQuota > 0 {
		v := r.CPUQuota
		cpu().Quota = &v
	}
	if r.CPUShares > 0 {
		v := uint64(r.CPUShares)
		cpu().Shares = &v
	}
	if r.CPUSet != "" {
		cpu().Cpus = r.CPUSet
	}
	return nil
}
