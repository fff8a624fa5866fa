package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/berth-dev/berth/network/nft"
	"github.com/berth-dev/berth/network/portmap"
)

// Attacks on the host's loopback through berth's bridges (issue 11, items
// 5, 6 and 8), tried from namespaces the tests make.

// nsRun runs a command inside the netns at path.
func nsRun(t testing.TB, path string, args ...string) {
	t.Helper()
	out, err := exec.Command("nsenter", append([]string{"--net=" + path}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s: %v: %s", path, strings.Join(args, " "), err, out)
	}
}

// routeLoopbackOut makes the netns at path send what it addresses to
// 127.0.0.1 out of dev to via, as a hostile container (root in its own
// netns, which it is) can: its loopback address goes (else the answers,
// from 127.0.0.1, would be martians to it), and its own route_localnet
// lets 127.0.0.1 leave and the answers come in.
func routeLoopbackOut(t testing.TB, path, dev string, via net.IP) {
	t.Helper()
	nsRun(t, path, "sh", "-c", "ip addr del 127.0.0.1/8 dev lo || true")
	nsRun(t, path, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/"+dev+"/route_localnet")
	nsRun(t, path, "ip", "route", "add", "127.0.0.1/32", "via", via.String(), "dev", dev)
}

// hostLoopbackListener listens on the host's 127.0.0.1 (never published)
// and counts the connections it accepts.
func hostLoopbackListener(t testing.TB) (int, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, &n
}

// dialFrom connects to addr from inside the netns at path.
func dialFrom(path, addr string) error {
	return inNetns(path, func() error {
		c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// TestContainerCannotReachHostLoopback: a container that routes
// 127.0.0.1 to its gateway's MAC does not reach a service the host bound
// to 127.0.0.1 only — the bridge has route_localnet=1 (loopback
// publishing needs it), so only berth's raw-prerouting drop stops it.
func TestContainerCannotReachHostLoopback(t *testing.T) {
	run := rootSetup(t)
	fw := testFirewall(t)
	n := mkNet(t, fw, 41, false)
	evil, _ := mkContainer(t, run, n, 2, true)
	port, accepted := hostLoopbackListener(t)
	if err := ping(evil, n.gateway); err != nil {
		t.Fatal(err) // the container is on the bridge: the test is valid
	}
	routeLoopbackOut(t, evil, "eth0", n.gateway)
	err := dialFrom(evil, fmt.Sprintf("127.0.0.1:%d", port))
	time.Sleep(200 * time.Millisecond)
	if err == nil || accepted.Load() != 0 {
		t.Fatalf("a container reached the host's 127.0.0.1:%d (dial: %v, accepted %d)", port, err, accepted.Load())
	}
}

// TestLoopbackPublishNotReachableFromNeighbour: a port published on
// 127.0.0.1 answers the host, not a neighbour that routes 127.0.0.1 to
// this host (CVE-2020-8558's class).
func TestLoopbackPublishNotReachableFromNeighbour(t *testing.T) {
	run := rootSetup(t)
	fw := testFirewall(t)
	n := mkNet(t, fw, 42, false)
	web, _ := mkContainer(t, run, n, 2, true)
	serveHello(t, web, n.ip(2), 8080)
	port, err := RandomPort(nil, "tcp")
	if err != nil {
		t.Fatal(err)
	}
	cp := nft.ContainerPorts{ContainerID: "btctr" + rnd(), Bridge: n.bridge, ContainerIP: n.ip(2),
		Ports: []portmap.Binding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: port, ContainerPort: 8080, Protocol: portmap.TCP}}}
	if err := fw.AddPorts(cp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fw.RemovePorts(cp.ContainerID) })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	want := "hello from " + n.ip(2).String()
	if got, err := fetch(addr); err != nil || got != want {
		t.Fatalf("host → %s: %q, %v (loopback publishing must work)", addr, got, err)
	}

	// The neighbour: a netns on a /30 of its own, linked to the host by a
	// veth pair (not through any bridge).
	third := byte(40 + time.Now().UnixNano()%200)
	hostIP, peerIP := net.IPv4(198, 18, third, 1).To4(), net.IPv4(198, 18, third, 2).To4()
	nb := mkNeighbour(t, run, hostIP, peerIP)
	if err := ping(nb, hostIP); err != nil {
		t.Fatal(err)
	}
	routeLoopbackOut(t, nb, "eth0", hostIP)
	if err := dialFrom(nb, addr); err == nil {
		t.Fatalf("a neighbour reached %s, published on the host's loopback only", addr)
	}
	if got, err := fetch(addr); err != nil || got != want {
		t.Errorf("host → %s after the attempt: %q, %v", addr, got, err)
	}
}

// mkNeighbour makes a netns linked to the host by a veth pair: the host
// end has hostIP/30, the netns end (eth0) peerIP/30. Removed at cleanup.
func mkNeighbour(t testing.TB, run string, hostIP, peerIP net.IP) string {
	t.Helper()
	path := run + "/netns/btnb" + rnd()
	if err := os.MkdirAll(run+"/netns", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CreateNetns(path); err != nil {
		t.Fatal(err)
	}
	hostEnd, peerEnd := "btnh"+rnd(), "btnp"+rnd()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = hostEnd
	attrs.Flags = net.FlagUp
	v := &netlink.Veth{LinkAttrs: attrs, PeerName: peerEnd}
	if err := netlink.LinkAdd(v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := netlink.LinkDel(v); err != nil && !isNotFound(err) {
			t.Error(err)
		}
		if err := DeleteNetns(path); err != nil {
			t.Error(err)
		}
	})
	if err := netlink.AddrAdd(v, &netlink.Addr{IPNet: &net.IPNet{IP: hostIP, Mask: net.CIDRMask(30, 32)}}); err != nil {
		t.Fatal(err)
	}
	nsRun(t, "/proc/self/ns/net", "ip", "link", "set", peerEnd, "netns", path)
	nsRun(t, path, "ip", "link", "set", peerEnd, "name", "eth0")
	nsRun(t, path, "ip", "addr", "add", peerIP.String()+"/30", "dev", "eth0")
	nsRun(t, path, "ip", "link", "set", "eth0", "up")
	return path
}

// TestBridgeNotAdopted: EnsureBridge refuses a bridge berth did not make
// (and changes nothing on it), and DeleteBridge never deletes one.
func TestBridgeNotAdopted(t *testing.T) {
	rootSetup(t)
	name := "brtest" + rnd()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	br := &netlink.Bridge{LinkAttrs: attrs}
	if err := netlink.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(br) })
	_, subnet, _ := net.ParseCIDR("10.231.43.0/24")
	gw := net.IPv4(10, 231, 43, 1).To4()
	err := EnsureBridge(t.Context(), BridgeConfig{Name: name, NetworkID: "btnet" + rnd(), Subnet: subnet, Gateway: gw})
	if !errors.Is(err, ErrForeignLink) || !strings.Contains(err.Error(), name) {
		t.Errorf("EnsureBridge on the test's own bridge %s: %v, want ErrForeignLink naming it", name, err)
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if addrs, _ := netlink.AddrList(link, netlink.FAMILY_V4); len(addrs) != 0 {
		t.Errorf("berth gave %s addresses %v", name, addrs)
	}
	if link.Attrs().Flags&net.FlagUp != 0 {
		t.Errorf("berth set %s up", name)
	}
	if err := DeleteBridge(t.Context(), name, "btnet"+rnd()); err != nil {
		t.Errorf("DeleteBridge of a bridge berth did not make: %v", err)
	}
	if _, err := netlink.LinkByName(name); err != nil {
		t.Fatalf("DeleteBridge deleted %s, which berth did not make: %v", name, err)
	}

	// A bridge berth made for one network is not another network's either.
	n := mkNet(t, nil, 44, false)
	other := BridgeConfig{Name: n.bridge, NetworkID: "btnet" + rnd(), Subnet: n.subnet, Gateway: n.gateway}
	if err := EnsureBridge(t.Context(), other); !errors.Is(err, ErrForeignLink) {
		t.Errorf("EnsureBridge of network %s's bridge for another network: %v, want ErrForeignLink", n.id, err)
	}
	if err := DeleteBridge(t.Context(), n.bridge, other.NetworkID); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(n.bridge); err != nil {
		t.Fatalf("DeleteBridge for another network deleted %s: %v", n.bridge, err)
	}
}
