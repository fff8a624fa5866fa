package engine

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/dns"
	"github.com/berth-dev/berth/network/ipam"
	"github.com/berth-dev/berth/network/nft"
	"github.com/berth-dev/berth/network/portmap"
)

// netSetup is what prepareNetwork made for a container.
type netSetup struct {
	netns    string // bind-mounted netns berth made ("" when none)
	attached []state.Attachment
	ports    []state.Port
	hostname string
	dns      []string
}

// localhostLines are the loopback lines of every /etc/hosts berth writes.
const localhostLines = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"

// prepareNetwork gives a container its network. network_mode none: a new
// empty namespace (the runtime makes it); host: the host's; service:X or
// container:X: that container's namespace; otherwise a namespace of its
// own with a veth on each of its networks and its published ports. It
// writes /etc/hosts, /etc/resolv.conf and /etc/hostname into the
// container's directory and points c at them.
func (e *Engine) prepareNetwork(ctx context.Context, p *types.Project, svc types.ServiceConfig, id, name, dir string, ports []portmap.Binding, c *ociruntime.Container) (*netSetup, error) {
	mode := svc.NetworkMode
	ns := &netSetup{hostname: svc.Hostname, dns: svc.DNS}
	if ns.hostname == "" {
		ns.hostname = ociruntime.ShortID(id)
	}
	switch {
	case mode == "host":
		h, _ := os.Hostname()
		ns.hostname = h
		hosts, err := os.ReadFile("/etc/hosts")
		if err != nil {
			hosts = []byte(localhostLines)
		}
		resolv, _ := os.ReadFile("/etc/resolv.conf")
		return ns, writeNetFiles(dir, c, append(hosts, extraHosts(svc.ExtraHosts, nil)...), resolv, h)
	case mode == "none":
		hosts := localhostLines + fmt.Sprintf("127.0.1.1\t%s\n", ns.hostname)
		return ns, writeNetFiles(dir, c, append([]byte(hosts), extraHosts(svc.ExtraHosts, nil)...), nil, ns.hostname)
	case strings.HasPrefix(mode, types.ServicePrefix), strings.HasPrefix(mode, types.ContainerPrefix):
		if err := e.joinSharedNetns(p, svc, dir, ns.hostname, c); err != nil {
			return nil, err
		}
		return ns, nil
	case mode != "" && mode != "bridge":
		return nil, fmt.Errorf("service %q: network_mode %q is not supported (use bridge, none, host, service:NAME or container:NAME)", svc.Name, mode)
	}
	return e.bridgeNetwork(ctx, p, svc, id, name, dir, ports, ns, c)
}

// joinSharedNetns points c at the namespace of the container a
// service:NAME or container:NAME network_mode names, and copies that
// container's hosts and resolv.conf: it shares its view of the network.
func (e *Engine) joinSharedNetns(p *types.Project, svc types.ServiceConfig, dir, hostname string, c *ociruntime.Container) error {
	mode := svc.NetworkMode
	other, err := e.sharedNetnsOwner(p, mode)
	if err != nil {
		return fmt.Errorf("service %q: network_mode %s: %w", svc.Name, mode, err)
	}
	if len(svc.Ports) > 0 {
		return fmt.Errorf("service %q: ports cannot be published with network_mode %s (publish them on %s)", svc.Name, mode, other.Name)
	}
	c.NetNS = other.Netns
	if other.Netns == "" {
		// its namespace was made by the runtime (network_mode none):
		// join it through its running init
		st, err := e.store.GetState(other.ID)
		if err != nil || st.Status != state.StatusRunning || st.Pid <= 0 {
			return fmt.Errorf("service %q: network_mode %s: container %s is not running, so its network namespace cannot be joined", svc.Name, mode, other.Name)
		}
		c.NetNS = fmt.Sprintf("/proc/%d/ns/net", st.Pid)
	}
	for _, f := range []string{"hosts", "resolv.conf"} {
		data, err := os.ReadFile(filepath.Join(other.Bundle, f))
		if err != nil {
			return err
		}
		if err := fsutil.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			return err
		}
	}
	if err := fsutil.WriteFile(filepath.Join(dir, "hostname"), []byte(hostname+"\n"), 0o644); err != nil {
		return err
	}
	c.HostsFile, c.ResolvConf, c.HostnameFile = filepath.Join(dir, "hosts"), filepath.Join(dir, "resolv.conf"), filepath.Join(dir, "hostname")
	return nil
}

