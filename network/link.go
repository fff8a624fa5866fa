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

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoBridge is returned when a bridge a caller names does not exist.
var ErrNoBridge = errors.New("no such bridge")

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
	Name     string     // BridgeName(networkID), or driver_opts' bridge name
	Subnet   *net.IPNet // the network's subnet
	Gateway  net.IP     // the bridge's own address inside Subnet
	MTU      int        // 0: the kernel's default
	Internal bool       // no route out; enforced by the firewall and by the absence of default routes
}

// EnsureBridge creates the bridge when missing and makes sure it has the
// gateway address, is up and has route_localnet=1 (needed to DNAT
// 127.0.0.1 to containers). Calling it again is harmless, also from
// several goroutines or processes at once.
func EnsureBridge(ctx context.Context, c BridgeConfig) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.Name == "" || len(c.Name) > unix.IFNAMSIZ-1 {
		return fmt.Errorf("bridge name %q: must be 1 to 15 characters", c.Name)
	}
	link, err := netlink.LinkByName(c.Name)
	if err != nil {
		if !isNotFound(err) {
			return fmt.Errorf("bridge %s: %w", c.Name, err)
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = c.Name
		attrs.MTU = c.MTU
		attrs.HardwareAddr = macFor(c.Name)
		attrs.Flags = net.FlagUp
		br := &netlink.Bridge{LinkAttrs: attrs}
		if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("create bridge %s: %w", c.Name, err)
		}
		if link, err = netlink.LinkByName(c.Name); err != nil {
			return fmt.Errorf("bridge %s: %w", c.Name, err)
		}
	}
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("bridge %s: a %s link of that name exists", c.Name, link.Type())
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

// DeleteBridge removes the bridge; a missing bridge is not an error.
func DeleteBridge(ctx context.Context, name string) error {
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
	if _, ok := link.(*netlink.Bridge); !ok {
		return fmt.Errorf("delete bridge %s: it is a %s link, not a bridge", name, link.Type())
	}
	if err := netlink.LinkDel(link); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete bridge %s: %w", name, err)
	}
	return nil
}

// BridgeExists reports whether a bridge of that name exists (for external
// networks, which must).
func BridgeExists(name string) (bool, error) {
	link, err := netlink.LinkByName(name)
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("bridge %s: %w", name, err)
	}
	_, ok := link.(*netlink.Bridge)
	return ok, nil
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
