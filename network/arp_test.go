package network

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// neighMAC is the MAC the ARP cache of the current netns holds for ip on
// the link named dev ("" when there is no usable entry).
func neighMAC(dev string, ip net.IP) (string, error) {
	l, err := netlink.LinkByName(dev)
	if err != nil {
		return "", err
	}
	ns, err := netlink.NeighList(l.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		return "", err
	}
	for _, n := range ns {
		if n.IP.Equal(ip) && n.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) == 0 {
			return n.HardwareAddr.String(), nil
		}
	}
	return "", nil
}

// TestRecreatedContainerAnnounced: a container recreated with the same
// address gets a new MAC; the host (published ports) and its neighbours
// must learn it at once, not after their ARP entry for the old MAC ages
// out (30 s or more, during which every packet to it is lost). Each
// container's interface announces itself (arp_notify) when it comes up.
func TestRecreatedContainerAnnounced(t *testing.T) {
	run := rootSetup(t)
	n := mkNet(t, nil, 41, false)
	peer, _ := mkContainer(t, run, n, 6, true)
	ip := n.ip(5)

	path := filepath.Join(run, "netns", "bt"+rnd())
	a := Attachment{NetnsPath: path, Bridge: n.bridge, IfName: "eth0", HostIfName: "btv" + rnd(),
		Address: &net.IPNet{IP: ip, Mask: n.subnet.Mask}, Gateway: n.gateway, DefaultRoute: true}
	if err := CreateNetns(path); err != nil {
		t.Fatal(err)
	}
	if err := Attach(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if err := ping(peer, ip); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("/bin/busybox", "ping", "-c", "1", "-W", "1", ip.String()).CombinedOutput(); err != nil {
		t.Fatalf("host ping %s: %v: %s", ip, err, out)
	}
	if err := Detach(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if err := DeleteNetns(path); err != nil {
		t.Fatal(err)
	}

	path2, _ := mkContainer(t, run, n, 5, true)
	var mac string
	if err := inNetns(path2, func() (err error) {
		l, err := netlink.LinkByName("eth0")
		if err == nil {
			mac = l.Attrs().HardwareAddr.String()
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var hostMAC, peerMAC string
	deadline := time.Now().Add(2 * time.Second)
	for {
		var err error
		if hostMAC, err = neighMAC(n.bridge, ip); err != nil {
			t.Fatal(err)
		}
		if err := inNetns(peer, func() (err error) { peerMAC, err = neighMAC("eth0", ip); return err }); err != nil {
			t.Fatal(err)
		}
		if (hostMAC == "" || hostMAC == mac) && (peerMAC == "" || peerMAC == mac) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if hostMAC != "" && hostMAC != mac {
		t.Errorf("host's ARP entry for %s: %s, the recreated container is %s", ip, hostMAC, mac)
	}
	if peerMAC != "" && peerMAC != mac {
		t.Errorf("neighbour's ARP entry for %s: %s, the recreated container is %s", ip, peerMAC, mac)
	}
	if err := ping(peer, ip); err != nil {
		t.Error(fmt.Errorf("neighbour to recreated container: %w", err))
	}
}
