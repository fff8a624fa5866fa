package nft

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/nftables"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/network/portmap"
)

func randSuffix() string { return fmt.Sprintf("%06x", rand.Uint32()&0xffffff) }

func nftList(t *testing.T, table string) (string, bool) {
	t.Helper()
	out, err := exec.Command("nft", "list", "table", "ip", table).CombinedOutput()
	return string(out), err == nil
}

// TestMain checks that the package's tests leave the host's IPv4
// forwarding, and berth's record of its value before berth, as found:
// their tables are deleted directly, without Cleanup's restore, so a test
// firewall must never write the real ones.
func TestMain(m *testing.M) {
	before := hostForwarding()
	code := m.Run()
	if after := hostForwarding(); after != before {
		fmt.Fprintf(os.Stderr, "host forwarding changed by the tests: %s, was %s\n", after, before)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// hostForwarding describes net.ipv4.ip_forward and berth's record of it.
func hostForwarding() string {
	cur, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	rec, err := os.ReadFile(DefaultIPForwardRecord)
	if err != nil {
		rec = []byte("none")
	}
	return fmt.Sprintf("ip_forward=%s record=%s", strings.TrimSpace(string(cur)), strings.TrimSpace(string(rec)))
}

// newTestFirewall gives the test its own berth table, removed at the end,
// and its own ip_forward file and record (the host's are left alone;
// forward_test.go passes files of its own).
func newTestFirewall(t *testing.T, opts ...Opt) *Firewall {
	t.Helper()
	name := "bt" + randSuffix()
	dir := t.TempDir()
	sysctl := filepath.Join(dir, "ip_forward")
	if err := os.WriteFile(sysctl, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []Opt{WithTable(name), WithIPForward(sysctl, filepath.Join(dir, "ip_forward.prior"))}
	f, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, _ := nftables.New()
		tb := &nftables.Table{Name: name, Family: nftables.TableFamilyIPv4}
		if _, err := c.ListTableOfFamily(name, nftables.TableFamilyIPv4); err == nil {
			c.DelTable(tb)
			_ = c.Flush()
		}
		f.Close()
	})
	return f
}

func TestFirewallRulesAddRemove(t *testing.T) {
	testutil.RequiresRoot(t)
	f := newTestFirewall(t)
	_, subnet, _ := net.ParseCIDR("10.231.7.0/24")
	n := NetworkRules{ID: "btnet" + randSuffix(), Bridge: "br-bt" + randSuffix(), Subnet: subnet}
	if err := f.AddNetwork(n); err != nil {
		t.Fatal(err)
	}
	if err := f.AddNetwork(n); err != nil { // idempotent
		t.Fatal(err)
	}
	in := NetworkRules{ID: "btint" + randSuffix(), Bridge: "br-bt" + randSuffix(), Subnet: subnet, Internal: true}
	if err := f.AddNetwork(in); err != nil {
		t.Fatal(err)
	}
	cp := ContainerPorts{ContainerID: "btctr", Bridge: n.Bridge, ContainerIP: net.ParseIP("10.231.7.2"), Ports: []portmap.Binding{
		{HostPort: 18080, ContainerPort: 80, Protocol: portmap.TCP},
		{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 18053, ContainerPort: 53, Protocol: portmap.UDP},
	}}
	if err := f.AddPorts(cp); err != nil {
		t.Fatal(err)
	}
	pub, err := f.Published()
	if err != nil || fmt.Sprint(pub) != "[{btctr 0.0.0.0:18080->80/tcp} {btctr 127.0.0.1:18053->53/udp}]" {
		t.Errorf("Published() = %v, %v; want the two ports read back", pub, err)
	}
	out, _ := nftList(t, f.Table())
	t.Log(out)
	for _, want := range []string{
		"fib daddr type local jump publish",
		"type filter hook prerouting priority raw; policy accept;",
		`iifname != "lo" ip daddr 127.0.0.0/8 counter packets`,
		"tcp dport 18080 dnat to 10.231.7.2:80",
		"ip daddr 127.0.0.1 udp dport 18053 dnat to 10.231.7.2:53",
		`ip saddr 10.231.7.0/24 oifname != "` + n.Bridge + `" masquerade`,
		`oifname "` + n.Bridge + `" ip saddr 127.0.0.0/8 masquerade`,
		`oifname "` + n.Bridge + `" iifname != "` + n.Bridge + `" ct status ! dnat drop`,
		`iifname "` + in.Bridge + `" oifname != "` + in.Bridge + `" drop`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if strings.Count(out, "dport 18080") != 1 {
		t.Errorf("rules duplicated:\n%s", out)
	}
	if done, err := f.Cleanup(); err != nil || done {
		t.Fatalf("Cleanup with networks left = %v, %v", done, err)
	}
	if err := f.RemovePorts("btctr"); err != nil {
		t.Fatal(err)
	}
	if err := f.RemoveNetwork(n.ID); err != nil {
		t.Fatal(err)
	}
	out, _ = nftList(t, f.Table())
	for _, gone := range []string{"dnat to", n.Bridge, "10.231.7.0/24 oifname"} {
		if strings.Contains(out, gone) {
			t.Errorf("left after removal: %q in\n%s", gone, out)
		}
	}
	if err := f.RemoveNetwork(in.ID); err != nil {
		t.Fatal(err)
	}
	if done, err := f.Cleanup(); err != nil || !done {
		t.Fatalf("Cleanup = %v, %v", done, err)
	}
	if out, ok := nftList(t, f.Table()); ok {
		t.Fatalf("table still there:\n%s", out)
	}
}

// A table shaped like Docker's iptables-nft filter table (FORWARD policy
// drop, DOCKER-USER jumped to first) gets berth's accept rules in
// DOCKER-USER and loses them on removal; its own rules stay.
func TestDockerUserAcceptRules(t *testing.T) {
	testutil.RequiresRoot(t)
	docker := testutil.FakeDockerTable(t)
	f := newTestFirewall(t, WithDockerFilterTable(docker))
	_, subnet, _ := net.ParseCIDR("10.231.8.0/24")
	n := NetworkRules{ID: "btnet" + randSuffix(), Bridge: "br-bt" + randSuffix(), Subnet: subnet}
	if err := f.AddNetwork(n); err != nil {
		t.Fatal(err)
	}
	out, _ := nftList(t, docker)
	if !strings.Contains(out, `iifname "`+n.Bridge+`" counter packets 0 bytes 0 accept`) ||
		!strings.Contains(out, `oifname "`+n.Bridge+`" counter packets 0 bytes 0 accept`) {
		t.Fatalf("no accept rules in DOCKER-USER:\n%s", out)
	}
	if err := f.RemoveNetwork(n.ID); err != nil {
		t.Fatal(err)
	}
	out, _ = nftList(t, docker)
	if strings.Contains(out, n.Bridge) || !strings.Contains(out, "jump DOCKER-USER") {
		t.Fatalf("after removal:\n%s", out)
	}
}
