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

// prepareNetwork gives a container its network. network_mode none: a new
// empty namespace (the runtime makes it); host: the host's; service:X or
// container:X: that container's namespace; otherwise a namespace of its
// own with a veth on each of its networks and its published ports. It
// writes /etc/hosts, /etc/resolv.conf and /etc/hostname into the
// container's directory and points c at them.
func (e *Engine) prepareNetwork(ctx context.Context, p *types.Project, svc types.ServiceConfig, id, name, dir string, ports []portmap.Binding, c *ociruntime.Container) (_ *netSetup, err error) {
	mode := svc.NetworkMode
	ns := &netSetup{hostname: svc.Hostname, dns: svc.DNS}
	if ns.hostname == "" {
		ns.hostname = ociruntime.ShortID(id)
	}
	localhost := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	switch {
	case mode == "host":
		h, _ := os.Hostname()
		ns.hostname = h
		hosts, err := os.ReadFile("/etc/hosts")
		if err != nil {
			hosts = []byte(localhost)
		}
		resolv, _ := os.ReadFile("/etc/resolv.conf")
		return ns, writeNetFiles(dir, c, append(hosts, extraHosts(svc.ExtraHosts, nil)...), resolv, h)
	case mode == "none":
		hosts := localhost + fmt.Sprintf("127.0.1.1\t%s\n", ns.hostname)
		return ns, writeNetFiles(dir, c, append([]byte(hosts), extraHosts(svc.ExtraHosts, nil)...), nil, ns.hostname)
	case strings.HasPrefix(mode, types.ServicePrefix), strings.HasPrefix(mode, types.ContainerPrefix):
		other, err := e.sharedNetnsOwner(p, mode)
		if err != nil {
			return nil, fmt.Errorf("service %q: network_mode %s: %w", svc.Name, mode, err)
		}
		if len(svc.Ports) > 0 {
			return nil, fmt.Errorf("service %q: ports cannot be published with network_mode %s (publish them on %s)", svc.Name, mode, other.Name)
		}
		c.NetNS = other.Netns
		if other.Netns == "" {
			// its namespace was made by the runtime (network_mode none):
			// join it through its running init
			st, err := e.store.GetState(other.ID)
			if err != nil || st.Status != state.StatusRunning || st.Pid <= 0 {
				return nil, fmt.Errorf("service %q: network_mode %s: container %s is not running, so its network namespace cannot be joined", svc.Name, mode, other.Name)
			}
			c.NetNS = fmt.Sprintf("/proc/%d/ns/net", st.Pid)
		}
		// share the other container's view of the network
		for _, f := range []string{"hosts", "resolv.conf"} {
			data, err := os.ReadFile(filepath.Join(other.Bundle, f))
			if err != nil {
				return nil, err
			}
			if err := fsutil.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				return nil, err
			}
		}
		if err := fsutil.WriteFile(filepath.Join(dir, "hostname"), []byte(ns.hostname+"\n"), 0o644); err != nil {
			return nil, err
		}
		c.HostsFile, c.ResolvConf, c.HostnameFile = filepath.Join(dir, "hosts"), filepath.Join(dir, "resolv.conf"), filepath.Join(dir, "hostname")
		return ns, nil
	case mode != "" && mode != "bridge":
		return nil, fmt.Errorf("service %q: network_mode %q is not supported (use bridge, none, host, service:NAME or container:NAME)", svc.Name, mode)
	}

	// A namespace of the container's own, on its networks.
	path := e.netnsPath(id)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := network.CreateNetns(path); err != nil {
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
	var hostEntries []dns.HostEntry
	var firstGateway net.IP
	defaultRoute := true
	onDefaultBridge := false
	for i, key := range serviceNetworks(svc) {
		cfg := svc.Networks[key]
		rec, ip, err := e.networkAddress(ctx, p, svc, key, id, alloc)
		if err != nil {
			return nil, err
		}
		_, subnet, _ := net.ParseCIDR(rec.Subnet)
		ones, _ := subnet.Mask.Size()
		ifName := "eth" + strconv.Itoa(i)
		if cfg != nil && cfg.InterfaceName != "" {
			ifName = cfg.InterfaceName
		}
		a := state.Attachment{Network: rec.Name, Key: key, Bridge: rec.Bridge, IfName: ifName, IP: ip.String(), Prefix: ones, Gateway: rec.Gateway}
		var mac net.HardwareAddr
		macText := svc.MacAddress
		if cfg != nil && cfg.MacAddress != "" {
			macText = cfg.MacAddress
		} else if i > 0 {
			macText = ""
		}
		if macText != "" {
			if mac, err = net.ParseMAC(macText); err != nil {
				return nil, fmt.Errorf("service %q: mac_address %q: %w", svc.Name, macText, err)
			}
			a.MAC = mac.String()
		}
		if rec.Name == DefaultBridge {
			onDefaultBridge = true // no names there, as on Docker's
		} else {
			a.Aliases = []string{svc.Name, name, ns.hostname}
			if cfg != nil {
				a.Aliases = append(a.Aliases, cfg.Aliases...)
			}
			for _, l := range svc.Links {
				target, alias, ok := strings.Cut(l, ":")
				_ = target
				if ok {
					a.Aliases = append(a.Aliases, alias)
				}
			}
		}
		isDefault := defaultRoute && !rec.Internal
		if err := network.Attach(ctx, network.Attachment{
			NetnsPath: path, Bridge: rec.Bridge, IfName: ifName,
			Address: &net.IPNet{IP: ip, Mask: subnet.Mask}, Gateway: net.ParseIP(rec.Gateway),
			DefaultRoute: isDefault, MAC: mac, MTU: rec.MTU,
		}); err != nil {
			alloc.ReleaseIP(context.WithoutCancel(ctx), rec.Name, id)
			return nil, fmt.Errorf("service %q: network %s: %w", svc.Name, key, err)
		}
		if isDefault {
			defaultRoute = false
		}
		if firstGateway == nil {
			firstGateway = net.ParseIP(rec.Gateway)
		}
		ns.attached = append(ns.attached, a)
		hostEntries = append(hostEntries, dns.HostEntry{IP: ip.String(), Names: []string{ns.hostname}})
	}
	if err := e.publishPorts(svc, id, ports, ns); err != nil {
		return nil, err
	}
	hosts := dns.HostsFile(hostEntries[:1], hostEntriesOf(svc.ExtraHosts), firstGateway)
	resolv := dns.ResolvConf(nil, svc.DNSSearch, svc.DNSOpts)
	if onDefaultBridge && len(ns.attached) == 1 {
		// Docker's default bridge: the host's resolvers, no embedded DNS
		resolv = dns.BridgeResolvConf(svc.DNS, svc.DNSSearch, svc.DNSOpts, "/etc/resolv.conf", "/run/systemd/resolve/resolv.conf")
	}
	return ns, writeNetFiles(dir, c, hosts, resolv, ns.hostname)
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
		network.DeleteNetns(ns.netns)
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
