package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/network/dns"
	"github.com/berth-dev/berth/network/nft"
	"github.com/berth-dev/berth/network/portmap"
	mdns "github.com/miekg/dns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestBridgeIdempotentAndNetnsLifecycle(t *testing.T) {
	run := rootSetup(t)
	n := mkNet(t, nil, 10, false)
	ctx := t.Context()
	if err := EnsureBridge(ctx, BridgeConfig{Name: n.bridge, NetworkID: n.id, Subnet: n.subnet, Gateway: n.gateway}); err != nil {
		t.Fatalf("second EnsureBridge: %v", err)
	}
	link, err := netlink.LinkByName(n.bridge)
	if err != nil {
		t.Fatal(err)
	}
	addrs, _ := netlink.AddrList(link, netlink.FAMILY_V4)
	if len(addrs) != 1 || !addrs[0].IP.Equal(n.gateway) {
		t.Fatalf("bridge addresses = %v", addrs)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		t.Fatal("bridge is down")
	}
	if got := link.Attrs().Alias; got != ownerAlias(n.id) {
		t.Fatalf("bridge alias = %q, want the owner mark %q", got, ownerAlias(n.id))
	}
	if out, _ := exec.Command("sysctl", "-n", "net.ipv4.conf."+n.bridge+".route_localnet").Output(); strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("route_localnet = %q", out)
	}

	path, a := mkContainer(t, run, n, 2, true)
	if !IsNetns(path) {
		t.Fatal("netns file is not a namespace")
	}
	if err := CreateNetns(path); !errors.Is(err, ErrNetnsExists) {
		t.Fatalf("CreateNetns twice: %v", err)
	}
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lo, _ := h.LinkByName("lo")
	eth, err := h.LinkByName("eth0")
	if err != nil || lo.Attrs().Flags&net.FlagUp == 0 || eth.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("inside: lo %v eth0 %v (%v)", lo.Attrs().Flags, eth, err)
	}
	routes, _ := h.RouteList(nil, netlink.FAMILY_V4)
	hasDefault := false
	for _, r := range routes {
		if isDefault(r) && r.Gw.Equal(n.gateway) {
			hasDefault = true
		}
	}
	if !hasDefault {
		t.Fatalf("no default route via %s: %v", n.gateway, routes)
	}
	host, err := netlink.LinkByName(a.HostIfName)
	if err != nil || host.Attrs().MasterIndex != link.Attrs().Index {
		t.Fatalf("host end %v not on the bridge (%v)", host, err)
	}
	// Detach and DeleteNetns are idempotent.
	if err := Detach(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(a.HostIfName); err == nil {
		t.Fatal("veth left after Detach")
	}
	if err := DeleteNetns(path); err != nil {
		t.Fatal(err)
	}
	if IsNetns(path) {
		t.Fatal("netns still mounted")
	}
	if err := DeleteNetns(path); err != nil {
		t.Fatal(err)
	}
}

func TestTwoContainersPingAndParallelAttach(t *testing.T) {
	run := rootSetup(t)
	fw := testFirewall(t)
	n := mkNet(t, fw, 11, false)
	a, _ := mkContainer(t, run, n, 2, true)
	b, _ := mkContainer(t, run, n, 3, true)
	if err := ping(a, n.ip(3)); err != nil {
		t.Fatal(err)
	}
	if err := ping(b, n.ip(2)); err != nil {
		t.Fatal(err)
	}
	// Many containers at once on one bridge.
	var wg sync.WaitGroup
	paths := make([]string, 12)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], _ = mkContainer(t, run, n, byte(10+i), true)
		}()
	}
	wg.Wait()
	if err := ping(paths[11], n.ip(2)); err != nil {
		t.Fatal(err)
	}
}

// serveHello listens on ip:port inside the netns and answers every
// connection with "hello from <ip>".
func serveHello(t testing.TB, path string, ip net.IP, port int) {
	t.Helper()
	var ln net.Listener
	if err := inNetns(path, func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf("%s:%d", ip, port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "hello from %s", ip)
			c.Close()
		}
	}()
}

