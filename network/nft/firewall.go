package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/network/portmap"
)

// DefaultTable is the name of berth's own nftables table (family ip).
const DefaultTable = "berth"

// Errors callers can test with errors.Is.
var (
	ErrBadPort = portmap.ErrBadPort // a binding the engine did not normalize
)

// NetworkRules describes one berth network for the firewall.
type NetworkRules struct {
	ID       string     // the network's ID; rules are tagged with it
	Bridge   string     // its bridge
	Subnet   *net.IPNet // its subnet
	Internal bool       // no traffic in or out of the bridge
}

// protoNumber is the IP protocol number of a normalized protocol; the
// executor takes bindings as portmap made them and defaults nothing.
func protoNumber(proto portmap.Proto) (byte, error) {
	switch proto {
	case portmap.TCP:
		return unix.IPPROTO_TCP, nil
	case portmap.UDP:
		return unix.IPPROTO_UDP, nil
	}
	return 0, fmt.Errorf("protocol %q: %w: only tcp and udp", proto, ErrBadPort)
}

// ContainerPorts are the published ports of one container.
type ContainerPorts struct {
	ContainerID string
	Bridge      string // the bridge ContainerIP is on
	ContainerIP net.IP
	Ports       []portmap.Binding // concrete: the engine's allocation assigned them
}

// Firewall manages berth's table. All rules live in it, except one accept
// rule per network placed in Docker's iptables-nft FORWARD path when that
// path would drop berth's traffic (see the package doc).
type Firewall struct {
	mu          sync.Mutex
	conn        *nftables.Conn
	table       *nftables.Table
	dockerTable string
	ipForward   string
	// ipForwardRecord keeps ip_forward's value before berth (forward.go)
	ipForwardRecord string
}

// Opt configures a Firewall.
type Opt func(*Firewall)

// WithTable names berth's table (tests use their own).
func WithTable(name string) Opt { return func(f *Firewall) { f.table.Name = name } }

// WithDockerFilterTable names the iptables-nft filter table whose FORWARD
// chain berth must get past ("filter" by default; tests use a fake one).
func WithDockerFilterTable(name string) Opt { return func(f *Firewall) { f.dockerTable = name } }

// New opens a netlink connection to nftables. Nothing changes in the
// kernel until a network or ports are added.
func New(opts ...Opt) (*Firewall, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	f := &Firewall{
		conn:            c,
		table:           &nftables.Table{Name: DefaultTable, Family: nftables.TableFamilyIPv4},
		dockerTable:     "filter",
		ipForward:       "/proc/sys/net/ipv4/ip_forward",
		ipForwardRecord: DefaultIPForwardRecord,
	}
	for _, o := range opts {
		o(f)
	}
	return f, nil
}

// Table is the name of berth's table.
func (f *Firewall) Table() string { return f.table.Name }

// Chain names in berth's table.
const (
	chainPrerouting  = "prerouting"
	chainOutput      = "output"
	chainPostrouting = "postrouting"
	chainForward     = "forward"
	chainPublish     = "publish"
	chainLoopback    = "loopback" // raw prerouting: the loopback guard
)

func (f *Firewall) chain(name string) *nftables.Chain {
	return &nftables.Chain{Name: name, Table: f.table}
}

