package engine

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/network/dns"
	"github.com/berth-dev/berth/network/networktest"
	"github.com/berth-dev/berth/network/nft"
	"github.com/berth-dev/berth/network/portmap"
)

// netTest is an engine on a temporary state root whose kernel and packet
// filter are in-memory fakes: nothing here needs root.
type netTest struct {
	e  *Engine
	h  *networktest.Host
	fw *networktest.Firewall
}

// newNetTest makes the engine, its address pool 10.250.0.0/16 cut in
// /24s, and a host route on 10.250.0.0/24 that subnet choice must avoid.
func newNetTest(t *testing.T) netTest {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "config.yaml"), []byte("network:\n  pool: 10.250.0.0/16\n  size: 24\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, route, _ := net.ParseCIDR("10.250.0.0/24")
	h := &networktest.Host{HostRoutes: []*net.IPNet{route}}
	fw := &networktest.Firewall{}
	e, err := New(root, filepath.Join(dir, "run"), WithNetworkHost(h), WithFirewall(fw),
		WithPortHost(fakePortHost{}, portmap.WithRandomRange(44000, 44009), portmap.WithRand(func(int) int { return 0 })))
	if err != nil {
		t.Fatal(err)
	}
	return netTest{e: e, h: h, fw: fw}
}

// prepare runs prepareNetwork for container id (named p-<service>-1) of
// service svc, in a directory of its own.
func (nt netTest) prepare(t *testing.T, p *types.Project, svc types.ServiceConfig, id string, ports []portmap.Binding) (*netSetup, *ociruntime.Container, string, error) {
	t.Helper()
	dir := nt.e.store.Dir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &ociruntime.Container{}
	ns, err := nt.e.prepareNetwork(t.Context(), p, svc, id, p.Name+"-"+svc.Name+"-1", dir, ports, c)
	return ns, c, dir, err
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestPrepareNetworkNone: network_mode none makes no namespace (the
// runtime does) and asks nothing of the host; /etc/hosts has loopback,
// the container's hostname and extra_hosts, resolv.conf is empty.
func TestPrepareNetworkNone(t *testing.T) {
	nt := newNetTest(t)
	p := &types.Project{Name: "p"}
	svc := types.ServiceConfig{Name: "solo"}
	svc.NetworkMode = "none"
	svc.ExtraHosts = types.HostsList{"db.example": {"192.0.2.9"}}
	ns, c, dir, err := nt.prepare(t, p, svc, "0123456789abcdef", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ns.netns != "" || c.NetNS != "" || len(ns.attached) != 0 {
		t.Errorf("none made a namespace: %+v, NetNS %q", ns, c.NetNS)
	}
	if calls := nt.h.Calls(); len(calls) != 0 {
		t.Errorf("none asked the host %q", calls)
	}
	want := localhostLines + "127.0.1.1\t0123456789ab\n192.0.2.9\tdb.example\n"
	if got := readFile(t, c.HostsFile); got != want {
		t.Errorf("hosts:\n%s\nwant:\n%s", got, want)
	}
	if got := readFile(t, c.ResolvConf); got != "" {
		t.Errorf("resolv.conf = %q, want empty", got)
	}
	if got := readFile(t, filepath.Join(dir, "hostname")); got != "0123456789ab\n" {
		t.Errorf("hostname = %q", got)
	}
}

// TestPrepareNetworkHost: network_mode host takes the host's hostname and
// asks nothing of the host's network.
func TestPrepareNetworkHost(t *testing.T) {
	nt := newNetTest(t)
	ns, c, _, err := nt.prepare(t, &types.Project{Name: "p"}, withMode("h", "host"), "c-host", nil)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := os.Hostname()
	if ns.hostname != h || readFile(t, c.HostnameFile) != h+"\n" || c.NetNS != "" {
		t.Errorf("host mode: hostname %q (file %q), NetNS %q; want %q", ns.hostname, readFile(t, c.HostnameFile), c.NetNS, h)
	}
	if calls := nt.h.Calls(); len(calls) != 0 {
		t.Errorf("host mode asked the host %q", calls)
	}
}

// TestPrepareNetworkUnsupportedMode: an unknown network_mode is refused
// with the modes berth has, before anything is made.
func TestPrepareNetworkUnsupportedMode(t *testing.T) {
	nt := newNetTest(t)
	_, _, _, err := nt.prepare(t, &types.Project{Name: "p"}, withMode("x", "macvlan"), "c-x", nil)
	if err == nil || !strings.Contains(err.Error(), `service "x": network_mode "macvlan" is not supported`) {
		t.Errorf("err = %v", err)
	}
	if calls := nt.h.Calls(); len(calls) != 0 {
		t.Errorf("asked the host %q", calls)
	}
}

// bridgeProject has two networks: front, and back (internal, so it never
// carries the default route) which the service lists first by priority.
func bridgeProject() (*types.Project, types.ServiceConfig) {
	svc := types.ServiceConfig{Name: "web", Links: []string{"db:database", "cache"}}
	svc.Hostname = "webhost"
	svc.MacAddress = "02:42:ac:11:00:02"
	svc.Networks = map[string]*types.ServiceNetworkConfig{
		"front": {Aliases: []string{"www"}, Ipv4Address: "10.250.77.50"},
		"back":  {Priority: 10, InterfaceName: "data0"},
	}
	svc.ExtraHosts = types.HostsList{"gw.example": {"host-gateway"}}
	svc.DNSSearch = []string{"example.test"}
	p := &types.Project{
		Name: "p",
		Networks: types.Networks{
			"front": {Ipam: types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: "10.250.77.0/24"}}}},
			"back":  {Internal: true},
		},
		Services: types.Services{"web": svc},
	}
	return p, svc
}