func fetch(addr string) (string, error) {
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestPublishedPortDNATAndHairpin(t *testing.T) {
	run := rootSetup(t)
	fw := testFirewall(t)
	n := mkNet(t, fw, 12, false)
	web, _ := mkContainer(t, run, n, 2, true)
	client, _ := mkContainer(t, run, n, 3, true)
	serveHello(t, web, n.ip(2), 8080)

	hostAddr := net.IPv4(198, 18, 231, byte(10+time.Now().UnixNano()%200)).To4()
	mkDummy(t, hostAddr)
	port, err := RandomPort(nil, "tcp")
	if err != nil {
		t.Fatal(err)
	}
	if err := (HostProbe{}).Check(netip.Addr{}, port, portmap.TCP); err != nil {
		t.Fatal(err)
	}
	cp := nft.ContainerPorts{ContainerID: "btctr" + rnd(), Bridge: n.bridge, ContainerIP: n.ip(2),
		Ports: []portmap.Binding{{HostPort: port, ContainerPort: 8080, Protocol: portmap.TCP}}}
	if err := fw.AddPorts(cp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fw.RemovePorts(cp.ContainerID) })
	want := "hello from " + n.ip(2).String()

	for _, target := range []string{"127.0.0.1", hostAddr.String(), n.gateway.String()} {
		addr := fmt.Sprintf("%s:%d", target, port)
		if got, err := fetch(addr); err != nil || got != want {
			t.Errorf("host → %s: %q, %v", addr, got, err)
		}
	}
	// Hairpin: a container on the same bridge reaches the published port
	// on the host's address.
	var got string
	err = inNetns(client, func() (err error) {
		got, err = fetch(fmt.Sprintf("%s:%d", hostAddr, port))
		return err
	})
	if err != nil || got != want {
		t.Errorf("hairpin: %q, %v", got, err)
	}
	// Unpublished: nothing answers any more.
	if err := fw.RemovePorts(cp.ContainerID); err != nil {
		t.Fatal(err)
	}
	if _, err := fetch(fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
		t.Error("port still answers after RemovePorts")
	}
}

func TestIsolationAndInternal(t *testing.T) {
	run := rootSetup(t)
	fw := testFirewall(t)
	n1 := mkNet(t, fw, 13, false)
	n2 := mkNet(t, fw, 14, false)
	in := mkNet(t, fw, 15, true)
	a, _ := mkContainer(t, run, n1, 2, true)
	b, _ := mkContainer(t, run, n2, 2, true)
	c, _ := mkContainer(t, run, in, 2, false)
	c2, _ := mkContainer(t, run, in, 3, false)
	// Both reach their gateway (the host) …
	if err := ping(a, n1.gateway); err != nil {
		t.Fatal(err)
	}
	if err := ping(b, n2.gateway); err != nil {
		t.Fatal(err)
	}
	// … not each other.
	if !unreachable(a, n2.ip(2)) {
		t.Fatal("a container on one network reached one on another")
	}
	if !unreachable(b, n1.ip(2)) {
		t.Fatal("a container on one network reached one on another")
	}
	// The internal network: no default route, peers reachable, the rest not.
	ns, _ := netns.GetFromPath(c)
	defer ns.Close()
	h, _ := netlink.NewHandleAt(ns)
	defer h.Close()
	routes, _ := h.RouteList(nil, netlink.FAMILY_V4)
	for _, r := range routes {
		if isDefault(r) {
			t.Fatalf("internal container has a default route: %v", r)
		}
	}
	if err := ping(c, in.ip(3)); err != nil {
		t.Fatal(err)
	}
	_ = c2
	if !unreachable(a, in.ip(2)) {
		t.Fatal("reached a container on an internal network from another network")
	}
}

func TestDNSInsideNetns(t *testing.T) {
	run := rootSetup(t)
	n := mkNet(t, nil, 16, false)
	path, _ := mkContainer(t, run, n, 2, true)
	tb := dns.NewTable()
	tb.Add(dns.Record{Network: "front", IP: n.ip(2), Names: []string{"client"}})
	tb.Add(dns.Record{Network: "front", IP: n.ip(3), Names: []string{"web", "www"}})
	s := dns.NewServer(tb, dns.WithUpstreams(nil))
	t.Cleanup(func() { s.Close() })
	if _, err := s.ListenInNetns(path, "127.0.0.11:53", dns.AskerIP(n.ip(2))); err != nil {
		t.Fatal(err)
	}
	// Nothing listens on the host's 127.0.0.11:53 because of it.
	var resp *mdns.Msg
	err := inNetns(path, func() (err error) {
		m := new(mdns.Msg)
		m.SetQuestion("web.", mdns.TypeA)
		resp, _, err = (&mdns.Client{Timeout: 2 * time.Second}).Exchange(m, "127.0.0.11:53")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Answer) != 1 || !resp.Answer[0].(*mdns.A).A.Equal(n.ip(3)) {
		t.Fatalf("answer = %v", resp)
	}
	out, err := exec.Command("nsenter", "--net="+path, "/bin/busybox", "nslookup", "www", "127.0.0.11").CombinedOutput()
	if err != nil || !strings.Contains(string(out), n.ip(3).String()) {
		t.Fatalf("busybox nslookup: %v\n%s", err, out)
	}
}

// TestNothingLeft runs last in this file's order and checks that no test
// device, netns or table is left on the host.
func TestZZNothingLeft(t *testing.T) {
	rootSetup(t)
	out, _ := exec.Command("ip", "-o", "link").CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, ": btbr") || strings.Contains(l, ": btv") || strings.Contains(l, ": btd") {
			t.Errorf("left: %s", l)
		}
	}
	out, _ = exec.Command("nft", "list", "tables").CombinedOutput()
	if strings.Contains(string(out), " bt") {
		t.Errorf("tables left:\n%s", out)
	}
	_ = context.Background
}

func isDefault(r netlink.Route) bool {
	if r.Dst == nil {
		return true
	}
	ones, _ := r.Dst.Mask.Size()
	return ones == 0
}
