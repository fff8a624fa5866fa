package network

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// announce sends gratuitous ARPs for the address of the interface ifName
// in the netns at nsPath, once the interface can send. A container made
// again with its old address has a new MAC; without the announcement the
// host (published ports) and the other containers keep sending to the old
// MAC until their ARP entry ages out — 30 s or more during which nothing
// reaches it. The kernel's own arp_notify announcement goes out while the
// fresh veth still has its no-op qdisc and is lost, hence this (moby sends
// unsolicited ARPs for the same reason).
//
// It waits until the container's end is up and the host's end forwards on
// the bridge (both are set asynchronously by the kernel's link watch).
func announce(nh *netlink.Handle, nsPath, ifName, hostIf string, ip net.IP) error {
	ip4 := ip.To4()
	if ip4 == nil {
		return nil
	}
	var link netlink.Link
	deadline := time.Now().Add(2 * time.Second)
	for {
		l, err := nh.LinkByName(ifName)
		if err != nil {
			return err
		}
		st, _ := os.ReadFile("/sys/class/net/" + hostIf + "/brport/state")
		if l.Attrs().OperState == netlink.OperUp && strings.TrimSpace(string(st)) == "3" { // BR_STATE_FORWARDING
			link = l
			break
		}
		if time.Now().After(deadline) {
			return nil // no carrier (yet): nothing would hear it anyway
		}
		time.Sleep(2 * time.Millisecond)
	}
	frame := garpFrame(link.Attrs().HardwareAddr, ip4)
	err := InNetns(nsPath, func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: link.Attrs().Index, Halen: 6}
		copy(to.Addr[:], broadcastMAC)
		return unix.Sendto(fd, frame, 0, to)
	})
	if err != nil {
		return fmt.Errorf("announce %s on %s: %w", ip4, ifName, err)
	}
	return nil
}

var broadcastMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// garpFrame is an Ethernet broadcast of a gratuitous ARP request: "who has
// ip? tell ip at mac" (sender and target address both ip).
func garpFrame(mac net.HardwareAddr, ip net.IP) []byte {
	b := make([]byte, 0, 42)
	b = append(b, broadcastMAC...)
	b = append(b, mac...)
	b = binary.BigEndian.AppendUint16(b, unix.ETH_P_ARP)
	b = binary.BigEndian.AppendUint16(b, 1)             // hardware: Ethernet
	b = binary.BigEndian.AppendUint16(b, unix.ETH_P_IP) // protocol: IPv4
	b = append(b, 6, 4)
	b = binary.BigEndian.AppendUint16(b, 1) // request
	b = append(b, mac...)
	b = append(b, ip...)
	b = append(b, 0, 0, 0, 0, 0, 0)
	return append(b, ip...)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