// TestPrepareNetworkBridge: a container on two networks gets a namespace
// of its own, each network's bridge and rules, one veth per network in
// priority order (interface_name, mac_address on the first only, the
// default route on the first network that is not internal), its aliases
// (service, container name, hostname, network aliases, link aliases),
// its ports DNATed to its first address, and hosts/resolv.conf for
// berth's resolver.
func TestPrepareNetworkBridge(t *testing.T) {
	nt := newNetTest(t)
	p, svc := bridgeProject()
	ports := []portmap.Binding{{HostIP: netip.IPv4Unspecified(), HostPort: 8080, ContainerPort: 80, Protocol: portmap.TCP}}
	ns, c, _, err := nt.prepare(t, p, svc, "c-web", ports)
	if err != nil {
		t.Fatal(err)
	}
	path := nt.e.netnsPath("c-web")
	if ns.netns != path || c.NetNS != path || !slices.Equal(nt.h.Netns(), []string{path}) {
		t.Fatalf("namespace: setup %q, NetNS %q, host %q; want %q", ns.netns, c.NetNS, nt.h.Netns(), path)
	}
	if len(ns.attached) != 2 {
		t.Fatalf("attached %+v, want 2", ns.attached)
	}
	back, front := ns.attached[0], ns.attached[1]
	if back.Network != "p_back" || back.IfName != "data0" || back.MAC != "02:42:ac:11:00:02" ||
		front.Network != "p_front" || front.IfName != "eth1" || front.MAC != "" || front.IP != "10.250.77.50" {
		t.Errorf("attachments:\n%+v\n%+v", back, front)
	}
	// the host's route on 10.250.0.0/24 is skipped: the first subnet
	// cut from the pool is 10.250.1.0/24
	if !strings.HasPrefix(back.IP, "10.250.1.") || back.Prefix != 24 {
		t.Errorf("back address %s/%d, want one in 10.250.1.0/24", back.IP, back.Prefix)
	}
	wantAliases := []string{"web", "p-web-1", "webhost", "www", "database"}
	if !slices.Equal(front.Aliases, wantAliases) {
		t.Errorf("front aliases %q, want %q", front.Aliases, wantAliases)
	}
	for _, a := range ns.attached {
		br, ok := nt.h.Bridge(a.Bridge)
		if !ok || br.Gateway.String() != a.Gateway {
			t.Errorf("bridge %s of %s: %+v, %v", a.Bridge, a.Network, br, ok)
		}
		rec, err := nt.e.networks().Get(a.Network)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := nt.fw.Network(rec.ID); !ok {
			t.Errorf("no firewall rules for %s", a.Network)
		}
	}
	veths := nt.h.Attachments(path)
	if len(veths) != 2 {
		t.Fatalf("veths %+v", veths)
	}
	for _, v := range veths {
		wantDefault := v.IfName == "eth1" // back is internal
		if v.DefaultRoute != wantDefault {
			t.Errorf("veth %s: default route %v, want %v", v.IfName, v.DefaultRoute, wantDefault)
		}
		if v.IfName == "data0" && v.MAC.String() != "02:42:ac:11:00:02" {
			t.Errorf("data0 MAC %s", v.MAC)
		}
	}
	got, ok := nt.fw.Ports("c-web")
	if !ok || got.Bridge != back.Bridge || got.ContainerIP.String() != back.IP || !slices.Equal(got.Ports, ports) || !slices.Equal(ns.ports, ports) {
		t.Errorf("published %+v (setup %v); want %v on %s %s", got, ns.ports, ports, back.Bridge, back.IP)
	}
	hosts := readFile(t, c.HostsFile)
	for _, w := range []string{back.IP + "\twebhost", back.Gateway + "\tgw.example"} {
		if !strings.Contains(hosts, w) {
			t.Errorf("hosts does not say %q:\n%s", w, hosts)
		}
	}
	if got, want := readFile(t, c.ResolvConf), string(dns.ResolvConf(nil, svc.DNSSearch, nil)); got != want {
		t.Errorf("resolv.conf:\n%s\nwant:\n%s", got, want)
	}
}

