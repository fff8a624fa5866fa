package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// Attacks on the host's network through berth (issue 11, items 5 to 8):
// the host's loopback reached from a container or a neighbour, bridges
// berth did not create adopted and deleted, and network names that leave
// the state root. The "container" and the "neighbour" are network
// namespaces the test makes (a container can do all they do: it is root
// in its own netns and has CAP_NET_RAW); each is removed at cleanup.

// secNetns makes a named netns for the test, deleted at cleanup (which
// also deletes the veth ends inside it).
func secNetns(t *testing.T) string {
	t.Helper()
	name := "btsec" + netRandHex(4)
	secIP(t, "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return name
}

// secIP runs ip(8) with args and fails the test when it fails.
func secIP(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// secVeth links the netns ns to the host by a veth pair: eth0 in ns with
// addr (CIDR), the host end (returned) up, and enslaved to master when
// master is not "".
func secVeth(t *testing.T, ns, addr, master string) string {
	t.Helper()
	host, peer := "btsh"+netRandHex(4), "btsp"+netRandHex(4)
	secIP(t, "link", "add", host, "type", "veth", "peer", "name", peer)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", host).Run() })
	if master != "" {
		secIP(t, "link", "set", host, "master", master)
	}
	secIP(t, "link", "set", host, "up")
	secIP(t, "link", "set", peer, "netns", ns)
	secIP(t, "-n", ns, "link", "set", peer, "name", "eth0")
	secIP(t, "-n", ns, "addr", "add", addr, "dev", "eth0")
	secIP(t, "-n", ns, "link", "set", "eth0", "up")
	return host
}

// secRouteLoopbackOut makes ns send what it addresses to 127.0.0.1 out of
// eth0 to via — what a hostile container or neighbour does: no loopback
// address of its own (the answers come from 127.0.0.1), route_localnet on
// its eth0, and a route for 127.0.0.1 through via.
func secRouteLoopbackOut(t *testing.T, ns string, via net.IP) {
	t.Helper()
	secIP(t, "netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet")
	secIP(t, "-n", ns, "route", "add", "127.0.0.1/32", "via", via.String(), "dev", "eth0")
}

// secFetchFrom fetches url from inside ns (3 s at most); err when nothing
// answered.
func secFetchFrom(ns, url string) (string, error) {
	out, err := exec.Command("ip", "netns", "exec", ns, "curl", "-s", "--max-time", "3", url).CombinedOutput()
	return string(out), err
}

// secNetwork is what `network inspect` says of a network.
type secNetwork struct {
	Bridge  string
	Subnet  *net.IPNet
	Gateway net.IP
}

func secInspectNetwork(t *testing.T, e *Env, name string) secNetwork {
	t.Helper()
	r := e.MustBerth(t, "network", "inspect", name)
	var v []struct {
		IPAM    struct{ Config []map[string]string }
		Options map[string]string
	}
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || len(v) != 1 || len(v[0].IPAM.Config) == 0 {
		t.Fatalf("network inspect %s: %v\n%s", name, err, r)
	}
	_, subnet, err := net.ParseCIDR(v[0].IPAM.Config[0]["Subnet"])
	if err != nil {
		t.Fatal(err)
	}
	return secNetwork{Bridge: v[0].Options["com.docker.network.bridge.name"], Subnet: subnet,
		Gateway: net.ParseIP(v[0].IPAM.Config[0]["Gateway"]).To4()}
}

// secLastHost is the subnet's last host address, as CIDR.
func secLastHost(n *net.IPNet) string {
	ip := append(net.IP(nil), n.IP.To4()...)
	for i := range ip {
		ip[i] |= ^n.Mask[i]
	}
	ip[3]--
	ones, _ := n.Mask.Size()
	return fmt.Sprintf("%s/%d", ip, ones)
}

// secLoopbackSecret serves a secret on the host's 127.0.0.1 only (never
// published), counting the requests it answers.
func secLoopbackSecret(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n.Add(1)
		fmt.Fprint(w, "host-loopback-secret")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return fmt.Sprintf("http://%s/", ln.Addr()), &n
}

// TestSecurityNetContainerToHostLoopback (item 5): a container on a berth
// network that routes 127.0.0.1 to its gateway's MAC does not reach a
// service the host bound to 127.0.0.1 only; ports published on 127.0.0.1
// and on every address still answer the host on 127.0.0.1.
func TestSecurityNetContainerToHostLoopback(t *testing.T) {
	e := netEnv(t)
	lo, all := netFreePort(t, "tcp"), netFreePort(t, "tcp")
	e.Compose(t, fmt.Sprintf(`services:
  web:
    image: httpecho
    hostname: loweb
    ports: ["127.0.0.1:%d:8080", "%d:8080"]
`, lo, all))
	e.MustBerth(t, "up", "-d")
	netHostGet(t, fmt.Sprintf("http://127.0.0.1:%d/", lo), "hostname: loweb")
	netHostGet(t, fmt.Sprintf("http://127.0.0.1:%d/", all), "hostname: loweb")

	n := secInspectNetwork(t, e, e.Project+"_default")
	secret, served := secLoopbackSecret(t)
	evil := secNetns(t)
	secVeth(t, evil, secLastHost(n.Subnet), n.Bridge)
	// On the bridge: the test's "container" reaches web like any other.
	web := netContainerIP(t, e, "web", "eth0").IP
	Eventually(t, 10*time.Second, func() error {
		_, err := secFetchFrom(evil, fmt.Sprintf("http://%s:8080/", web))
		return err
	})
	secRouteLoopbackOut(t, evil, n.Gateway)
	if body, err := secFetchFrom(evil, secret); err == nil || served.Load() != 0 {
		t.Errorf("a container on %s reached the host's 127.0.0.1-only %s: %q (%v, %d served)", n.Bridge, secret, body, err, served.Load())
	}
	netHostGet(t, fmt.Sprintf("http://127.0.0.1:%d/", lo), "hostname: loweb")
}

// TestSecurityNetLoopbackPublishFromNeighbour (item 6): a port published on
// 127.0.0.1 answers the host, not a neighbour that sends to 127.0.0.1 via
// this host (CVE-2020-8558's class).
func TestSecurityNetLoopbackPublishFromNeighbour(t *testing.T) {
	e := netEnv(t)
	port := netFreePort(t, "tcp")
	e.Compose(t, fmt.Sprintf(`services:
  web:
    image: httpecho
    hostname: nbweb
    ports: ["127.0.0.1:%d:8080"]
`, port))
	e.MustBerth(t, "up", "-d")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	netHostGet(t, url, "hostname: nbweb")

	// The neighbour: a /30 of its own on a veth pair, no bridge between.
	b := netRandHex(1)
	var third int
	fmt.Sscanf(b, "%x", &third)
	hostIP, peerIP := fmt.Sprintf("198.19.%d.1", third), fmt.Sprintf("198.19.%d.2", third)
	nb := secNetns(t)
	hostEnd := secVeth(t, nb, peerIP+"/30", "")
	secIP(t, "addr", "add", hostIP+"/30", "dev", hostEnd)
	secIP(t, "netns", "exec", nb, "busybox", "ping", "-c", "1", "-W", "2", hostIP)
	secRouteLoopbackOut(t, nb, net.ParseIP(hostIP))
	if body, err := secFetchFrom(nb, url); err == nil {
		t.Errorf("a neighbour reached %s, published on the host's loopback only: %q", url, body)
	}
	netHostGet(t, url, "hostname: nbweb")
}

// TestSecurityNetForeignBridge (item 8): a network whose bridge name is an
// interface berth did not create is refused, naming the device; the
// device is neither changed nor, by `network rm`, deleted.
func TestSecurityNetForeignBridge(t *testing.T) {
	e := NewEnv(t)
	dev := "brtest" + netRandHex(3)
	secIP(t, "link", "add", dev, "type", "bridge")
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", dev).Run() })

	r := e.Berth(t, "network", "create", "-o", "com.docker.network.bridge.name="+dev, "adopt")
	if r.Code == 0 {
		// today's berth: it took the bridge; rm then deletes it
		e.Berth(t, "network", "rm", "adopt")
		t.Errorf("network create on the existing bridge %s was accepted:\n%s", dev, r)
	} else if !strings.Contains(r.Stderr, dev) || !strings.Contains(r.Stderr, "not created by berth") {
		t.Errorf("the error does not name the device %s and why:\n%s", dev, r)
	}
	link, err := netlink.LinkByName(dev)
	if err != nil {
		t.Fatalf("the test's bridge %s is gone: %v", dev, err)
	}
	if addrs, _ := netlink.AddrList(link, netlink.FAMILY_V4); len(addrs) != 0 {
		t.Errorf("berth gave the test's bridge %s addresses %v", dev, addrs)
	}
	if link.Attrs().Flags&net.FlagUp != 0 {
		t.Errorf("berth set the test's bridge %s up", dev)
	}
	if r := e.MustBerth(t, "network", "ls", "-q"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("a network record is left after the refusal:\n%s", e.MustBerth(t, "network", "ls"))
	}
}

// TestSecurityNetNameEscape (item 7): network names that would make a path
// outside the state root are refused, from the command line and from a
// compose file, and nothing is written outside the root.
func TestSecurityNetNameEscape(t *testing.T) {
	e := NewEnv(t)
	// <root>/networks/../../<name>.json is beside the root.
	outside := filepath.Join(filepath.Dir(e.Root), "esc-net.json")
	r := e.Berth(t, "network", "create", "../../esc-net")
	if r.Code == 0 {
		t.Errorf("network create ../../esc-net was accepted:\n%s", r)
	} else if !strings.Contains(r.Stderr, "network name") {
		t.Errorf("the error does not say the network name is invalid:\n%s", r)
	}
	if _, err := os.Stat(outside); err == nil {
		t.Errorf("network create wrote %s, outside the state root", outside)
		os.Remove(outside)
	}

	e.Compose(t, `services:
  a:
    image: busybox
    command: ["true"]
    networks: [n]
networks:
  n: {name: ../../esc-net}
`)
	r = e.Berth(t, "up", "-d")
	if r.Code == 0 {
		t.Errorf("up with networks.n.name ../../esc-net was accepted:\n%s", r)
	} else if !strings.Contains(r.Stderr, "networks.n") {
		t.Errorf("the error does not name networks.n:\n%s", r)
	}
	if _, err := os.Stat(outside); err == nil {
		t.Errorf("up wrote %s, outside the state root", outside)
		os.Remove(outside)
	}
	if r := e.MustBerth(t, "network", "ls", "-q"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("a network record is left after the refusals:\n%s", e.MustBerth(t, "network", "ls"))
	}
}
