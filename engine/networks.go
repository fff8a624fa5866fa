package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/names"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/ipam"
	"github.com/berth-dev/berth/network/nft"
	"github.com/berth-dev/berth/project"
)

// hostNetworkLock serializes, across every berth state root on the host,
// the steps whose safety depends on the host's routes: choosing a subnet
// and creating its bridge, and deleting berth's nftables table.
const hostNetworkLock = network.HostLockFile

func (e *Engine) networks() *state.Networks { return state.NewNetworks(e.layout.Networks()) }

// ipam is the state root's address allocator, on the configured pool,
// avoiding the routes of the engine's network host.
func (e *Engine) ipam() (*ipam.Allocator, error) {
	pool, err := e.networkPool()
	if err != nil {
		return nil, err
	}
	opts := append([]ipam.Opt{ipam.WithRouteLister(e.netHost.Routes)}, pool...)
	return ipam.New(e.layout.IPAM(), opts...)
}

// networkName is the full name of a compose network: name:, else
// <project>_<key>.
func networkName(p *types.Project, key string) string {
	if n, ok := p.Networks[key]; ok && n.Name != "" {
		return n.Name
	}
	return p.Name + "_" + key
}

// ensureNetworks creates the bridges of the project's networks that the
// given services use (all of them when services is nil).
func (e *Engine) ensureNetworks(ctx context.Context, p *types.Project, services []string) error {
	used := map[string]bool{}
	for _, name := range services {
		if isProvider(p.Services[name]) {
			continue
		}
		for _, key := range serviceNetworks(p.Services[name]) {
			used[key] = true
		}
	}
	for _, key := range sortedKeys(used) {
		if _, err := e.ensureNetwork(ctx, p, key); err != nil {
			return err
		}
	}
	return nil
}

// serviceNetworks lists the compose network keys a service joins, in
// interface order: priority (highest first), then name. network_mode
// bridge (or none given) means the project's default network.
func serviceNetworks(s types.ServiceConfig) []string {
	if s.NetworkMode != "" && s.NetworkMode != "bridge" {
		return nil
	}
	if len(s.Networks) == 0 {
		return []string{"default"}
	}
	keys := sortedKeys(s.Networks)
	sort.SliceStable(keys, func(i, j int) bool {
		return priority(s.Networks[keys[i]]) > priority(s.Networks[keys[j]])
	})
	return keys
}

func priority(n *types.ServiceNetworkConfig) int {
	if n == nil {
		return 0
	}
	return n.Priority
}

// ensureNetwork makes one compose network exist: its IPAM allocation,
// bridge and firewall rules. external networks must already exist.
func (e *Engine) ensureNetwork(ctx context.Context, p *types.Project, key string) (*state.Network, error) {
	cfg, declared := p.Networks[key]
	name := networkName(p, key)
	if name == DefaultBridge {
		return e.ensureDefaultBridge(ctx, p) // defaultbridge.go
	}
	if err := names.ValidNetworkName(name); err != nil {
		return nil, fmt.Errorf("networks.%s: %w", key, err)
	}
	if rec, err := e.networks().Get(name); err == nil {
		// make sure its bridge and rules exist (after a reboot, say);
		// one process at a time, as AddNetwork replaces the rules
		unlock, err := e.lockHostNetwork(ctx)
		if err != nil {
			return nil, err
		}
		defer unlock()
		if err := e.applyNetwork(ctx, rec); err != nil {
			return nil, err
		}
		return rec, nil
	}
	if declared && bool(cfg.External) {
		return nil, fmt.Errorf("network %s declared as external, but could not be found: create it with `berth network create %s`", name, name)
	}
	if declared && cfg.EnableIPv6 != nil && *cfg.EnableIPv6 {
		return nil, fmt.Errorf("network %q: enable_ipv6 is not supported yet", key)
	}
	if declared && cfg.Driver != "" && cfg.Driver != "bridge" {
		return nil, fmt.Errorf("network %q: driver %q is not supported (only bridge)", key, cfg.Driver)
	}
	spec := networkSpec(p, key)
	rec, err := e.CreateNetwork(ctx, spec)
	if err != nil {
		return nil, err
	}
	e.emit("Network", name, "Created")
	return rec, nil
}

// networkSpec is what the project asks of one of its networks.
func networkSpec(p *types.Project, key string) NetworkSpec {
	cfg, declared := p.Networks[key]
	spec := NetworkSpec{Name: networkName(p, key), Project: p.Name, Key: key, Labels: map[string]string{
		project.LabelProject: p.Name,
		project.LabelNetwork: key,
		project.LabelVersion: project.ComposeVersion,
	}}
	if declared {
		spec.Internal = cfg.Internal
		for k, v := range cfg.Labels {
			spec.Labels[k] = v
		}
		spec.DriverOpts = cfg.DriverOpts
		for _, pool := range cfg.Ipam.Config {
			spec.Subnet, spec.Gateway, spec.IPRange = pool.Subnet, pool.Gateway, pool.IPRange
			break
		}
	}
	return spec
}

