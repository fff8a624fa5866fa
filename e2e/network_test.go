package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
)

// Scenarios of the networking capability (issue 6): bridge networks,
// reaching services by name and alias, published ports from the host,
// isolation between networks, internal networks. Shared helpers of the
// networking tests (network_test.go, ports_test.go, dns_test.go) live here.

// netSleeper is a busybox service body that runs until stopped, quickly
// (init: true forwards the stop signal to sleep).
const netSleeper = `    image: busybox
    init: true
    command: ["sleep", "1000"]
`

// netFreePort is a host port that nothing holds right now (tcp or udp, on
// every address).
func netFreePort(t testing.TB, proto string) int {
	t.Helper()
	if proto == "udp" {
		c, err := net.ListenPacket("udp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// netExec runs a command in a service's container (exec -T) and returns
// what it did. svc may carry flags: "--index 2 web" (exec's own), and a
// leading "-p NAME" (the global project name, placed before exec).
func netExec(t *testing.T, e *Env, svc string, cmd ...string) Result {
	t.Helper()
	f := strings.Fields(svc)
	var args []string
	if len(f) > 2 && f[0] == "-p" {
		args, f = f[:2], f[2:]
	}
	args = append(append(args, "exec", "-T"), f...)
	return e.Berth(t, append(args, cmd...)...)
}

// netWget fetches url from inside svc's container, bounded to 3 seconds
// (busybox-static's own wget -T crashes).
func netWget(t *testing.T, e *Env, svc, url string) Result {
	t.Helper()
	return netExec(t, e, svc, "timeout", "3", "wget", "-qO-", url)
}

// netReaches polls until svc fetches url and the answer contains want.
func netReaches(t *testing.T, e *Env, svc, url, want string) string {
	t.Helper()
	var body string
	Eventually(t, 20*time.Second, func() error {
		r := netWget(t, e, svc, url)
		if r.Code != 0 || !strings.Contains(r.Stdout, want) {
			return fmt.Errorf("%s cannot fetch %s (want %q in the answer): %s", svc, url, want, r)
		}
		body = r.Stdout
		return nil
	})
	return body
}

// netHTTP fetches from the test process; every request is bounded.
var netHTTP = &http.Client{Timeout: 3 * time.Second}

// netHostGet polls until an HTTP GET of url from the test process answers
// 200 with want in the body, and returns the body.
func netHostGet(t *testing.T, url, want string) string {
	t.Helper()
	var body string
	Eventually(t, 20*time.Second, func() error {
		resp, err := netHTTP.Get(url)
		if err != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("GET %s: read: %w", url, err)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
			return fmt.Errorf("GET %s: %s, body %q; want 200 and %q", url, resp.Status, b, want)
		}
		body = string(b)
		return nil
	})
	return body
}

// netUDPEcho polls until a datagram sent to addr comes back unchanged.
func netUDPEcho(t *testing.T, addr string) {
	t.Helper()
	Eventually(t, 20*time.Second, func() error {
		c, err := net.Dial("udp4", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		msg := "ping-" + netRandHex(4)
		if _, err := c.Write([]byte(msg)); err != nil {
			return fmt.Errorf("send to %s: %w", addr, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 256)
		n, err := c.Read(buf)
		if err != nil {
			return fmt.Errorf("udp echo from %s: %w", addr, err)
		}
		if got := string(buf[:n]); got != msg {
			return fmt.Errorf("udp echo from %s: got %q, want %q", addr, got, msg)
		}
		return nil
	})
}

func netRandHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// netHostAddr gives the host an address of its own for the test: a veth
// pair bte<hex>/btf<hex> in the host's namespace, both up, with
// 198.18.X.Y/32 (RFC 2544 benchmarking space, never routed) on the first
// end. The pair goes when the test ends.
func netHostAddr(t *testing.T) net.IP {
	t.Helper()
	suffix := netRandHex(4)
	a, b := "bte"+suffix, "btf"+suffix
	attrs := netlink.NewLinkAttrs()
	attrs.Name = a
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: b}); err != nil {
		t.Fatalf("create veth pair %s/%s: %v", a, b, err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(a); err == nil {
			if err := netlink.LinkDel(l); err != nil {
				t.Errorf("delete test veth %s: %v", a, err)
			}
		}
	})
	var rnd [2]byte
	_, _ = rand.Read(rnd[:])
	ip := net.IPv4(198, 18, rnd[0], 1+rnd[1]%250).To4()
	la, err := netlink.LinkByName(a)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := netlink.LinkByName(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.AddrAdd(la, &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(32, 32)}}); err != nil {
		t.Fatalf("add %s/32 to %s: %v", ip, a, err)
	}
	for _, l := range []netlink.Link{la, lb} {
		if err := netlink.LinkSetUp(l); err != nil {
			t.Fatalf("set %s up: %v", l.Attrs().Name, err)
		}
	}
	return ip
}

var netInetRE = regexp.MustCompile(`inet (\d+\.\d+\.\d+\.\d+)/(\d+)`)

// netContainerIP is the IPv4 address (and prefix) of ifName inside svc's
// container, as `ip -4 addr` inside shows it. svc may carry exec flags
// ("--index 2 web").
func netContainerIP(t *testing.T, e *Env, svc, ifName string) *net.IPNet {
	t.Helper()
	r := netExec(t, e, svc, "ip", "-4", "-o", "addr", "show", "dev", ifName)
	m := netInetRE.FindStringSubmatch(r.Stdout)
	if r.Code != 0 || m == nil {
		t.Fatalf("no IPv4 address on %s in %s: %s", ifName, svc, r)
	}
	_, n, _ := net.ParseCIDR(m[1] + "/" + m[2])
	return &net.IPNet{IP: net.ParseIP(m[1]).To4(), Mask: n.Mask}
}

// netSubnetOf is the network of an address with its prefix.
func netSubnetOf(n *net.IPNet) *net.IPNet {
	return &net.IPNet{IP: n.IP.Mask(n.Mask), Mask: n.Mask}
}

func netOverlaps(a, b *net.IPNet) bool { return a.Contains(b.IP) || b.Contains(a.IP) }

// netNetnsFiles lists the namespaces bind-mounted under the test's run dir.
func netNetnsFiles(e *Env) []string {
	ents, err := os.ReadDir(filepath.Join(e.Run, "netns"))
	if err != nil {
		return nil
	}
	var out []string
	for _, ent := range ents {
		out = append(out, ent.Name())
	}
	return out
}

// TestNetworkWebWorkerCache: the classic three-service project on the
// default network. Services reach each other by name and alias; published
// tcp and udp ports answer from the host on 127.0.0.1 and on another
// address of the host.
func TestNetworkWebWorkerCache(t *testing.T) {
	e := netEnv(t)
	webPort, udpPort := netFreePort(t, "tcp"), netFreePort(t, "udp")
	e.Compose(t, fmt.Sprintf(`services:
  web:
    image: httpecho
    hostname: webhost
    ports: ["%d:8080"]
    networks:
      default:
        aliases: [frontend]
  worker:
%s  cache:
    image: tcpecho
    ports: ["%d:9000/udp"]
`, webPort, netSleeper, udpPort))
	e.MustBerth(t, "pull")
	before, err := netTakeHostState()
	if err != nil {
		t.Fatal(err)
	}
	e.MustBerth(t, "up", "-d")

	// By service name and by alias, from inside the worker.
	netReaches(t, e, "worker", "http://web:8080/", "hostname: webhost")
	netReaches(t, e, "worker", "http://frontend:8080/", "hostname: webhost")
	// And tcp to the cache by name (busybox nc, bounded).
	Eventually(t, 20*time.Second, func() error {
		r := netExec(t, e, "worker", "sh", "-c", "echo tcp-hello | timeout 3 nc cache 9000")
		if !strings.Contains(r.Stdout, "tcp-hello") {
			return fmt.Errorf("worker → cache:9000 tcp echo: %s", r)
		}
		return nil
	})

	// The published port, from the host: loopback and a non-loopback
	// address of the host's own (made for the test).
	netHostGet(t, fmt.Sprintf("http://127.0.0.1:%d/", webPort), "hostname: webhost")
	ip := netHostAddr(t)
	netHostGet(t, fmt.Sprintf("http://%s/", net.JoinHostPort(ip.String(), strconv.Itoa(webPort))), "hostname: webhost")

	// UDP through the published udp port.
	netUDPEcho(t, fmt.Sprintf("127.0.0.1:%d", udpPort))

	// berth port names the mapping.
	r := e.MustBerth(t, "port", "web", "8080")
	if !strings.Contains(r.Stdout, ":"+strconv.Itoa(webPort)) {
		t.Errorf("berth port web 8080 = %q, want host port %d", r.Stdout, webPort)
	}

	// A restart keeps the container's namespace and address.
	webIP := netContainerIP(t, e, "web", "eth0")
	nsBefore := netNetnsFiles(e)
	e.MustBerth(t, "restart", "web")
	if got := netContainerIP(t, e, "web", "eth0"); got.String() != webIP.String() {
		t.Errorf("web's address changed across a restart: %s → %s", webIP, got)
	}
	if got := netNetnsFiles(e); strings.Join(got, " ") != strings.Join(nsBefore, " ") {
		t.Errorf("netns changed across a restart: %q → %q", nsBefore, got)
	}
	netReaches(t, e, "worker", "http://web:8080/", "hostname: webhost")
	netHostGet(t, fmt.Sprintf("http://127.0.0.1:%d/", webPort), "hostname: webhost")

	e.MustBerth(t, "down")
	if ns := netNetnsFiles(e); len(ns) != 0 {
		t.Errorf("netns left under %s/netns after down: %q", e.Run, ns)
	}
	netNoNewHostState(t, before, 3*time.Second, "after down")
	// The published port no longer answers.
	if resp, err := netHTTP.Get(fmt.Sprintf("http://127.0.0.1:%d/", webPort)); err == nil {
		resp.Body.Close()
		t.Errorf("port %d still answers after down: %s", webPort, resp.Status)
	}
}

// TestNetworkIsolation: a service on two networks reaches both; a service
// on one network neither resolves nor reaches a container on the other;
// an internal network's container has no default route.
func TestNetworkIsolation(t *testing.T) {
	e := netEnv(t)
	e.Compose(t, `services:
  front:
    image: httpecho
    hostname: fronthost
    networks: [frontnet]
  back:
    image: httpecho
    hostname: backhost
    networks: [backnet]
  both:
`+netSleeper+`    networks: [frontnet, backnet]
  frontonly:
`+netSleeper+`    networks: [frontnet]
  vault:
`+netSleeper+`    networks: [sealed]
networks:
  frontnet: {}
  backnet: {}
  sealed:
    internal: true
`)
	e.MustBerth(t, "pull")
	before, err := netTakeHostState()
	if err != nil {
		t.Fatal(err)
	}
	e.MustBerth(t, "up", "-d")

	// Two networks: eth0 and eth1, on two different subnets.
	eth0, eth1 := netContainerIP(t, e, "both", "eth0"), netContainerIP(t, e, "both", "eth1")
	if netOverlaps(netSubnetOf(eth0), netSubnetOf(eth1)) {
		t.Errorf("both's interfaces share a subnet: eth0 %s, eth1 %s", eth0, eth1)
	}
	netReaches(t, e, "both", "http://front:8080/", "hostname: fronthost")
	netReaches(t, e, "both", "http://back:8080/", "hostname: backhost")
	netReaches(t, e, "frontonly", "http://front:8080/", "hostname: fronthost")

	// frontonly shares no network with back: its name does not resolve,
	// and its address is not reachable either.
	backIP := netContainerIP(t, e, "back", "eth0").IP
	if !netSubnetOf(eth1).Contains(backIP) && !netSubnetOf(eth0).Contains(backIP) {
		t.Errorf("back's address %s is on none of both's subnets (%s, %s)", backIP, eth0, eth1)
	}
	if r := netWget(t, e, "frontonly", "http://back:8080/"); r.Code == 0 || strings.Contains(r.Stdout, "backhost") {
		t.Errorf("frontonly fetched http://back:8080/ although it shares no network with back: %s", r)
	}
	if r := netWget(t, e, "frontonly", "http://"+backIP.String()+":8080/"); r.Code == 0 || strings.Contains(r.Stdout, "backhost") {
		t.Errorf("frontonly reached back's address %s on another network: %s", backIP, r)
	}

	// The internal network: no default route, only its own subnet.
	r := netExec(t, e, "vault", "ip", "route")
	if r.Code != 0 {
		t.Fatalf("ip route in vault: %s", r)
	}
	if strings.Contains(r.Stdout, "default") {
		t.Errorf("vault on an internal network has a default route:\n%s", r.Stdout)
	}
	vaultIP := netContainerIP(t, e, "vault", "eth0")
	if !strings.Contains(r.Stdout, netSubnetOf(vaultIP).String()) {
		t.Errorf("vault's routes lack its own subnet %s:\n%s", netSubnetOf(vaultIP), r.Stdout)
	}
	// A network with a way out does have one, via its gateway.
	r = netExec(t, e, "frontonly", "ip", "route")
	if !strings.Contains(r.Stdout, "default via") {
		t.Errorf("frontonly has no default route:\n%s", r)
	}

	// down takes the three networks' bridges, the veths and rules away.
	e.MustBerth(t, "down", "-t", "0")
	netNoNewHostState(t, before, 3*time.Second, "after down")
}

// netBerthRules lists the rules berth tagged (comment "berth …") in every
// nftables table of family ip, as "table/chain: comment", sorted.
func netBerthRules() ([]string, error) {
	out, err := netRuleComments()
	if err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// netNewItems lists what after has more of than before (multisets).
func netNewItems(before, after []string) []string {
	n := map[string]int{}
	for _, s := range before {
		n[s]++
	}
	var out []string
	for _, s := range after {
		if n[s] > 0 {
			n[s]--
			continue
		}
		out = append(out, s)
	}
	return out
}

// netHostState is what berth may leave on the host: bridges and veths
// (other than the tests' own bte*/btf* pairs), berth's nftables rules.
type netHostState struct {
	links []string // "name (kind)" of br-* links and veths
	rules []string // netBerthRules
}

func netTakeHostState() (netHostState, error) {
	var s netHostState
	links, err := netlink.LinkList()
	if err != nil {
		return s, fmt.Errorf("list links: %w", err)
	}
	for _, l := range links {
		a := l.Attrs()
		if strings.HasPrefix(a.Name, "bte") || strings.HasPrefix(a.Name, "btf") {
			continue // the tests' own (netHostAddr)
		}
		if strings.HasPrefix(a.Name, "br-") || l.Type() == "veth" {
			s.links = append(s.links, fmt.Sprintf("%s (%s)", a.Name, l.Type()))
		}
	}
	s.rules, err = netBerthRules()
	return s, err
}

// netNoNewHostState polls (up to grace) until the host has no bridge, veth or
// berth rule that it had not in before: a leak stays, while an object of
// a concurrent test elsewhere on the host comes and goes.
func netNoNewHostState(t *testing.T, before netHostState, grace time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(grace)
	for {
		after, err := netTakeHostState()
		if err != nil {
			t.Fatal(err)
		}
		links, rules := netNewItems(before.links, after.links), netNewItems(before.rules, after.rules)
		if len(links)+len(rules) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: left on the host:\n  links: %q\n  nftables rules: %q", what, links, rules)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// netRuleComments reads the comment of every rule of family ip tagged by
// berth ("berth net=…", "berth ctr=…", "berth base").
func netRuleComments() ([]string, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, fmt.Errorf("list nftables chains: %w", err)
	}
	var out []string
	for _, ch := range chains {
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // gone meanwhile
			}
			return nil, fmt.Errorf("rules of ip %s %s: %w", ch.Table.Name, ch.Name, err)
		}
		for _, r := range rules {
			if cm, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok && strings.HasPrefix(cm, "berth") {
				out = append(out, fmt.Sprintf("ip %s/%s: %s", ch.Table.Name, ch.Name, cm))
			}
		}
	}
	return out, nil
}

// netEnv is NewEnv for tests that publish ports: if the test fails, the
// nftables rules berth left for its containers are removed before the
// framework's cleanup, so that one failure does not spill into the next
// tests (the framework reports and removes mounts and processes; a test
// that passes leaves any leftover to the suite's leak check).
func netEnv(t *testing.T) *Env {
	t.Helper()
	e := NewEnv(t)
	t.Cleanup(func() {
		if t.Failed() {
			netRemoveRulesOf(t, e)
		}
	})
	return e
}

// netRemoveRulesOf deletes the nftables rules berth tagged with the ID of
// a container of this test (a directory under its state root). Only rules
// that name this test's containers go.
func netRemoveRulesOf(t *testing.T, e *Env) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.Root, "containers"))
	if err != nil {
		return
	}
	mine := map[string]bool{}
	for _, ent := range ents {
		mine["berth ctr="+ent.Name()] = true
	}
	c, err := nftables.New()
	if err != nil {
		return
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return
	}
	n := 0
	for _, ch := range chains {
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			continue
		}
		for _, r := range rules {
			if cm, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok && mine[cm] {
				if err := c.DelRule(r); err == nil {
					n++
				}
			}
		}
	}
	if n > 0 {
		if err := c.Flush(); err != nil {
			t.Logf("remove %d leaked rules of the test's containers: %v", n, err)
			return
		}
		t.Logf("removed %d nftables rules of the test's containers that berth left", n)
	}
}

