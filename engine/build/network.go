package build

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/internal/layout"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/dns"
	"github.com/berth-dev/berth/network/ipam"
	"github.com/berth-dev/berth/network/nft"
)

// HostNetworkLock is the lock that serializes, across every berth state
// root on the host, choosing a subnet and creating its bridge, and
// deleting berth's nftables table. The engine holds the same file for its
// own networks and passes it in WithNetworkSetup.
const HostNetworkLock = "/run/berth-network.lock"

// buildNetPrefix starts the IPAM name (and firewall tag) of every build
// network: "berth-build-<pid>-<hex>". The pid tells a later build whether
// the builder that made it is gone (see sweepBuildNetworks).
const buildNetPrefix = "berth-build-"

// WithNetworkSetup sets where build networks get their subnets (the
// engine's IPAM allocator, with its configured pool) and the host-wide
// network lock. Default: an allocator over the parent of the cache dir
// (the state root) with the default pool, and HostNetworkLock.
func WithNetworkSetup(alloc func() (*ipam.Allocator, error), hostLock string) Opt {
	return func(b *Builder) { b.ipam, b.hostLock = alloc, hostLock }
}

// Firewall is what builds ask of the host's packet filter: outbound NAT
// for their networks (network/nft.Firewall).
type Firewall interface {
	AddNetwork(nft.NetworkRules) error
	RemoveNetwork(id string) error
	Cleanup() (bool, error)
}

// WithFirewall sets the firewall of build networks (default: berth's
// nftables table, opened at the first build network).
func WithFirewall(fw Firewall) Opt { return func(b *Builder) { b.fw = fw } }

// firewall is the builder's firewall, berth's nftables table unless
// WithFirewall set another.
func (b *Builder) firewall() (Firewall, error) {
	if b.fw != nil {
		return b.fw, nil
	}
	return nft.New()
}

// buildNetwork is the network RUN steps get by default: a bridge of the
// build's own, with a subnet from berth's IPAM pool and outbound NAT, as
// Docker's builder runs RUN on a bridge rather than on the host's
// network. Each RUN gets a new network namespace with one veth on it. It
// is made at the first RUN that needs it and removed, with its firewall
// rules and subnet, when the build ends.
type buildNetwork struct {
	fw       Firewall
	alloc    *ipam.Allocator
	hostLock string
	name     string // IPAM name and firewall tag
	bridge   string
	subnet   *net.IPNet
	gateway  net.IP
}

// network returns the build's network, making it on first use.
func (r *run) network(ctx context.Context) (*buildNetwork, error) {
	r.netOnce.Do(func() { r.net, r.netErr = r.b.newBuildNetwork(ctx) })
	return r.net, r.netErr
}

// closeNetwork removes the build's network when one was made.
func (r *run) closeNetwork(ctx context.Context) {
	if r.net != nil {
		r.net.remove(context.WithoutCancel(ctx))
	}
}

func (b *Builder) allocator() (*ipam.Allocator, string, error) {
	lock := b.hostLock
	if lock == "" {
		lock = HostNetworkLock
	}
	if b.ipam != nil {
		a, err := b.ipam()
		return a, lock, err
	}
	a, err := ipam.New(layout.Layout{Root: filepath.Dir(b.dir)}.IPAM())
	return a, lock, err
}

// newBuildNetwork allocates a subnet and makes its bridge and NAT rules.
func (b *Builder) newBuildNetwork(ctx context.Context) (_ *buildNetwork, err error) {
	alloc, hostLock, err := b.allocator()
	if err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	fw, err := b.firewall()
	if err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	sweepBuildNetworks(ctx, fw, alloc, hostLock)
	name := fmt.Sprintf("%s%d-%s", buildNetPrefix, os.Getpid(), randHex(4))
	n := &buildNetwork{fw: fw, alloc: alloc, hostLock: hostLock, name: name, bridge: network.BridgeName(name)}
	lock, err := fsutil.Acquire(ctx, hostLock)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if n.subnet, n.gateway, err = alloc.AllocateSubnet(ctx, name, nil); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	defer func() {
		if err != nil {
			n.removeLocked(context.WithoutCancel(ctx))
		}
	}()
	if err := network.EnsureBridge(ctx, network.BridgeConfig{Name: n.bridge, NetworkID: n.name, Subnet: n.subnet, Gateway: n.gateway}); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	if err := fw.AddNetwork(nft.NetworkRules{ID: name, Bridge: n.bridge, Subnet: n.subnet}); err != nil {
		return nil, fmt.Errorf("build network: %w", err)
	}
	return n, nil
}

// remove deletes the network's firewall rules, bridge and subnet.
func (n *buildNetwork) remove(ctx context.Context) {
	lock, err := fsutil.Acquire(ctx, n.hostLock)
	if err != nil {
		return
	}
	defer lock.Release()
	n.removeLocked(ctx)
}

// removeLocked is remove with the host network lock held. Each part goes
// even when another fails.
func (n *buildNetwork) removeLocked(ctx context.Context) {
	_ = n.fw.RemoveNetwork(n.name)
	_, _ = n.fw.Cleanup()
	_ = network.DeleteBridge(ctx, n.bridge, n.name)
	_ = n.alloc.ReleaseSubnet(ctx, n.name)
}

// attach makes a network namespace at nsPath for the RUN container id,
// with eth0 on the build's bridge and a default route through it; release
// undoes it all.
func (n *buildNetwork) attach(ctx context.Context, nsPath, id string) (release func(), err error) {
	if err := network.CreateNetns(nsPath); err != nil {
		return func() {}, fmt.Errorf("build network: %w", err)
	}
	a := network.Attachment{NetnsPath: nsPath, Bridge: n.bridge, IfName: "eth0", Gateway: n.gateway, DefaultRoute: true}
	release = func() {
		ctx := context.WithoutCancel(ctx)
		_ = network.Detach(ctx, a)
		_ = network.DeleteNetns(nsPath)
		_ = n.alloc.ReleaseIP(ctx, n.name, id)
	}
	ip, err := n.alloc.AllocateIP(ctx, n.name, id, nil)
	if err != nil {
		release()
		return func() {}, fmt.Errorf("build network: %w", err)
	}
	a.Address = &net.IPNet{IP: ip, Mask: n.subnet.Mask}
	if err := network.Attach(ctx, a); err != nil {
		release()
		return func() {}, fmt.Errorf("build network: %w", err)
	}
	return release, nil
}

// sweepBuildNetworks removes the build networks of this state root whose
// builder process is gone (killed mid-build): their bridges and rules
// would otherwise stay until reboot.
func sweepBuildNetworks(ctx context.Context, fw Firewall, alloc *ipam.Allocator, hostLock string) {
	names, err := alloc.Networks(ctx)
	if err != nil {
		return
	}
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, buildNetPrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		(&buildNetwork{fw: fw, alloc: alloc, hostLock: hostLock, name: name, bridge: network.BridgeName(name)}).remove(ctx)
	}
}

func processAlive(pid int) bool {
	_, err := os.Stat("/proc/" + strconv.Itoa(pid))
	return err == nil || !errors.Is(err, os.ErrNotExist)
}

// bridgeResolvConf is the /etc/resolv.conf of a RUN on the build network,
// as Docker writes one for its default bridge (dns.BridgeResolvConf).
func bridgeResolvConf(paths ...string) []byte {
	return dns.BridgeResolvConf(nil, nil, nil, paths...)
}