// bridgeNetwork gives a container a namespace of its own with a veth on
// each of its networks, publishes its ports and writes its network files.
// What it made is undone when it fails.
func (e *Engine) bridgeNetwork(ctx context.Context, p *types.Project, svc types.ServiceConfig, id, name, dir string, ports []portmap.Binding, ns *netSetup, c *ociruntime.Container) (_ *netSetup, err error) {
	path := e.netnsPath(id)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := e.netHost.CreateNetns(path); err != nil {
		return nil, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	ns.netns = path
	c.NetNS = path
	defer func() {
		if err != nil {
			e.releaseNetwork(context.WithoutCancel(ctx), id, ns)
		}
	}()
	alloc, err := e.ipam()
	if err != nil {
		return nil, err
	}
	defaultRoute := true // until the first network that is not internal
	for i, key := range serviceNetworks(svc) {
		a, routed, err := e.joinNetwork(ctx, p, svc, joiner{id: id, name: name, hostname: ns.hostname, netns: path}, i, key, defaultRoute, alloc)
		if err != nil {
			return nil, err
		}
		if routed {
			defaultRoute = false
		}
		ns.attached = append(ns.attached, a)
	}
	if err := e.publishPorts(svc, id, ports, ns); err != nil {
		return nil, err
	}
	hosts, resolv := bridgeNetFiles(svc, ns)
	return ns, writeNetFiles(dir, c, hosts, resolv, ns.hostname)
}

// joiner is the container bridgeNetwork puts on its networks.
type joiner struct {
	id, name, hostname string
	netns              string // the path of its namespace
}

// joinNetwork puts the container's interface number i, on the network
// of compose key key, into its namespace: an address, a veth and, when
// defaultRoute and the network is not internal, the default route
// (routed). The address goes back when the veth cannot be made.
func (e *Engine) joinNetwork(ctx context.Context, p *types.Project, svc types.ServiceConfig, j joiner, i int, key string, defaultRoute bool, alloc *ipam.Allocator) (_ state.Attachment, routed bool, _ error) {
	id := j.id
	rec, ip, err := e.networkAddress(ctx, p, svc, key, id, alloc)
	if err != nil {
		return state.Attachment{}, false, err
	}
	a, mac, err := attachmentOf(svc, i, key, rec, ip, j.name, j.hostname)
	if err != nil {
		return state.Attachment{}, false, err
	}
	routed = defaultRoute && !rec.Internal
	_, subnet, _ := net.ParseCIDR(rec.Subnet)
	if err := e.netHost.Attach(ctx, network.Attachment{
		NetnsPath: j.netns, Bridge: rec.Bridge, IfName: a.IfName,
		Address: &net.IPNet{IP: ip, Mask: subnet.Mask}, Gateway: net.ParseIP(rec.Gateway),
		DefaultRoute: routed, MAC: mac, MTU: rec.MTU,
	}); err != nil {
		alloc.ReleaseIP(context.WithoutCancel(ctx), rec.Name, id)
		return state.Attachment{}, false, fmt.Errorf("service %q: network %s: %w", svc.Name, key, err)
	}
	return a, routed, nil
}

// attachmentOf is the record of a container's interface number i, on
// network rec under compose key key at address ip: its name (ethN, or
// interface_name), its MAC (mac_address, the service's only on the first
// interface) and the names it answers to there (none on the default
// bridge, as on Docker's).
func attachmentOf(svc types.ServiceConfig, i int, key string, rec *state.Network, ip net.IP, name, hostname string) (state.Attachment, net.HardwareAddr, error) {
	cfg := svc.Networks[key]
	_, subnet, _ := net.ParseCIDR(rec.Subnet)
	ones, _ := subnet.Mask.Size()
	a := state.Attachment{Network: rec.Name, Key: key, Bridge: rec.Bridge, IfName: "eth" + strconv.Itoa(i), IP: ip.String(), Prefix: ones, Gateway: rec.Gateway}
	if cfg != nil && cfg.InterfaceName != "" {
		a.IfName = cfg.InterfaceName
	}
	macText := svc.MacAddress
	if cfg != nil && cfg.MacAddress != "" {
		macText = cfg.MacAddress
	} else if i > 0 {
		macText = ""
	}
	var mac net.HardwareAddr
	if macText != "" {
		var err error
		if mac, err = net.ParseMAC(macText); err != nil {
			return a, nil, fmt.Errorf("service %q: mac_address %q: %w", svc.Name, macText, err)
		}
		a.MAC = mac.String()
	}
	if rec.Name != DefaultBridge {
		a.Aliases = networkAliases(svc, cfg, name, hostname)
	}
	return a, mac, nil
}

// networkAliases are the names a container answers to on one of its
// networks: its service, its own name, its hostname, the network's
// aliases and the aliases of its links.
func networkAliases(svc types.ServiceConfig, cfg *types.ServiceNetworkConfig, name, hostname string) []string {
	aliases := []string{svc.Name, name, hostname}
	if cfg != nil {
		aliases = append(aliases, cfg.Aliases...)
	}
	for _, l := range svc.Links {
		if _, alias, ok := strings.Cut(l, ":"); ok {
			aliases = append(aliases, alias)
		}
	}
	return aliases
}

// bridgeNetFiles are the /etc/hosts and /etc/resolv.conf of a container
// on its own networks: its hostname on its first address, and berth's
// resolver — or, alone on Docker's default bridge, the host's resolvers
// (no embedded DNS there).
func bridgeNetFiles(svc types.ServiceConfig, ns *netSetup) (hosts, resolv []byte) {
	first := ns.attached[0]
	self := []dns.HostEntry{{IP: first.IP, Names: []string{ns.hostname}}}
	hosts = dns.HostsFile(self, hostEntriesOf(svc.ExtraHosts), net.ParseIP(first.Gateway))
	if first.Network == DefaultBridge && len(ns.attached) == 1 {
		return hosts, dns.BridgeResolvConf(svc.DNS, svc.DNSSearch, svc.DNSOpts, "/etc/resolv.conf", "/run/systemd/resolve/resolv.conf")
	}
	return hosts, dns.ResolvConf(nil, svc.DNSSearch, svc.DNSOpts)
}

// networkAddress finds (or makes) the network a container joins under
// key and allocates the container's address on it: the one it asks
// (ipv4_address, --ip) or the next free one.
func (e *Engine) networkAddress(ctx context.Context, p *types.Project, svc types.ServiceConfig, key, id string, alloc *ipam.Allocator) (*state.Network, net.IP, error) {
	if networkName(p, key) == DefaultBridge {
		rec, ip, err := e.joinDefaultBridge(ctx, p, id, alloc) // defaultbridge.go
		if err != nil {
			return nil, nil, fmt.Errorf("service %q: %w", svc.Name, err)
		}
		return rec, ip, nil
	}
	rec, err := e.networks().Get(networkName(p, key))
	if err != nil {
		// not made by this command's ensureNetworks (a one-off on a
		// network created since): make it now
		if rec, err = e.ensureNetwork(ctx, p, key); err != nil {
			return nil, nil, err
		}
	}
	var want net.IP
	if cfg := svc.Networks[key]; cfg != nil && cfg.Ipv4Address != "" {
		if want = net.ParseIP(cfg.Ipv4Address).To4(); want == nil {
			return nil, nil, fmt.Errorf("service %q: networks.%s.ipv4_address %q is not an IPv4 address", svc.Name, key, cfg.Ipv4Address)
		}
	}
	ip, err := alloc.AllocateIP(ctx, rec.Name, id, want)
	if err != nil {
		return nil, nil, fmt.Errorf("service %q: network %s: %w", svc.Name, key, err)
	}
	return rec, ip, nil
}

func hostEntriesOf(h types.HostsList) []dns.HostEntry {
	var out []dns.HostEntry
	for _, name := range sortedKeys(h) {
		for _, ip := range h[name] {
			out = append(out, dns.HostEntry{IP: ip, Names: []string{name}})
		}
	}
	return out
}

// publishPorts installs the DNAT rules of a container's ports, whose
// host ports the plan assigned.
func (e *Engine) publishPorts(svc types.ServiceConfig, id string, ports []portmap.Binding, ns *netSetup) error {
	if len(ports) == 0 || len(ns.attached) == 0 {
		return nil
	}
	if err := e.installPorts(id, ns.attached[0], ports); err != nil {
		return fmt.Errorf("service %q: %w", svc.Name, err)
	}
	ns.ports = ports
	return nil
}

// installPorts DNATs ports to the container's address on its first
// network, replacing any rules it had: the one place rules are added.
func (e *Engine) installPorts(id string, first state.Attachment, ports []portmap.Binding) error {
	fw := e.firewall
	// Last check: another berth process may have published one of these
	// since the plan assigned it (the claim table is read once, before).
	if pub, err := fw.Published(); err == nil {
		claims := portmap.NewClaims()
		for _, p := range pub {
			if p.ContainerID != id {
				claims.Add(p.Port, p.ContainerID)
			}
		}
		for _, b := range ports {
			if by, taken := claims.Holder(b.HostIP, b.HostPort, b.Protocol); taken {
				return fmt.Errorf("publish %s: %w: host port %d/%s was published meanwhile by container %.12s", b, portmap.ErrPortTaken, b.HostPort, b.Protocol, by)
			}
		}
	}
	if err := fw.AddPorts(nft.ContainerPorts{ContainerID: id, Bridge: first.Bridge, ContainerIP: net.ParseIP(first.IP), Ports: ports}); err != nil {
		return fmt.Errorf("publish ports: %w", err)
	}
	return nil
}

// sharedNetnsOwner finds the container whose namespace a
// service:NAME / container:NAME network_mode joins.
func (e *Engine) sharedNetnsOwner(p *types.Project, mode string) (*state.Container, error) {
	recs, err := e.store.List("")
	if err != nil {
		return nil, err
	}
	if svc, ok := strings.CutPrefix(mode, types.ServicePrefix); ok {
		for _, r := range recs {
			if r.Project == p.Name && r.Service == svc && !r.Oneoff {
				return r, nil
			}
		}
		return nil, fmt.Errorf("service %s has no container (it must be created first)", svc)
	}
	name, _ := strings.CutPrefix(mode, types.ContainerPrefix)
	return containerByRef(recs, name)
}

func writeNetFiles(dir string, c *ociruntime.Container, hosts, resolv []byte, hostname string) error {
	files := map[string][]byte{"hosts": hosts, "resolv.conf": resolv, "hostname": []byte(hostname + "\n")}
	for name, data := range files {
		if err := fsutil.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	c.HostsFile = filepath.Join(dir, "hosts")
	c.ResolvConf = filepath.Join(dir, "resolv.conf")
	c.HostnameFile = filepath.Join(dir, "hostname")
	return nil
}

// extraHosts renders extra_hosts as /etc/hosts lines.
func extraHosts(h types.HostsList, gateway net.IP) []byte {
	var b strings.Builder
	for _, name := range sortedKeys(h) {
		for _, ip := range h[name] {
			if ip == dns.HostGateway && gateway != nil {
				ip = gateway.String()
			}
			fmt.Fprintf(&b, "%s\t%s\n", ip, name)
		}
	}
	return []byte(b.String())
}

// releaseNetwork undoes prepareNetwork's kernel work for a container.
func (e *Engine) releaseNetwork(ctx context.Context, id string, ns *netSetup) {
	e.firewall.RemovePorts(id)
	if alloc, err := e.ipam(); err == nil {
		for _, a := range ns.attached {
			alloc.ReleaseIP(ctx, a.Network, id)
		}
	}
	if ns.netns != "" {
		e.netHost.DeleteNetns(ns.netns)
	}
}

// teardownNetwork undoes prepareNetwork for a removed container.
func (e *Engine) teardownNetwork(ctx context.Context, rec *state.Container) {
	if rec.Netns == "" && len(rec.Networks) == 0 {
		return
	}
	ns := &netSetup{netns: rec.Netns, attached: rec.Networks}
	if rec.Creating {
		// killed while being created: it may hold an address on any of
		// the project's networks
		if nets, err := e.networks().List(); err == nil {
			for _, n := range nets {
				if n.Project == rec.Project || (n.Name == DefaultBridge && IsStandalone(rec)) {
					ns.attached = append(ns.attached, state.Attachment{Network: n.Name})
				}
			}
		}
	}
	e.releaseNetwork(ctx, rec.ID, ns)
}
