package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Scenarios of published ports and of what networking leaves on the host:
// hairpin, port conflicts caught before anything is made, disjoint
// subnets for projects up at once, and an `up` killed midway.

// TestPortsHairpin: containers reach a port published on the host — by the
// bridge gateway, by host.docker.internal (extra_hosts host-gateway), and
// the publishing container itself through its own published port.
func TestPortsHairpin(t *testing.T) {
	e := netEnv(t)
	port := netFreePort(t, "tcp")
	e.Compose(t, fmt.Sprintf(`services:
  web:
    image: httpecho
    hostname: hairpinweb
    ports: ["%d:8080"]
  client:
%s    extra_hosts: ["host.docker.internal:host-gateway"]
`, port, netSleeper))
	e.MustBerth(t, "up", "-d")

	// The gateway is the first address of the client's subnet.
	ip := netContainerIP(t, e, "client", "eth0")
	gw := netSubnetOf(ip).IP.To4()
	gw = net.IPv4(gw[0], gw[1], gw[2], gw[3]+1).To4()
	r := netExec(t, e, "client", "ip", "route")
	if !strings.Contains(r.Stdout, "default via "+gw.String()) {
		t.Errorf("client's default route is not via %s (the subnet's first address):\n%s", gw, r)
	}
	hostPort := ":" + strconv.Itoa(port) + "/"
	body := netReaches(t, e, "client", "http://"+gw.String()+hostPort, "hostname: hairpinweb")
	// The answer came through the host: web sees the gateway as the peer,
	// not the client's own address.
	if strings.Contains(body, "remote: "+ip.IP.String()+":") {
		t.Logf("note: web saw the client's own address %s (no masquerade on hairpin):\n%s", ip.IP, body)
	}
	r = netExec(t, e, "client", "cat", "/etc/hosts")
	if !strings.Contains(r.Stdout, gw.String()) || !strings.Contains(r.Stdout, "host.docker.internal") {
		t.Errorf("client's /etc/hosts does not map host.docker.internal to the gateway %s:\n%s", gw, r)
	}
	netReaches(t, e, "client", "http://host.docker.internal"+hostPort, "hostname: hairpinweb")
	// True hairpin: web reaches itself through the host's published port.
	netReaches(t, e, "web", "http://"+gw.String()+hostPort, "hostname: hairpinweb")
	// And from the host, of course.
	netHostGet(t, "http://127.0.0.1"+hostPort, "hostname: hairpinweb")
}

// TestPortsConflict: a published port held by a process of the host fails
// `up` with a message naming the port and the process, before any bridge,
// netns, container or rule exists.
func TestPortsConflict(t *testing.T) {
	e := netEnv(t)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	free := netFreePort(t, "tcp")
	e.Compose(t, fmt.Sprintf(`services:
  other:
    image: httpecho
    ports: ["%d:8080"]
    networks: [a, b]
  web:
    image: httpecho
    ports: ["%d:8080"]
  worker:
%snetworks:
  a: {}
  b: {}
`, free, port, netSleeper))
	// Pull first, so that up has nothing left to do before the check.
	e.MustBerth(t, "pull")
	before, err := netTakeHostState()
	if err != nil {
		t.Fatal(err)
	}

	r := e.Berth(t, "up", "-d")
	if r.Code == 0 {
		t.Fatalf("up -d with port %d held by the test: want a failure, got %s", port, r)
	}
	p := strconv.Itoa(port)
	if !strings.Contains(r.Stderr, p) {
		t.Errorf("up -d: the error does not name port %d:\n%s", port, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "web") {
		t.Errorf("up -d: the error does not name the service web:\n%s", r.Stderr)
	}
	self := strconv.Itoa(os.Getpid())
	if !strings.Contains(r.Stderr, self) && !strings.Contains(r.Stderr, "e2e.test") {
		t.Errorf("up -d: the error does not name the process holding the port (pid %s, e2e.test):\n%s", self, r.Stderr)
	}
	for _, w := range []string{"Network", "Container"} {
		for _, l := range strings.Split(r.Stderr, "\n") {
			if strings.Contains(l, w) && strings.Contains(l, "Created") {
				t.Errorf("up -d created something before failing on the port: %q", l)
			}
		}
	}

	// Nothing was made: no netns, no container, no network record, no
	// bridge, veth or rule on the host.
	if ns := netNetnsFiles(e); len(ns) != 0 {
		t.Errorf("netns under %s/netns after the failed up: %q", e.Run, ns)
	}
	if ps := mustPs(t, e, "-a"); len(ps) != 0 {
		t.Errorf("containers after the failed up: %+v", ps)
	}
	if r := e.MustBerth(t, "network", "ls", "-q"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("networks after the failed up:\n%s", e.MustBerth(t, "network", "ls").Stdout)
	}
	netNoNewHostState(t, before, 3*time.Second, "after the failed up")
	if rules, err := netBerthRules(); err == nil {
		for _, r := range rules {
			if strings.Contains(r, p) {
				t.Errorf("a berth rule mentions port %s: %s", p, r)
			}
		}
	}

	// The free port was not taken either: the test can still bind it.
	if l, err := net.Listen("tcp4", "0.0.0.0:"+strconv.Itoa(free)); err != nil {
		t.Errorf("port %d of the other service is taken after the failed up: %v", free, err)
	} else {
		l.Close()
	}

	// Once the port is free, the same project comes up.
	ln.Close()
	e.MustBerth(t, "up", "-d")
	netHostGet(t, "http://127.0.0.1:"+p+"/healthz", "ok")

	// A second project claiming the same port fails, naming the container.
	other := fmt.Sprintf("%s-second", e.Project)
	e.WriteFile(t, "second.yaml", fmt.Sprintf("services:\n  web2:\n    image: httpecho\n    ports: [\"%d:8080\"]\n", port))
	r = e.Berth(t, "-p", other, "-f", "second.yaml", "up", "-d")
	if r.Code == 0 || !strings.Contains(r.Stderr, p) {
		t.Errorf("a second project publishing port %d: want a failure naming the port, got %s", port, r)
	}
	if r := e.MustBerth(t, "-p", other, "ps", "-a", "-q"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("the second project has containers after its failed up: %s", r.Stdout)
	}
}

// TestPortsDisjointSubnets: projects up at the same time get subnets that
// do not overlap — two in one state root, and a third in another root
// (its own IPAM records, so only the host's routes can tell it).
func TestPortsDisjointSubnets(t *testing.T) {
	e := netEnv(t)
	e.Compose(t, "services:\n  a:\n"+netSleeper)
	e.MustBerth(t, "up", "-d")
	second := e.Project + "-two"
	e.MustBerth(t, "-p", second, "up", "-d")

	e3 := netEnv(t)
	e3.Compose(t, "services:\n  a:\n"+netSleeper)
	e3.MustBerth(t, "up", "-d")

	nets := map[string]*net.IPNet{
		e.Project:  netContainerIP(t, e, "a", "eth0"),
		second:     netContainerIP(t, e, "-p "+second+" a", "eth0"),
		e3.Project: netContainerIP(t, e3, "a", "eth0"),
	}
	names := []string{e.Project, second, e3.Project}
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			a, b := nets[names[i]], nets[names[j]]
			if netOverlaps(netSubnetOf(a), netSubnetOf(b)) {
				t.Errorf("projects %s (%s) and %s (%s) have overlapping subnets", names[i], a, names[j], b)
			}
		}
	}
	// Each subnet is routed to one bridge only on the host.
	for name, n := range nets {
		out := hostRoutesTo(t, netSubnetOf(n))
		if len(out) != 1 {
			t.Errorf("project %s: subnet %s has %d routes on the host, want 1: %q", name, netSubnetOf(n), len(out), out)
		}
	}
	e.MustBerth(t, "-p", second, "down")
}