// ensureTable creates berth's table with its chains and fixed rules in one
// transaction, unless it exists. Two processes racing both succeed: the
// loser's transaction fails with EEXIST and changes nothing.
func (f *Firewall) ensureTable() error {
	if _, err := f.conn.ListTableOfFamily(f.table.Name, f.table.Family); err == nil {
		return f.ensureLoopbackGuard()
	}
	c := f.conn
	c.CreateTable(f.table)
	accept := nftables.ChainPolicyAccept
	pre := c.AddChain(&nftables.Chain{Name: chainPrerouting, Table: f.table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest, Policy: &accept})
	out := c.AddChain(&nftables.Chain{Name: chainOutput, Table: f.table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest, Policy: &accept})
	c.AddChain(&nftables.Chain{Name: chainPostrouting, Table: f.table, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource, Policy: &accept})
	fwd := c.AddChain(&nftables.Chain{Name: chainForward, Table: f.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	c.AddChain(f.chain(chainPublish))
	base := f.tag("base")
	c.AddRule(&nftables.Rule{Table: f.table, Chain: pre, UserData: base,
		Exprs: rule(matchLocalDaddr(), one(jump(chainPublish)))})
	c.AddRule(&nftables.Rule{Table: f.table, Chain: out, UserData: base,
		Exprs: rule(matchLocalDaddr(), one(jump(chainPublish)))})
	c.AddRule(&nftables.Rule{Table: f.table, Chain: fwd, UserData: base,
		Exprs: rule(matchEstablished(), one(verdict(expr.VerdictAccept)))})
	f.addLoopbackGuard()
	if err := c.Flush(); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("create nftables table ip %s: %w", f.table.Name, err)
	}
	return nil
}

// addLoopbackGuard queues the raw-prerouting chain that drops every packet
// for 127.0.0.0/8 that did not arrive on lo. Loopback publishing needs
// route_localnet=1 on each bridge (the DNATed packet leaves with source
// 127.0.0.1, and its answers come back to it), and that would let a
// container reach the host's 127.0.0.1-only services through its gateway;
// DNAT in prerouting would let a neighbour that routes 127.0.0.1 to this
// host reach ports published on 127.0.0.1 (CVE-2020-8558's class). At raw
// priority the drop sees packets before conntrack undoes the masquerade
// of a 127.0.0.1 connection's answers, whose destination is still the
// gateway then. Docker drops the same (raw PREROUTING, ! -i lo).
func (f *Firewall) addLoopbackGuard() {
	accept := nftables.ChainPolicyAccept
	ch := f.conn.AddChain(&nftables.Chain{Name: chainLoopback, Table: f.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRaw, Policy: &accept})
	loopback := &net.IPNet{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}
	f.conn.AddRule(&nftables.Rule{Table: f.table, Chain: ch, UserData: f.tag("base"),
		Exprs: rule(matchIif("lo", expr.CmpOpNeq), matchDaddr(loopback), one(&expr.Counter{}, verdict(expr.VerdictDrop)))})
}

// ensureLoopbackGuard adds the loopback guard to a table made by a berth
// that had none, so that an upgrade closes the hole without a down/up.
func (f *Firewall) ensureLoopbackGuard() error {
	if _, err := f.conn.ListChain(f.table, chainLoopback); err == nil {
		return nil
	}
	f.addLoopbackGuard()
	if err := f.conn.Flush(); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add chain %s to nftables table ip %s: %w", chainLoopback, f.table.Name, err)
	}
	return nil
}

// tag is the comment that marks a rule as berth's, with what it is for.
func (f *Firewall) tag(what string) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, f.table.Name+" "+what)
}

func netTag(id string) string { return "net=" + id }
func ctrTag(id string) string { return "ctr=" + id }