// NetworkSpec describes a network to create (`network create` or a
// compose network).
type NetworkSpec struct {
	Name, Project, Key       string
	Subnet, Gateway, IPRange string
	Internal                 bool
	Labels, DriverOpts       map[string]string
}

// CreateNetwork allocates a subnet and makes the bridge and its rules.
// Nothing is left when it fails. The name becomes a file name under the
// state root, so it must be a valid network name (names.ValidNetworkName),
// and not one of Docker's predefined networks (bridge, host, none).
func (e *Engine) CreateNetwork(ctx context.Context, s NetworkSpec) (rec *state.Network, err error) {
	if predefinedNetwork(s.Name) {
		return nil, fmt.Errorf("operation is not permitted on predefined %s network: %w", s.Name, ErrPredefinedNetwork)
	}
	return e.createNetwork(ctx, s)
}

// createNetwork is CreateNetwork, the default bridge's name allowed.
func (e *Engine) createNetwork(ctx context.Context, s NetworkSpec) (rec *state.Network, err error) {
	if err := names.ValidNetworkName(s.Name); err != nil {
		return nil, err
	}
	if rec, err := e.networks().Get(s.Name); err == nil {
		return rec, nil
	}
	req, err := ipamRequest(s)
	if err != nil {
		return nil, err
	}
	id := newNetworkID()
	mtu, bridge, err := bridgeOptions(s, id)
	if err != nil {
		return nil, err
	}

	unlock, err := e.lockHostNetwork(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	alloc, err := e.ipam()
	if err != nil {
		return nil, err
	}
	n, err := alloc.AllocateNetwork(ctx, s.Name, req)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", s.Name, err)
	}
	defer func() {
		if err != nil {
			alloc.ReleaseSubnet(context.WithoutCancel(ctx), s.Name)
		}
	}()
	rec = networkRecord(s, id, bridge, mtu, n)
	// The record first: a berth killed between the two leaves a record
	// whose bridge `down` (or the next `up`) finds, never a bridge nothing
	// points at.
	if err := e.networks().Put(rec); err != nil {
		return nil, err
	}
	if err := e.applyNetwork(ctx, rec); err != nil {
		e.deleteNetworkObjectsLocked(context.WithoutCancel(ctx), rec, true)
		_ = e.networks().Delete(rec.Name)
		return nil, err
	}
	return rec, nil
}

// ipamRequest is what a network spec asks of the address allocator: its
// subnet, ip_range and gateway, each optional.
func ipamRequest(s NetworkSpec) (req ipam.Request, err error) {
	parse := func(field, v string) (*net.IPNet, error) {
		if v == "" {
			return nil, nil
		}
		_, n, err := net.ParseCIDR(v)
		if err != nil {
			return nil, fmt.Errorf("network %s: ipam %s %q: %w", s.Name, field, v, err)
		}
		return n, nil
	}
	if req.Subnet, err = parse("subnet", s.Subnet); err != nil {
		return req, err
	}
	if req.IPRange, err = parse("ip_range", s.IPRange); err != nil {
		return req, err
	}
	if s.Gateway != "" {
		if req.Gateway = net.ParseIP(s.Gateway).To4(); req.Gateway == nil {
			return req, fmt.Errorf("network %s: ipam gateway %q is not an IPv4 address", s.Name, s.Gateway)
		}
	}
	return req, nil
}

// bridgeOptions reads the bridge driver's options of a network spec: its
// MTU (0: the kernel's default) and its bridge's name (default: one
// derived from the network's ID).
func bridgeOptions(s NetworkSpec, id string) (mtu int, bridge string, err error) {
	if v := s.DriverOpts["com.docker.network.driver.mtu"]; v != "" {
		if mtu, err = strconv.Atoi(v); err != nil || mtu < 68 {
			return 0, "", fmt.Errorf("network %s: driver_opts com.docker.network.driver.mtu %q: want a number ≥ 68", s.Name, v)
		}
	}
	bridge = network.BridgeName(id)
	if v := s.DriverOpts["com.docker.network.bridge.name"]; v != "" {
		if len(v) > 15 {
			return 0, "", fmt.Errorf("network %s: bridge name %q is longer than 15 characters", s.Name, v)
		}
		bridge = v
	}
	return mtu, bridge, nil
}

// newNetworkID is a random network ID, 64 hex digits as Docker's.
func newNetworkID() string {
	var idb [32]byte
	rand.Read(idb[:])
	return hex.EncodeToString(idb[:])
}

