package network

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/network/nft"
)

func rnd() string { return fmt.Sprintf("%06x", rand.Uint32()&0xffffff) }

// testNet is a bridge network made for one test.
type testNet struct {
	id      string
	bridge  string
	subnet  *net.IPNet
	gateway net.IP
}

func (n testNet) ip(host byte) net.IP {
	ip := append(net.IP(nil), n.subnet.IP.To4()...)
	ip[3] = host
	return ip
}

// mkNet makes a bridge on 10.231.<third>.0/24 and its firewall rules; all
// removed at cleanup.
func mkNet(t testing.TB, fw *nft.Firewall, third byte, internal bool) testNet {
	t.Helper()
	_, subnet, _ := net.ParseCIDR(fmt.Sprintf("10.231.%d.0/24", third))
	n := testNet{id: "btnet" + rnd(), bridge: "btbr" + rnd(), subnet: subnet}
	n.gateway = n.ip(1)
	ctx := context.Background()
	t.Cleanup(func() {
		if fw != nil {
			if err := fw.RemoveNetwork(n.id); err != nil {
				t.Error(err)
			}
		}
		if err := DeleteBridge(ctx, n.bridge, n.id); err != nil {
			t.Error(err)
		}
	})
	if err := EnsureBridge(ctx, BridgeConfig{Name: n.bridge, NetworkID: n.id, Subnet: subnet, Gateway: n.gateway, Internal: internal}); err != nil {
		t.Fatal(err)
	}
	if fw != nil {
		if err := fw.AddNetwork(nft.NetworkRules{ID: n.id, Bridge: n.bridge, Subnet: subnet, Internal: internal}); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// mkContainer makes a netns attached to n at host address host.
func mkContainer(t testing.TB, run string, n testNet, host byte, defaultRoute bool) (string, Attachment) {
	t.Helper()
	path := filepath.Join(run, "netns", "bt"+rnd())
	a := Attachment{NetnsPath: path, Bridge: n.bridge, IfName: "eth0", HostIfName: "btv" + rnd(),
		Address: &net.IPNet{IP: n.ip(host), Mask: n.subnet.Mask}, Gateway: n.gateway, DefaultRoute: defaultRoute}
	t.Cleanup(func() {
		if err := Detach(context.Background(), a); err != nil {
			t.Error(err)
		}
		if err := DeleteNetns(path); err != nil {
			t.Error(err)
		}
	})
	if err := CreateNetns(path); err != nil {
		t.Fatal(err)
	}
	if err := Attach(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return path, a
}

// inNetns runs fn on a thread inside the netns.
func inNetns(path string, fn func() error) error { return InNetns(path, fn) }

// ping succeeds when ip answers from inside the netns at path. A fresh
// veth can drop the very first packets while its carrier comes up, so a
// reachable address gets a few tries; use unreachable for the opposite.
func ping(path string, ip net.IP) error {
	var err error
	for range 3 {
		if err = pingOnce(path, ip); err == nil {
			return nil
		}
	}
	return err
}

// unreachable reports whether one ping from path to ip goes unanswered.
func unreachable(path string, ip net.IP) bool { return pingOnce(path, ip) != nil }

func pingOnce(path string, ip net.IP) error {
	out, err := exec.Command("nsenter", "--net="+path, "/bin/busybox", "ping", "-c", "1", "-W", "1", ip.String()).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %v: %s", ip, path, err, out)
	}
	return nil
}

// testFirewall gives the test its own nftables table (and a fake Docker
// filter table with FORWARD policy drop, so that every forwarded packet
// of the test also proves the Docker-coexistence rules), both deleted at
// cleanup, after checking nothing of the test's networks was left.
func testFirewall(t testing.TB) *nft.Firewall {
	t.Helper()
	docker := testutil.FakeDockerTable(t)
	fw, err := nft.New(nft.WithTable("bt"+rnd()), nft.WithDockerFilterTable(docker))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		out, _ := exec.Command("nft", "list", "table", "ip", docker).CombinedOutput()
		if strings.Contains(string(out), "btbr") {
			t.Errorf("rules left in the Docker-like table:\n%s", out)
		}
		if done, err := fw.Cleanup(); err != nil || !done {
			out, _ := exec.Command("nft", "list", "table", "ip", fw.Table()).CombinedOutput()
			t.Errorf("firewall cleanup = %v, %v; left:\n%s", done, err, out)
			c, _ := nftables.New()
			c.DelTable(&nftables.Table{Name: fw.Table(), Family: nftables.TableFamilyIPv4})
			_ = c.Flush()
		}
		fw.Close()
	})
	return fw
}

// rootSetup skips without root and gives the test its own state dirs.
func rootSetup(t *testing.T) (run string) {
	t.Helper()
	testutil.RequiresRoot(t)
	_, run = testutil.StateDirs(t)
	return run
}

// mkDummy gives the host an extra address of its own, addr/32, on a veth
// pair made for the test (the dummy driver is not available everywhere).
func mkDummy(t testing.TB, addr net.IP) {
	t.Helper()
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "btd" + rnd()
	attrs.Flags = net.FlagUp
	d := &netlink.Veth{LinkAttrs: attrs, PeerName: "btd" + rnd()}
	if err := netlink.LinkAdd(d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(d) })
	if err := netlink.AddrAdd(d, &netlink.Addr{IPNet: &net.IPNet{IP: addr, Mask: net.CIDRMask(32, 32)}}); err != nil {
		t.Fatal(err)
	}
}