// TestPrepareNetworkBridgeFailureUndoes: when a veth cannot be made, the
// error names the service and network, and what was made is undone: the
// namespace, the addresses (the same one is free again), the ports.
func TestPrepareNetworkBridgeFailureUndoes(t *testing.T) {
	nt := newNetTest(t)
	p, svc := bridgeProject()
	boom := errors.New("operation not permitted")
	nt.h.Errs = map[string]error{"Attach": boom}
	_, _, _, err := nt.prepare(t, p, svc, "c-web", nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `service "web": network back:`) {
		t.Fatalf("err = %v", err)
	}
	if ns := nt.h.Netns(); len(ns) != 0 {
		t.Errorf("namespaces left: %q", ns)
	}
	if calls := nt.fw.Calls(); !slices.Contains(calls, "RemovePorts c-web") {
		t.Errorf("firewall calls %q: no RemovePorts", calls)
	}
	nt.h.Errs = nil
	ns, _, _, err := nt.prepare(t, p, svc, "c-web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ns.attached[1].IP != "10.250.77.50" {
		t.Errorf("ipv4_address not free again: got %s", ns.attached[1].IP)
	}
}

// TestPrepareNetworkSharedNetns: network_mode service:X joins X's
// namespace and copies its hosts and resolv.conf; ports there are
// refused; a namespace the runtime made is joined through a running init,
// and refused when it is not running.
func TestPrepareNetworkSharedNetns(t *testing.T) {
	nt := newNetTest(t)
	p := &types.Project{Name: "p"}
	bundle := t.TempDir()
	os.WriteFile(filepath.Join(bundle, "hosts"), []byte("10.250.1.2\tdb\n"), 0o644)
	os.WriteFile(filepath.Join(bundle, "resolv.conf"), []byte("nameserver 127.0.0.11\n"), 0o644)
	putRecord(t, nt.e, &state.Container{ID: "c-db", Name: "p-db-1", Project: "p", Service: "db", Netns: "/run/x/netns/c-db", Bundle: bundle})
	putRecord(t, nt.e, &state.Container{ID: "c-none", Name: "p-none-1", Project: "p", Service: "none", Bundle: bundle})

	svc := withMode("side", "service:db")
	_, c, dir, err := nt.prepare(t, p, svc, "c-side", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.NetNS != "/run/x/netns/c-db" || readFile(t, c.HostsFile) != "10.250.1.2\tdb\n" ||
		readFile(t, c.ResolvConf) != "nameserver 127.0.0.11\n" || readFile(t, filepath.Join(dir, "hostname")) != "c-side\n" {
		t.Errorf("service:db: NetNS %q, files %q %q", c.NetNS, c.HostsFile, c.ResolvConf)
	}
	if calls := nt.h.Calls(); len(calls) != 0 {
		t.Errorf("sharing asked the host %q", calls)
	}

	svc.Ports = []types.ServicePortConfig{{Target: 80, Published: "8080"}}
	if _, _, _, err := nt.prepare(t, p, svc, "c-side2", nil); err == nil || !strings.Contains(err.Error(), "publish them on p-db-1") {
		t.Errorf("ports with service:db: %v", err)
	}

	svc = withMode("side", "container:p-none-1")
	if _, _, _, err := nt.prepare(t, p, svc, "c-side3", nil); err == nil || !strings.Contains(err.Error(), "container p-none-1 is not running") {
		t.Errorf("joining a stopped runtime-made namespace: %v", err)
	}
	if err := nt.e.store.PutState("c-none", &state.RuntimeState{Status: state.StatusRunning, Pid: 4242}); err != nil {
		t.Fatal(err)
	}
	if _, c, _, err = nt.prepare(t, p, svc, "c-side4", nil); err != nil || c.NetNS != "/proc/4242/ns/net" {
		t.Errorf("joining a running runtime-made namespace: %v, NetNS %q", err, c.NetNS)
	}

	svc = withMode("side", "service:nope")
	if _, _, _, err := nt.prepare(t, p, svc, "c-side5", nil); err == nil || !strings.Contains(err.Error(), "service nope has no container") {
		t.Errorf("service:nope: %v", err)
	}
}

func withMode(name, mode string) types.ServiceConfig {
	svc := types.ServiceConfig{Name: name}
	svc.NetworkMode = mode
	return svc
}

func withMAC(mac string) types.ServiceConfig {
	svc := types.ServiceConfig{Name: "web"}
	svc.MacAddress = mac
	return svc
}

func withNetwork(key string, cfg *types.ServiceNetworkConfig) types.ServiceConfig {
	svc := types.ServiceConfig{Name: "web"}
	svc.Networks = map[string]*types.ServiceNetworkConfig{key: cfg}
	return svc
}

// TestAttachmentOf: interface names, MACs and aliases of a container's
// interfaces, one network at a time.
func TestAttachmentOf(t *testing.T) {
	rec := &state.Network{Name: "p_front", Bridge: "br-1", Subnet: "10.250.3.0/24", Gateway: "10.250.3.1"}
	bridge := &state.Network{Name: DefaultBridge, Bridge: "br-0", Subnet: "10.250.4.0/24", Gateway: "10.250.4.1"}
	ip := net.ParseIP("10.250.3.7")
	for _, tc := range []struct {
		name     string
		svc      types.ServiceConfig
		i        int
		rec      *state.Network
		ifName   string
		mac      string
		aliases  []string
		errMatch string
	}{
		{name: "first", svc: withMAC("02:00:00:00:00:01"), rec: rec,
			ifName: "eth0", mac: "02:00:00:00:00:01", aliases: []string{"web", "p-web-1", "h"}},
		{name: "second drops the service MAC", svc: withMAC("02:00:00:00:00:01"), i: 1, rec: rec,
			ifName: "eth1", aliases: []string{"web", "p-web-1", "h"}},
		{name: "network MAC and name", i: 2, rec: rec, svc: withNetwork("front", &types.ServiceNetworkConfig{MacAddress: "02:00:00:00:00:02", InterfaceName: "lan", Aliases: []string{"a1"}}),
			ifName: "lan", mac: "02:00:00:00:00:02", aliases: []string{"web", "p-web-1", "h", "a1"}},
		{name: "default bridge: no names", svc: types.ServiceConfig{Name: "web", Links: []string{"db:d"}}, rec: bridge, ifName: "eth0"},
		{name: "bad MAC", svc: withMAC("nope"), rec: rec, errMatch: `service "web": mac_address "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, mac, err := attachmentOf(tc.svc, tc.i, "front", tc.rec, ip, "p-web-1", "h")
			if tc.errMatch != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errMatch) {
					t.Fatalf("err = %v, want %q", err, tc.errMatch)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.IfName != tc.ifName || a.MAC != tc.mac || mac.String() != tc.mac || !slices.Equal(a.Aliases, tc.aliases) ||
				a.IP != "10.250.3.7" || a.Prefix != 24 || a.Network != tc.rec.Name || a.Key != "front" {
				t.Errorf("got %+v (mac %s), want if %s mac %s aliases %q", a, mac, tc.ifName, tc.mac, tc.aliases)
			}
		})
	}
}

// TestBridgeNetFiles: alone on the default bridge a container gets the
// host's resolvers (no embedded DNS, as Docker's docker0); on a user
// network, berth's resolver.
func TestBridgeNetFiles(t *testing.T) {
	svc := types.ServiceConfig{Name: "web"}
	svc.DNS = []string{"192.0.2.53"}
	own := &netSetup{hostname: "h", attached: []state.Attachment{{Network: "p_front", IP: "10.250.3.7", Gateway: "10.250.3.1"}}}
	hosts, resolv := bridgeNetFiles(svc, own)
	if !strings.Contains(string(hosts), "10.250.3.7\th") || string(resolv) != string(dns.ResolvConf(nil, nil, nil)) {
		t.Errorf("user network: hosts %q resolv %q", hosts, resolv)
	}
	def := &netSetup{hostname: "h", attached: []state.Attachment{{Network: DefaultBridge, IP: "10.250.4.7", Gateway: "10.250.4.1"}}}
	_, resolv = bridgeNetFiles(svc, def)
	if !strings.Contains(string(resolv), "nameserver 192.0.2.53") {
		t.Errorf("default bridge resolv.conf %q does not name the service's dns", resolv)
	}
}

// TestInstallPortsRefusesPortPublishedMeanwhile: a host port another
// container published since the plan assigned it is refused, naming the
// holder; the container's own earlier rules do not count.
func TestInstallPortsRefusesPortPublishedMeanwhile(t *testing.T) {
	nt := newNetTest(t)
	b := portmap.Binding{HostIP: netip.IPv4Unspecified(), HostPort: 8080, ContainerPort: 80, Protocol: portmap.TCP}
	first := state.Attachment{Bridge: "br-1", IP: "10.250.3.7"}
	if err := nt.fw.AddPorts(nft.ContainerPorts{ContainerID: "c-mine", Bridge: "br-9", ContainerIP: net.ParseIP("10.250.9.2"), Ports: []portmap.Binding{b}}); err != nil {
		t.Fatal(err)
	}
	if err := nt.e.installPorts("c-mine", first, []portmap.Binding{b}); err != nil {
		t.Fatalf("replacing its own rules: %v", err)
	}
	if err := nt.e.installPorts("c-other", first, []portmap.Binding{b}); !errors.Is(err, portmap.ErrPortTaken) || !strings.Contains(err.Error(), "by container c-mine") {
		t.Errorf("err = %v", err)
	}
	if _, ok := nt.fw.Ports("c-other"); ok {
		t.Error("the refused ports were published")
	}
}
