package e2e

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/nftables"
	"github.com/moby/sys/mountinfo"
	"github.com/vishvananda/netlink"
)

// The leak check. Every Env registers its state dirs; when a test ends its
// own mounts and processes are checked (and, if leaked, recorded, then
// unmounted / killed so the temp dir can go); after the whole suite,
// TestMain checks again for mounts and processes under any test's dirs and
// compares the host's bridges, veths, named netns and berth nftables tables
// with a snapshot taken before the suite: only what berth's tests made is
// reported.

// leakGrace is how long a leak may take to go away on its own (a supervisor
// exiting after the last container is removed, a concurrent test's bridge).
const leakGrace = 5 * time.Second

// mountsUnder lists the mount points (deepest first) below any of roots.
func mountsUnder(roots []string) ([]string, error) {
	ms, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		for _, r := range roots {
			if m.Mountpoint == r || strings.HasPrefix(m.Mountpoint, r+"/") {
				return false, false
			}
		}
		return true, false
	})
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Mountpoint)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out, nil
}

// leakedProc is a process tied to a test's state dirs.
type leakedProc struct {
	pid    int
	desc   string
	reason string
}

func (p leakedProc) String() string { return fmt.Sprintf("pid %d %s (%s)", p.pid, p.desc, p.reason) }

// procsUnder lists the processes, other than this one, whose command line
// or environment names one of roots, or whose root or working directory is
// below one (a container's processes).
func procsUnder(roots []string) []leakedProc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []leakedProc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		dir := "/proc/" + e.Name()
		cmdline, _ := os.ReadFile(dir + "/cmdline")
		if len(cmdline) == 0 {
			continue // kernel thread, or gone, or a zombie
		}
		environ, _ := os.ReadFile(dir + "/environ")
		rootLink, _ := os.Readlink(dir + "/root")
		cwdLink, _ := os.Readlink(dir + "/cwd")
		desc := strings.TrimSpace(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		if len(desc) > 120 {
			desc = desc[:120] + "…"
		}
		for _, r := range roots {
			reason := ""
			switch {
			case bytes.Contains(cmdline, []byte(r)):
				reason = "command line names " + r
			case bytes.Contains(environ, []byte(r)):
				reason = "environment names " + r
			case strings.HasPrefix(rootLink, r+"/"):
				reason = "root is " + rootLink
			case strings.HasPrefix(cwdLink, r+"/") || cwdLink == r:
				reason = "working directory is " + cwdLink
			}
			if reason != "" {
				out = append(out, leakedProc{pid: pid, desc: desc, reason: reason})
				break
			}
		}
	}
	return out
}

// waitProcsGone polls procsUnder until none are left or the grace ends.
func waitProcsGone(roots []string, grace time.Duration) []leakedProc {
	deadline := time.Now().Add(grace)
	for {
		procs := procsUnder(roots)
		if len(procs) == 0 || time.Now().After(deadline) {
			return procs
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkLocal checks roots (one test's dirs) for mounts and processes. What
// it finds is returned as leak lines and then removed — processes killed,
// mounts detached — so that the test's temp dir can be deleted without
// reaching through a mount.
func checkLocal(roots []string, grace time.Duration) []string {
	var leaks []string
	procs := waitProcsGone(roots, grace)
	for _, p := range procs {
		leaks = append(leaks, "process: "+p.String())
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
	if len(procs) > 0 {
		time.Sleep(200 * time.Millisecond) // let the kills take effect before unmounting
	}
	mounts, err := mountsUnder(roots)
	if err != nil {
		leaks = append(leaks, "mount check failed: "+err.Error())
	}
	for _, m := range mounts {
		leaks = append(leaks, "mount: "+m)
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	return leaks
}

// hostSnapshot is the part of the host's network state berth may change.
type hostSnapshot struct {
	links map[string]string // name → kind, for br-* links and veths
	netns map[string]bool   // entries of /run/netns
	nft   map[string]int    // "family table" → rule count, for tables named berth*
}

func snapshotHost() (hostSnapshot, error) {
	s := hostSnapshot{links: map[string]string{}, netns: map[string]bool{}, nft: map[string]int{}}
	links, err := netlink.LinkList()
	if err != nil {
		return s, fmt.Errorf("list links: %w", err)
	}
	for _, l := range links {
		a := l.Attrs()
		if strings.HasPrefix(a.Name, "br-") || l.Type() == "veth" {
			s.links[a.Name] = l.Type()
		}
	}
	if ents, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range ents {
			s.netns[e.Name()] = true
		}
	}
	c, err := nftables.New()
	if err != nil {
		return s, fmt.Errorf("nftables: %w", err)
	}
	tables, err := c.ListTables()
	if err != nil {
		return s, fmt.Errorf("list nftables tables: %w", err)
	}
	chains, err := c.ListChains()
	if err != nil {
		return s, fmt.Errorf("list nftables chains: %w", err)
	}
	for _, t := range tables {
		if !strings.HasPrefix(t.Name, "berth") {
			continue
		}
		key := fmt.Sprintf("%s %s", familyName(t.Family), t.Name)
		n := 0
		for _, ch := range chains {
			if ch.Table.Name != t.Name || ch.Table.Family != t.Family {
				continue
			}
			rules, err := c.GetRules(t, ch)
			if err != nil {
				return s, fmt.Errorf("list rules of %s chain %s: %w", key, ch.Name, err)
			}
			n += len(rules)
		}
		s.nft[key] = n
	}
	return s, nil
}

func familyName(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyINet:
		return "inet"
	case nftables.TableFamilyIPv4:
		return "ip"
	case nftables.TableFamilyIPv6:
		return "ip6"
	case nftables.TableFamilyBridge:
		return "bridge"
	case nftables.TableFamilyARP:
		return "arp"
	case nftables.TableFamilyNetdev:
		return "netdev"
	}
	return strconv.Itoa(int(f))
}

// newSince lists what after has that before had not.
func newSince(before, after hostSnapshot) []string {
	var out []string
	for name, kind := range after.links {
		if _, ok := before.links[name]; !ok {
			out = append(out, fmt.Sprintf("link: %s (%s)", name, kind))
		}
	}
	for name := range after.netns {
		if !before.netns[name] {
			out = append(out, "netns: /run/netns/"+name)
		}
	}
	for key, n := range after.nft {
		was, ok := before.nft[key]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("nftables table: %s (%d rules)", key, n))
		case n > was:
			out = append(out, fmt.Sprintf("nftables table: %s has %d rules, had %d before the suite", key, n, was))
		}
	}
	sort.Strings(out)
	return out
}

// checkSuite is the check after all tests: mounts and processes under any
// test's dirs, and network objects new since before. Objects made by a
// concurrent test of another package go away within the grace period;
// berth's leaks stay.
func checkSuite(roots []string, before hostSnapshot) []string {
	leaks := checkLocal(roots, leakGrace)
	deadline := time.Now().Add(leakGrace)
	for {
		after, err := snapshotHost()
		if err != nil {
			return append(leaks, "network check failed: "+err.Error())
		}
		added := newSince(before, after)
		if len(added) == 0 || time.Now().After(deadline) {
			return append(leaks, added...)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// formatLeaks is the report printed when the suite leaked.
func formatLeaks(leaks []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "LEAK CHECK FAILED: berth left %d thing(s) behind after the e2e suite:\n", len(leaks))
	for _, l := range leaks {
		fmt.Fprintf(&b, "  - %s\n", l)
	}
	return b.String()
}
