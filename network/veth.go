package network

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Attachment connects one container netns to one bridge.
type Attachment struct {
	NetnsPath    string           // from CreateNetns
	Bridge       string           // an existing bridge (EnsureBridge)
	IfName       string           // the container-side name: eth0, eth1, …
	HostIfName   string           // host end; "" = VethName(NetnsPath, IfName)
	Address      *net.IPNet       // the container's address with the subnet's mask
	Gateway      net.IP           // the bridge's address
	DefaultRoute bool             // route everything via Gateway (first non-internal network)
	MAC          net.HardwareAddr // nil: kernel-chosen
	MTU          int              // 0: the bridge's MTU
}

func (a Attachment) hostName() string {
	if a.HostIfName != "" {
		return a.HostIfName
	}
	return VethName(a.NetnsPath, a.IfName)
}

// Attach creates a veth pair: the host end enslaved to the bridge and up;
// the other end created directly inside the netns under IfName, with the
// address, up, and the default route via Gateway when DefaultRoute. A
// stale pair of the same name (from a crash) is replaced. Safe to call
// for many containers in parallel.
func Attach(ctx context.Context, a Attachment) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if a.IfName == "" || len(a.IfName) > unix.IFNAMSIZ-1 {
		return fmt.Errorf("attach %s: interface name %q must be 1 to 15 characters", a.NetnsPath, a.IfName)
	}
	host := a.hostName()
	br, err := netlink.LinkByName(a.Bridge)
	if err != nil {
		if isNotFound(err) {
			return fmt.Errorf("attach %s to %s: %w", a.NetnsPath, a.Bridge, ErrNoBridge)
		}
		return fmt.Errorf("attach %s to %s: %w", a.NetnsPath, a.Bridge, err)
	}
	ns, err := netns.GetFromPath(a.NetnsPath)
	if err != nil {
		return fmt.Errorf("attach %s: open netns: %w", a.NetnsPath, err)
	}
	defer ns.Close()
	nh, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("attach %s: %w", a.NetnsPath, err)
	}
	defer nh.Close()

	veth, err := addVeth(nh, a, host, br.Attrs().MTU, ns)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if l, lerr := netlink.LinkByName(host); lerr == nil {
				_ = netlink.LinkDel(l)
			}
		}
	}()
	if err := netlink.LinkSetMasterByIndex(veth, br.Attrs().Index); err != nil {
		return fmt.Errorf("attach %s: enslave %s to %s: %w", a.NetnsPath, host, a.Bridge, err)
	}
	// Hairpin: a container reaching its own published port has its
	// DNATed packet sent back out of the port it came in on.
	if err := netlink.LinkSetHairpin(veth, true); err != nil {
		return fmt.Errorf("attach %s: hairpin on %s: %w", a.NetnsPath, host, err)
	}
	return configurePeer(nh, a, host)
}

// addVeth creates the pair: the host end named host, up, with the
// attachment's MTU (0: bridgeMTU); the peer inside ns under a.IfName with
// a.MAC. A leftover pair of either name, from an earlier attempt, is
// deleted and the pair made again.
func addVeth(nh *netlink.Handle, a Attachment, host string, bridgeMTU int, ns netns.NsHandle) (*netlink.Veth, error) {
	mtu := a.MTU
	if mtu == 0 {
		mtu = bridgeMTU
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = host
	attrs.MTU = mtu
	attrs.Flags = net.FlagUp
	veth := &netlink.Veth{
		LinkAttrs:        attrs,
		PeerName:         a.IfName,
		PeerHardwareAddr: a.MAC,
		PeerNamespace:    netlink.NsFd(int(ns)),
	}
	err := netlink.LinkAdd(veth)
	if err == nil {
		return veth, nil
	}
	if !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("attach %s: create veth %s: %w", a.NetnsPath, host, err)
	}
	// Leftover from an earlier attempt: start over.
	if old, lerr := netlink.LinkByName(host); lerr == nil {
		_ = netlink.LinkDel(old)
	}
	if old, lerr := nh.LinkByName(a.IfName); lerr == nil {
		_ = nh.LinkDel(old)
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("attach %s: create veth %s: %w", a.NetnsPath, host, err)
	}
	return veth, nil
}

// configurePeer sets up the container end of the pair through nh, a
// handle inside its namespace: the address, up, the default route when
// asked, then an announcement of the address to the bridge's neighbours.
func configurePeer(nh *netlink.Handle, a Attachment, host string) error {
	peer, err := nh.LinkByName(a.IfName)
	if err != nil {
		return fmt.Errorf("attach %s: %s: %w", a.NetnsPath, a.IfName, err)
	}
	if a.Address != nil {
		if err := nh.AddrAdd(peer, &netlink.Addr{IPNet: a.Address}); err != nil {
			return fmt.Errorf("attach %s: address %s on %s: %w", a.NetnsPath, a.Address, a.IfName, err)
		}
	}
	if err := nh.LinkSetUp(peer); err != nil {
		return fmt.Errorf("attach %s: set %s up: %w", a.NetnsPath, a.IfName, err)
	}
	if a.DefaultRoute && a.Gateway != nil {
		r := &netlink.Route{LinkIndex: peer.Attrs().Index, Gw: a.Gateway}
		if err := nh.RouteReplace(r); err != nil {
			return fmt.Errorf("attach %s: default route via %s: %w", a.NetnsPath, a.Gateway, err)
		}
	}
	if a.Address != nil {
		if err := announce(nh, a.NetnsPath, a.IfName, host, a.Address.IP); err != nil {
			return fmt.Errorf("attach %s: %w", a.NetnsPath, err)
		}
	}
	return nil
}

// Detach deletes the container's veth pair on that attachment; a pair
// that is already gone is not an error.
func Detach(ctx context.Context, a Attachment) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	host := a.hostName()
	l, err := netlink.LinkByName(host)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("detach %s: %w", host, err)
	}
	if err := netlink.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("detach %s: %w", host, err)
	}
	return nil
}