// hostRoutesTo lists the host's main-table routes whose destination is n.
func hostRoutesTo(t *testing.T, n *net.IPNet) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 8 {
			continue
		}
		dst, err1 := strconv.ParseUint(f[1], 16, 32)
		mask, err2 := strconv.ParseUint(f[7], 16, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		// /proc/net/route is little-endian.
		ip := net.IPv4(byte(dst), byte(dst>>8), byte(dst>>16), byte(dst>>24))
		m := net.IPv4Mask(byte(mask), byte(mask>>8), byte(mask>>16), byte(mask>>24))
		if ip.Equal(n.IP) && m.String() == net.IPMask(n.Mask).String() {
			out = append(out, f[0])
		}
	}
	return out
}

// TestPortsUpKilledMidway: `up -d` of a six-service project killed with
// SIGKILL at several points, each followed by `down`, leaves no bridge,
// veth, netns, rule, mount or process behind.
func TestPortsUpKilledMidway(t *testing.T) {
	e := netEnv(t)
	var b strings.Builder
	b.WriteString("services:\n")
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&b, "  s%d:\n    image: httpecho\n    ports: [\"8080\"]\n", i)
		if i%2 == 0 {
			b.WriteString("    networks: [default, extra]\n")
		}
	}
	b.WriteString("networks:\n  extra: {}\n")
	e.Compose(t, b.String())
	e.MustBerth(t, "pull")
	before, err := netTakeHostState()
	if err != nil {
		t.Fatal(err)
	}

	for _, after := range []time.Duration{150 * time.Millisecond, 80 * time.Millisecond, 250 * time.Millisecond, 400 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		cmd := e.Cmd(ctx, "up", "-d")
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		time.Sleep(after) // when to kill, not an assertion
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		cancel()
		t.Logf("killed up -d after %s: %v", after, cmd.ProcessState)

		r := e.Berth(t, "down", "-t", "0")
		if r.Code != 0 {
			t.Errorf("down after up was killed at %s: %s", after, r)
		}
		what := fmt.Sprintf("after up killed at %s and down", after)
		if ns := netNetnsFiles(e); len(ns) != 0 {
			t.Errorf("%s: netns left under %s/netns: %q", what, e.Run, ns)
		}
		if m, err := mountsUnder([]string{e.Root, e.Run}); err != nil || len(m) != 0 {
			t.Errorf("%s: mounts left: %q %v", what, m, err)
		}
		if procs := waitProcsGone([]string{e.Root, e.Run}, leakGrace); len(procs) != 0 {
			t.Errorf("%s: processes left: %v", what, procs)
		}
		if ps := mustPs(t, e, "-a"); len(ps) != 0 {
			t.Errorf("%s: containers left: %+v", what, ps)
		}
		if r := e.MustBerth(t, "network", "ls", "-q"); strings.TrimSpace(r.Stdout) != "" {
			t.Errorf("%s: networks left:\n%s", what, e.MustBerth(t, "network", "ls").Stdout)
		}
		netNoNewHostState(t, before, 3*time.Second, what)
		if t.Failed() {
			return
		}
	}
}