// networkRecord is the record of a network created from a spec on the
// allocation n.
func networkRecord(s NetworkSpec, id, bridge string, mtu int, n ipam.Network) *state.Network {
	rec := &state.Network{
		Name: s.Name, ID: id, Project: s.Project, Key: s.Key, Bridge: bridge,
		Subnet: n.Subnet.String(), Gateway: n.Gateway.String(), Internal: s.Internal,
		MTU: mtu, Labels: s.Labels, Created: time.Now().UTC(),
	}
	if n.IPRange != nil {
		rec.IPRange = n.IPRange.String()
	}
	return rec
}

// applyNetwork makes the kernel objects of a network record exist (again,
// after a reboot or a crash): the bridge and its firewall rules.
func (e *Engine) applyNetwork(ctx context.Context, rec *state.Network) error {
	_, subnet, err := net.ParseCIDR(rec.Subnet)
	if err != nil {
		return fmt.Errorf("network %s: bad subnet %q in its record", rec.Name, rec.Subnet)
	}
	if err := e.netHost.EnsureBridge(ctx, network.BridgeConfig{
		Name: rec.Bridge, NetworkID: rec.ID, Subnet: subnet, Gateway: net.ParseIP(rec.Gateway), MTU: rec.MTU, Internal: rec.Internal,
	}); err != nil {
		return fmt.Errorf("network %s: %w", rec.Name, err)
	}
	if err := e.firewall.AddNetwork(nft.NetworkRules{ID: rec.ID, Bridge: rec.Bridge, Subnet: subnet, Internal: rec.Internal}); err != nil {
		return fmt.Errorf("network %s: nftables: %w", rec.Name, err)
	}
	return nil
}

// RemoveNetwork deletes a network that no container uses. The default
// bridge is refused, as Docker refuses it: a prune removes it when unused.
func (e *Engine) RemoveNetwork(ctx context.Context, name string) error {
	if name == DefaultBridge {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed", name)
	}
	return e.removeNetwork(ctx, name)
}

// removeNetwork is RemoveNetwork, the default bridge included.
func (e *Engine) removeNetwork(ctx context.Context, name string) error {
	rec, err := e.networks().Get(name)
	if err != nil {
		return err
	}
	recs, err := e.store.List("")
	if err != nil {
		return err
	}
	for _, c := range recs {
		for _, a := range c.Networks {
			if a.Network == name {
				return fmt.Errorf("network %s is in use by container %s", name, c.Name)
			}
		}
	}
	if err := e.deleteNetworkObjects(ctx, rec); err != nil {
		return err
	}
	alloc, err := e.ipam()
	if err == nil {
		alloc.ReleaseSubnet(ctx, name)
	}
	return e.networks().Delete(name)
}

// deleteNetworkObjects removes a network's firewall rules and bridge, and
// berth's table when nothing else is left in it.
func (e *Engine) deleteNetworkObjects(ctx context.Context, rec *state.Network) error {
	unlock, err := e.lockHostNetwork(ctx)
	if err == nil {
		defer unlock()
	}
	return e.deleteNetworkObjectsLocked(ctx, rec, err == nil)
}

// deleteNetworkObjectsLocked is deleteNetworkObjects for a caller that
// holds the host network lock (locked), or could not get it: the table is
// then left, as deleting it needs the lock. CreateNetwork, which holds the
// lock, must call this one: the lock is a flock, which a second Acquire in
// the same process waits on forever.
func (e *Engine) deleteNetworkObjectsLocked(ctx context.Context, rec *state.Network, locked bool) error {
	var errs []error
	if err := e.firewall.RemoveNetwork(rec.ID); err != nil {
		errs = append(errs, err)
	}
	if locked {
		e.firewall.Cleanup()
	}
	if err := e.netHost.DeleteBridge(ctx, rec.Bridge, rec.ID); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removeProjectNetworks removes the project's networks (not external
// ones) that no container uses any more.
func (e *Engine) removeProjectNetworks(ctx context.Context, projectName string, p *types.Project) error {
	recs, err := e.networks().List()
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range recs {
		if n.Project != projectName {
			continue
		}
		if p != nil {
			if cfg, ok := p.Networks[n.Key]; ok && bool(cfg.External) {
				continue
			}
		}
		if err := e.RemoveNetwork(ctx, n.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		e.emit("Network", n.Name, "Removed")
	}
	// The default bridge stays when its last container goes, as docker0
	// does: a prune removes it unused (releaseDefaultBridge).
	return errors.Join(errs...)
}

// netnsPath is where a container's network namespace is bind-mounted.
func (e *Engine) netnsPath(id string) string { return e.layout.Netns(id) }
