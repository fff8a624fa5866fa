package network

import (
	"context"
	"net"

	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/network/ipam"
)

// Host is the kernel side of container networking: network namespaces,
// bridges and veths, and the host's routes that subnet choice avoids. The
// engine decides names and addresses and asks a Host to make them exist;
// Kernel is the real one, network/networktest.Host an in-memory one that
// records its calls, and networktest.TestHost the suite both pass.
//
// Every method is safe to call from many goroutines at once. Deleting what
// is already gone is never an error: teardown is retried after crashes.
//
// A container's network, in the order the engine makes it:
//
//	h.EnsureBridge(ctx, BridgeConfig{Name: "br-0123456789ab", NetworkID: id, Subnet: subnet, Gateway: gw})
//	h.CreateNetns("/run/berth/netns/<container>")
//	h.Attach(ctx, Attachment{NetnsPath: "/run/berth/netns/<container>", Bridge: "br-0123456789ab", IfName: "eth0", Address: addr, Gateway: gw, DefaultRoute: true})
//	…
//	h.DeleteNetns("/run/berth/netns/<container>") // its veth ends go with it
type Host interface {
	// CreateNetns makes a network namespace bind-mounted on path, with
	// loopback up; ErrNetnsExists when path already holds one.
	CreateNetns(path string) error
	// DeleteNetns removes a namespace CreateNetns made.
	DeleteNetns(path string) error

	// EnsureBridge makes a network's bridge exist, with its gateway
	// address and up; an interface of that name made for another owner
	// (or not by berth) is refused with ErrForeignLink.
	EnsureBridge(ctx context.Context, c BridgeConfig) error
	// DeleteBridge removes the bridge made for networkID; an interface of
	// that name that is not its bridge is left alone.
	DeleteBridge(ctx context.Context, name, networkID string) error

	// Attach connects a namespace to a bridge with a veth carrying the
	// attachment's address, MAC and routes; ErrNoBridge when the bridge
	// is missing. A stale pair of the same name is replaced.
	Attach(ctx context.Context, a Attachment) error
	// Detach deletes the veth pair of an attachment.
	Detach(ctx context.Context, a Attachment) error

	// Routes lists the destinations of the host's routes: subnets a new
	// network must not overlap (an ipam.RouteLister).
	Routes() ([]*net.IPNet, error)
	// Lock serializes, across every berth process on the host, the steps
	// whose safety depends on the host's routes and links: choosing a
	// subnet and creating its bridge, deleting berth's nftables table. It
	// is not reentrant: a holder that locks again waits forever.
	Lock(ctx context.Context) (unlock func(), err error)
}

// HostLockFile is the file Kernel's Lock flocks by default: one for the
// whole host, whatever the state root.
const HostLockFile = "/run/berth-network.lock"

// Kernel is the host's own Host: this package's functions on the calling
// process's network namespace.
type Kernel struct {
	// LockFile is the file Lock flocks ("": HostLockFile).
	LockFile string
}

var _ Host = Kernel{}

// CreateNetns is CreateNetns.
func (Kernel) CreateNetns(path string) error { return CreateNetns(path) }

// DeleteNetns is DeleteNetns.
func (Kernel) DeleteNetns(path string) error { return DeleteNetns(path) }

// EnsureBridge is EnsureBridge.
func (Kernel) EnsureBridge(ctx context.Context, c BridgeConfig) error { return EnsureBridge(ctx, c) }

// DeleteBridge is DeleteBridge.
func (Kernel) DeleteBridge(ctx context.Context, name, networkID string) error {
	return DeleteBridge(ctx, name, networkID)
}

// Attach is Attach.
func (Kernel) Attach(ctx context.Context, a Attachment) error { return Attach(ctx, a) }

// Detach is Detach.
func (Kernel) Detach(ctx context.Context, a Attachment) error { return Detach(ctx, a) }

// Routes is ipam.HostRoutes.
func (Kernel) Routes() ([]*net.IPNet, error) { return ipam.HostRoutes() }

// Lock takes an exclusive flock on LockFile.
func (k Kernel) Lock(ctx context.Context) (func(), error) {
	path := k.LockFile
	if path == "" {
		path = HostLockFile
	}
	l, err := fsutil.Acquire(ctx, path)
	if err != nil {
		return nil, err
	}
	return func() { l.Release() }, nil
}
