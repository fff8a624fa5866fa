package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/network/ipam"
)

// The default bridge is Docker's `bridge` (docker0) for standalone
// containers: `berth container run` without --network joins it. It is an
// ordinary berth network (a subnet from the IPAM pool, NAT out, published
// ports) with Docker's two differences: no embedded DNS (its containers'
// resolv.conf names the host's resolvers, so they reach each other by
// address only) and no aliases. No process is resident for it: it is made
// by the first container that joins it and then stays, as docker0 does,
// until a prune (`network prune`, `system prune`) finds no container on it
// and removes it, under a lock of the state root that orders the two (the
// address a container takes on it is what marks it in use). Keeping it
// spares every `container run --rm` the making of a bridge and its nftables
// rules (~8 ms here) and, above all, the kernel's deletion of the link
// (~40 ms of RTM_DELLINK on these machines).

// DefaultBridge is the network a standalone container joins without
// --network.
const DefaultBridge = state.DefaultBridge

// defaultBridgeKey is the compose key of the default bridge in a
// standalone container's synthesized project.
const defaultBridgeKey = "bridge"

// ErrPredefinedNetwork is wrapped by the error of a network create Docker
// refuses: bridge, host and none are its predefined networks.
var ErrPredefinedNetwork = errors.New("the name is reserved")

// predefinedNetwork reports whether name is one of Docker's predefined
// networks, which no user network may be called.
func predefinedNetwork(name string) bool {
	return name == DefaultBridge || name == "host" || name == "none"
}

func (e *Engine) defaultBridgeLock() string {
	return e.layout.Lock("default-bridge")
}

// isStandaloneProject reports whether a project name is a standalone
// container's reserved one.
func isStandaloneProject(name string) bool {
	return strings.HasPrefix(name, standaloneProjectPrefix)
}

// ensureDefaultBridge makes the default bridge exist for a standalone
// container's project. Compose projects never join it.
func (e *Engine) ensureDefaultBridge(ctx context.Context, p *types.Project) (*state.Network, error) {
	if !isStandaloneProject(p.Name) {
		return nil, fmt.Errorf("network %s is the default network of standalone containers (berth container run): a compose project cannot join it, use a network of its own or another external one", DefaultBridge)
	}
	lock, err := fsutil.Acquire(ctx, e.defaultBridgeLock())
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	return e.ensureDefaultBridgeLocked(ctx)
}

// ensureDefaultBridgeLocked is ensureDefaultBridge for a caller holding
// the default bridge lock.
func (e *Engine) ensureDefaultBridgeLocked(ctx context.Context) (*state.Network, error) {
	if rec, err := e.networks().Get(DefaultBridge); err == nil {
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
	rec, err := e.createNetwork(ctx, NetworkSpec{Name: DefaultBridge})
	if err != nil {
		return nil, err
	}
	e.emit("Network", DefaultBridge, "Created")
	return rec, nil
}

// joinDefaultBridge gives container id an address on the default bridge,
// making the bridge first if it is gone (removed by a prune since Up's
// ensureNetworks).
func (e *Engine) joinDefaultBridge(ctx context.Context, p *types.Project, id string, alloc *ipam.Allocator) (*state.Network, net.IP, error) {
	if !isStandaloneProject(p.Name) {
		_, err := e.ensureDefaultBridge(ctx, p) // says why not
		return nil, nil, err
	}
	lock, err := fsutil.Acquire(ctx, e.defaultBridgeLock())
	if err != nil {
		return nil, nil, err
	}
	defer lock.Release()
	rec, err := e.networks().Get(DefaultBridge)
	if err != nil {
		// removed since Up's ensureNetworks made sure of it (which
		// also applied it: not again here)
		if rec, err = e.ensureDefaultBridgeLocked(ctx); err != nil {
			return nil, nil, err
		}
	}
	ip, err := alloc.AllocateIP(ctx, rec.Name, id, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("network %s: %w", rec.Name, err)
	}
	return rec, ip, nil
}

// releaseDefaultBridge removes the default bridge when no container holds
// an address on it or names it in its record: the prunes call this.
func (e *Engine) releaseDefaultBridge(ctx context.Context) error {
	if _, err := e.networks().Get(DefaultBridge); err != nil {
		return nil
	}
	lock, err := fsutil.Acquire(ctx, e.defaultBridgeLock())
	if err != nil {
		return err
	}
	defer lock.Release()
	alloc, err := e.ipam()
	if err != nil {
		return err
	}
	if n, err := alloc.Get(ctx, DefaultBridge); err == nil && len(n.IPs) > 0 {
		return nil // a container is on it, or being made on it
	}
	recs, err := e.store.List("")
	if err != nil {
		return err
	}
	for _, c := range recs {
		for _, a := range c.Networks {
			if a.Network == DefaultBridge {
				return nil
			}
		}
	}
	if err := e.removeNetwork(ctx, DefaultBridge); err != nil {
		if errors.Is(err, state.ErrNoNetwork) {
			return nil
		}
		return err
	}
	e.emit("Network", DefaultBridge, "Removed")
	return nil
}

// servesNames reports whether a container is on a network whose names
// berth's resolver serves: any but the default bridge.
func servesNames(rec *state.Container) bool {
	for _, a := range rec.Networks {
		if a.Network != DefaultBridge {
			return true
		}
	}
	return false
}