// AddNetwork adds a network's NAT and isolation rules and turns on IPv4
// forwarding. Adding a network twice replaces its rules.
func (f *Firewall) AddNetwork(n NetworkRules) error {
	if n.ID == "" || n.Bridge == "" || n.Subnet == nil || n.Subnet.IP.To4() == nil {
		return fmt.Errorf("network %q: id, bridge and an IPv4 subnet are required", n.ID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ensureTable(); err != nil {
		return err
	}
	if err := f.removeTagged(netTag(n.ID)); err != nil {
		return err
	}
	if err := f.enableForwarding(); err != nil {
		return fmt.Errorf("network %s: %w", n.ID, err)
	}
	c := f.conn
	ud := f.tag(netTag(n.ID))
	add := func(chain string, exprs ...[]expr.Any) {
		c.AddRule(&nftables.Rule{Table: f.table, Chain: f.chain(chain), UserData: ud, Exprs: rule(exprs...)})
	}
	br := n.Bridge
	loopback := &net.IPNet{IP: net.IPv4(127, 0, 0, 0).To4(), Mask: net.CIDRMask(8, 32)}
	// Only drops here, no accepts: an accept would end this chain before
	// the drops of another network's rules are seen.
	if n.Internal {
		// Nothing in or out of the bridge.
		add(chainForward, matchIif(br, expr.CmpOpEq), matchOif(br, expr.CmpOpNeq), one(verdict(expr.VerdictDrop)))
		add(chainForward, matchOif(br, expr.CmpOpEq), matchIif(br, expr.CmpOpNeq), one(verdict(expr.VerdictDrop)))
	} else {
		// Nothing enters from elsewhere (another bridge, direct routing
		// from outside) but published ports; everything may leave.
		add(chainForward, matchOif(br, expr.CmpOpEq), matchIif(br, expr.CmpOpNeq), matchNotDNATed(), one(verdict(expr.VerdictDrop)))
		add(chainPostrouting, matchSaddr(n.Subnet), matchOif(br, expr.CmpOpNeq), one(&expr.Masq{}))
	}
	// 127.0.0.1:PORT DNATed to a container keeps a loopback source the
	// container cannot answer: masquerade it to the gateway.
	add(chainPostrouting, matchOif(br, expr.CmpOpEq), matchSaddr(loopback), one(&expr.Masq{}))
	// Hairpin: a container reaching a published port of a container on its
	// own bridge must see the answer come back through the host.
	add(chainPostrouting, matchOif(br, expr.CmpOpEq), matchSaddr(n.Subnet), matchDNATed(), one(&expr.Masq{}))
	if err := c.Flush(); err != nil {
		return fmt.Errorf("network %s: add nftables rules: %w", n.ID, err)
	}
	if err := f.dockerAccept(n); err != nil {
		return fmt.Errorf("network %s: %w", n.ID, err)
	}
	return nil
}

// RemoveNetwork deletes every rule of the network; a network without
// rules is not an error.
func (f *Firewall) RemoveNetwork(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.removeTagged(netTag(id)); err != nil {
		return fmt.Errorf("network %s: %w", id, err)
	}
	if err := f.dockerRemove(id); err != nil {
		return fmt.Errorf("network %s: %w", id, err)
	}
	return nil
}

// AddPorts publishes a container's ports: DNAT from every local address
// (or HostIP) in prerouting and output. Adding again replaces them.
func (f *Firewall) AddPorts(cp ContainerPorts) error {
	if cp.ContainerID == "" || cp.ContainerIP.To4() == nil {
		return fmt.Errorf("container %q: id and an IPv4 address are required to publish ports", cp.ContainerID)
	}
	type planned struct {
		proto byte
		p     portmap.Binding
	}
	var plan []planned
	for _, p := range cp.Ports {
		proto, err := protoNumber(p.Protocol)
		if err != nil {
			return fmt.Errorf("container %s: port %s: %w", cp.ContainerID, p, err)
		}
		if p.HostPort == 0 || p.ContainerPort == 0 {
			return fmt.Errorf("container %s: port %s: %w: ports must be 1-65535", cp.ContainerID, p, ErrBadPort)
		}
		if p.HostIP.IsValid() && !p.HostIP.IsUnspecified() && !p.HostIP.Unmap().Is4() {
			return fmt.Errorf("container %s: port %s: %w: IPv6 host addresses are not supported", cp.ContainerID, p, ErrBadPort)
		}
		plan = append(plan, planned{proto, p})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.ensureTable(); err != nil {
		return err
	}
	if err := f.removeTagged(ctrTag(cp.ContainerID)); err != nil {
		return err
	}
	ud := f.tag(ctrTag(cp.ContainerID))
	for _, pl := range plan {
		var exprs []expr.Any
		if pl.p.HostIP.IsValid() && !pl.p.HostIP.IsUnspecified() {
			exprs = append(exprs, matchDaddr(host(net.IP(pl.p.HostIP.Unmap().AsSlice())))...)
		}
		exprs = append(exprs, matchProtoPort(pl.proto, pl.p.HostPort)...)
		exprs = append(exprs, dnatTo(cp.ContainerIP, pl.p.ContainerPort)...)
		f.conn.AddRule(&nftables.Rule{Table: f.table, Chain: f.chain(chainPublish), UserData: ud, Exprs: exprs})
	}
	if err := f.conn.Flush(); err != nil {
		return fmt.Errorf("container %s: publish ports: %w", cp.ContainerID, err)
	}
	return nil
}

// RemovePorts unpublishes every port of a container.
func (f *Firewall) RemovePorts(containerID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.removeTagged(ctrTag(containerID)); err != nil {
		return fmt.Errorf("container %s: %w", containerID, err)
	}
	return nil
}

// Cleanup deletes berth's table when no network or published port is left
// in it, and reports whether it did; ip_forward then gets its value from
// before berth back (see forward.go).
func (f *Firewall) Cleanup() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.conn.ListTableOfFamily(f.table.Name, f.table.Family); err != nil {
		return true, f.restoreForwarding()
	}
	for _, ch := range []string{chainForward, chainPostrouting, chainPublish} {
		rules, err := f.conn.GetRules(f.table, f.chain(ch))
		if err != nil {
			return false, fmt.Errorf("list rules of %s: %w", ch, err)
		}
		for _, r := range rules {
			if c, _ := userdata.GetString(r.UserData, userdata.TypeComment); !strings.HasSuffix(c, " base") {
				return false, nil
			}
		}
	}
	f.conn.DelTable(f.table)
	if err := f.conn.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return false, fmt.Errorf("delete nftables table ip %s: %w", f.table.Name, err)
	}
	if err := f.restoreForwarding(); err != nil {
		return true, err
	}
	return true, nil
}

// Close releases the netlink connection.
func (f *Firewall) Close() error { return f.conn.CloseLasting() }

// removeTagged deletes every rule of berth's table tagged with what.
func (f *Firewall) removeTagged(what string) error {
	if _, err := f.conn.ListTableOfFamily(f.table.Name, f.table.Family); err != nil {
		return nil
	}
	want := f.table.Name + " " + what
	n := 0
	for _, ch := range []string{chainForward, chainPostrouting, chainPublish, chainPrerouting, chainOutput} {
		rules, err := f.conn.GetRules(f.table, f.chain(ch))
		if err != nil {
			return fmt.Errorf("list rules of %s: %w", ch, err)
		}
		for _, r := range rules {
			if c, _ := userdata.GetString(r.UserData, userdata.TypeComment); c == want {
				if err := f.conn.DelRule(r); err != nil {
					return err
				}
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	if err := f.conn.Flush(); err != nil {
		return fmt.Errorf("delete rules %q: %w", what, err)
	}
	return nil
}

// PublishedPort is a DNAT rule berth's table holds: the container it is
// tagged with and the port it publishes.
type PublishedPort struct {
	ContainerID string
	Port        portmap.Binding
}

// Published lists the ports berth's table publishes, for every state root
// on the host: the allocation of one root treats those of others as
// claimed (a DNAT rule holds no socket, so no probe of the host sees it).
func (f *Firewall) Published() ([]PublishedPort, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.conn.ListTableOfFamily(f.table.Name, f.table.Family); err != nil {
		return nil, nil
	}
	rules, err := f.conn.GetRules(f.table, f.chain(chainPublish))
	if err != nil {
		return nil, fmt.Errorf("list rules of %s: %w", chainPublish, err)
	}
	prefix := f.table.Name + " " + ctrTag("")
	var out []PublishedPort
	for _, r := range rules {
		c, _ := userdata.GetString(r.UserData, userdata.TypeComment)
		id, ok := strings.CutPrefix(c, prefix)
		if !ok {
			continue
		}
		if b, ok := parsePublish(r.Exprs); ok {
			out = append(out, PublishedPort{ContainerID: id, Port: b})
		}
	}
	return out, nil
}

// parsePublish reads back a rule AddPorts wrote: [daddr match] l4proto,
// dport, dnat to address:port.
func parsePublish(exprs []expr.Any) (portmap.Binding, bool) {
	var b portmap.Binding
	var load any // what the last load put in register 1
	for _, e := range exprs {
		switch x := e.(type) {
		case *expr.Payload:
			load = *x
		case *expr.Meta:
			load = x.Key
		case *expr.Cmp:
			readMatch(&b, load, x.Data)
		case *expr.Immediate:
			if x.Register == 2 && len(x.Data) == 2 {
				b.ContainerPort = binary.BigEndian.Uint16(x.Data)
			}
		}
	}
	return b, b.HostPort != 0 && b.Protocol != ""
}

// readMatch reads into b what a comparison of the value load put in the
// register with data matches: the destination address, the destination
// port or the protocol.
func readMatch(b *portmap.Binding, load any, data []byte) {
	switch l := load.(type) {
	case expr.Payload:
		if l.Base == expr.PayloadBaseNetworkHeader && l.Offset == 16 && len(data) == 4 {
			b.HostIP = netip.AddrFrom4([4]byte(data))
		} else if l.Base == expr.PayloadBaseTransportHeader && l.Offset == 2 && len(data) == 2 {
			b.HostPort = binary.BigEndian.Uint16(data)
		}
	case expr.MetaKey:
		if l != expr.MetaKeyL4PROTO || len(data) != 1 {
			return
		}
		switch data[0] {
		case unix.IPPROTO_TCP:
			b.Protocol = portmap.TCP
		case unix.IPPROTO_UDP:
			b.Protocol = portmap.UDP
		}
	}
}
