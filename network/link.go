package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoBridge is returned when a bridge a caller names does not exist.
var ErrNoBridge = errors.New("no such bridge")

// ErrForeignLink is returned when a network's bridge name is taken by an
// interface berth did not create for that network: berth never adopts,
// changes or deletes it.
var ErrForeignLink = errors.New("the interface exists and was not created by berth for this network")

// ownerAlias is the alias (ifalias) berth gives a bridge it creates: the
// mark by which it knows, later and from any process, that the bridge is
// its own and whose it is.
func ownerAlias(networkID string) string { return "berth:" + networkID }

// ownedBy reports whether link is the bridge berth created for networkID:
// its alias says so, or — made by a berth from before the alias — it has
// no alias and the name berth derives from that network's ID, which no one
// else picks.
func ownedBy(link netlink.Link, networkID string) bool {
	a := link.Attrs()
	return a.Alias == ownerAlias(networkID) || (a.Alias == "" && a.Name == BridgeName(networkID))
}

// BridgeName is the Linux bridge name of a network: "br-" and 12 hex
// digits of a hash of the network's ID, within the kernel's 15-char limit.
func BridgeName(networkID string) string { return "br-" + shortHash(networkID) }

// VethName is the host end of a container's veth on one of its
// interfaces: "vb" and 12 hex digits of a hash of the netns path and the
// container-side name.
func VethName(netnsPath, ifName string) string { return "vb" + shortHash(netnsPath+"\x00"+ifName) }

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// macFor derives a stable, locally administered unicast MAC from a name,
// so that a bridge keeps its address when ports come and go.
func macFor(name string) net.HardwareAddr {
	sum := sha256.Sum256([]byte("mac\x00" + name))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = (mac[0] | 0x02) &^ 0x01
	return mac
}

// BridgeConfig describes one network's bridge.
type BridgeConfig struct {
	Name      string     // BridgeName(networkID), or driver_opts' bridge name
	NetworkID string     // the owner: a bridge of that name made for another owner, or not by berth, is refused
	Subnet    *net.IPNet // the network's subnet
	Gateway   net.IP     // the bridge's own address inside Subnet
	MTU       int        // 0: the kernel's default
	Internal  bool       // no route out; enforced by the firewall and by the absence of default routes
}

// EnsureBridge creates the bridge when missing and makes sure it has the
// gateway address, is up and has route_localnet=1 (needed to DNAT
// 127.0.0.1 to containers; the firewall's loopback guard keeps it from
// opening the host's loopback). An interface of that name that berth did
// not create for c.NetworkID is refused with ErrForeignLink and left
// untouched. Calling it again is harmless, also from several goroutines
// or processes at once.
func EnsureBridge(ctx context.Context, c BridgeConfig) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.Name == "" || len(c.Name) > unix.IFNAMSIZ-1 {
		return fmt.Errorf("bridge name %q: must be 1 to 15 characters", c.Name)
	}
	if c.NetworkID == "" {
		return fmt.Errorf("bridge %s: no network ID to own it", c.Name)
	}
	link, err := ownBridge(c)
	if err != nil {
		return err
	}
	if c.MTU > 0 && link.Attrs().MTU != c.MTU {
		if err := netlink.LinkSetMTU(link, c.MTU); err != nil {
			return fmt.Errorf("bridge %s: set mtu %d: %w", c.Name, c.MTU, err)
		}
	}
	if c.Gateway != nil && c.Subnet != nil {
		ones, bits := c.Subnet.Mask.Size()
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: c.Gateway, Mask: net.CIDRMask(ones, bits)}}
		if err := netlink.AddrReplace(link, addr); err != nil {
			return fmt.Errorf("bridge %s: add address %s: %w", c.Name, addr.IPNet, err)
		}
	}
	if err := setSysctl(filepath.Join("/proc/sys/net/ipv4/conf", c.Name, "route_localnet"), "1"); err != nil {
		return fmt.Errorf("bridge %s: %w", c.Name, err)
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := netlink.LinkSetUp(link); err != nil {
			return fmt.Errorf("bridge %s: set up: %w", c.Name, err)
		}
	}
	return nil
}

// ownBridge returns the bridge berth made for c.NetworkID, creating it
// (marked with its owner alias) when no interface has its name.
func ownBridge(c BridgeConfig) (netlink.Link, error) {
	link, err := netlink.LinkByName(c.Name)
	if err != nil {
		if !isNotFound(err) {
			return nil, fmt.Errorf("bridge %s: %w", c.Name, err)
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = c.Name
		attrs.Alias = ownerAlias(c.NetworkID)
		attrs.MTU = c.MTU
		attrs.HardwareAddr = macFor(c.Name)
		attrs.Flags = net.FlagUp
		br := &netlink.Bridge{LinkAttrs: attrs}
		err := netlink.LinkAdd(br)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("create bridge %s: %w", c.Name, err)
		}
		if err == nil {
			// the kernel ignores IFLA_IFALIAS in a new link's message
			if err := netlink.LinkSetAlias(br, attrs.Alias); err != nil {
				_ = netlink.LinkDel(br)
				return nil, fmt.Errorf("bridge %s: set alias: %w", c.Name, err)
			}
		}
		if link, err = awaitAlias(c.Name); err != nil {
			return nil, err
		}
	}
	if !ownedBy(link, c.NetworkID) {
		alias := ""
		if a := link.Attrs().Alias; a != "" {
			alias = fmt.Sprintf(" (alias %q)", a)
		}
		return nil, fmt.Errorf("bridge %s: %w: a %s interface named %s%s is already on the host; pick another com.docker.network.bridge.name",
			c.Name, ErrForeignLink, link.Type(), c.Name, alias)
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return nil, fmt.Errorf("bridge %s: a %s link of that name exists", c.Name, link.Type())
	}
	if link.Attrs().Alias == "" {
		// made before berth marked its bridges: mark it now
		if err := netlink.LinkSetAlias(link, ownerAlias(c.NetworkID)); err != nil {
			return nil, fmt.Errorf("bridge %s: set alias: %w", c.Name, err)
		}
	}
	return link, nil
}

// awaitAlias reads the link of that name, giving a bridge that another
// berth process has just created (EEXIST here) a moment to get its owner
// alias.
func awaitAlias(name string) (netlink.Link, error) {
	for i := 0; ; i++ {
		link, err := netlink.LinkByName(name)
		if err != nil {
			return nil, fmt.Errorf("bridge %s: %w", name, err)
		}
		if link.Attrs().Alias != "" || i == 20 {
			return link, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// DeleteBridge removes the bridge berth created for networkID; a missing
// bridge is not an error, and an interface of that name berth did not
// create for that network is left alone (its record can still go).
func DeleteBridge(ctx context.Context, name, networkID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	link, err := netlink.LinkByName(name)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("bridge %s: %w", name, err)
	}
	if !ownedBy(link, networkID) {
		return nil
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("delete bridge %s: it is a %s link, not a bridge", name, link.Type())
	}
	if err := netlink.LinkDel(link); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete bridge %s: %w", name, err)
	}
	return nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT)
}

func setSysctl(path, value string) error {
	cur, err := os.ReadFile(path)
	if err == nil && string(cur) == value+"\n" {
		return nil
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", path, value, err)
	}
	return nil
}
