package engine

import (
	"context"

	"github.com/berth-dev/berth/network"
)

// WithNetworkHost replaces the kernel side of container networking —
// network namespaces, bridges, veths, the host's routes and the host
// network lock (default: network.Kernel). Tests inject
// network/networktest.Host, which needs no root.
func WithNetworkHost(h network.Host) Opt { return func(e *Engine) { e.netHost = h } }

// lockHostNetwork takes the host network lock (network.Host.Lock): one
// berth process at a time chooses a subnet and creates its bridge, or
// deletes berth's nftables table.
func (e *Engine) lockHostNetwork(ctx context.Context) (unlock func(), err error) {
	return e.netHost.Lock(ctx)
}