// TestNetworkFixedAddress: a network with a fixed subnet, a service with
// ipv4_address and mac_address on it, and interface order by priority
// (the higher priority network is eth0 even though its name sorts last).
func TestNetworkFixedAddress(t *testing.T) {
	e := netEnv(t)
	var rnd [1]byte
	_, _ = rand.Read(rnd[:])
	x := 10 + int(rnd[0])%200
	subnet := fmt.Sprintf("10.231.%d.0/24", x)
	ip := fmt.Sprintf("10.231.%d.42", x)
	gw := fmt.Sprintf("10.231.%d.1", x)
	mac := "02:42:0a:e7:00:42"
	e.Compose(t, fmt.Sprintf(`services:
  pinned:
    image: httpecho
    hostname: pinnedhost
    networks:
      zfixed:
        ipv4_address: %s
        mac_address: "%s"
        priority: 100
      alow: {}
  peer:
%s    networks: [zfixed]
networks:
  alow: {}
  zfixed:
    ipam:
      config:
        - subnet: %s
`, ip, mac, netSleeper, subnet))
	e.MustBerth(t, "up", "-d")

	eth0 := netContainerIP(t, e, "pinned", "eth0")
	if eth0.String() != ip+"/24" {
		t.Errorf("pinned eth0 = %s, want %s/24 (ipv4_address on the priority-100 network)", eth0, ip)
	}
	eth1 := netContainerIP(t, e, "pinned", "eth1")
	if netSubnetOf(eth1).String() == subnet {
		t.Errorf("pinned eth1 = %s is on %s too; want the other network", eth1, subnet)
	}
	r := netExec(t, e, "pinned", "cat", "/sys/class/net/eth0/address")
	if strings.TrimSpace(r.Stdout) != mac {
		t.Errorf("pinned eth0 MAC = %q, want %s: %s", strings.TrimSpace(r.Stdout), mac, r)
	}
	r = netExec(t, e, "pinned", "ip", "route")
	if !strings.Contains(r.Stdout, "default via "+gw) {
		t.Errorf("pinned's default route is not via %s (eth0's gateway):\n%s", gw, r)
	}
	peer := netContainerIP(t, e, "peer", "eth0")
	if netSubnetOf(peer).String() != subnet || peer.IP.String() == ip {
		t.Errorf("peer's address %s: want another address of %s", peer, subnet)
	}
	netReaches(t, e, "peer", "http://"+ip+":8080/", "hostname: pinnedhost")
	netReaches(t, e, "peer", "http://pinned:8080/", "hostname: pinnedhost")
}
