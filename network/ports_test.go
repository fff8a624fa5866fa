package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/berth-dev/berth/network/portmap"
)

func TestHostProbe(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := uint16(l.Addr().(*net.TCPAddr).Port)
	lo := netip.MustParseAddr("127.0.0.1")

	err = HostProbe{}.Check(lo, held, portmap.TCP)
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("held port: err = %v, want ErrPortInUse", err)
	}
	var pe *PortInUseError
	if !errors.As(err, &pe) || pe.Port != held || pe.Protocol != portmap.TCP {
		t.Fatalf("error = %#v", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("%d/tcp", held)) {
		t.Errorf("error %q does not name the port", err)
	}
	// The holder is this test process.
	if pe.Pid != os.Getpid() {
		t.Errorf("pid = %d (%s), want %d; message %q", pe.Pid, pe.Process, os.Getpid(), err)
	}
	// Without host_ip: 0.0.0.0 conflicts with 127.0.0.1:port too.
	if err := (HostProbe{}).Check(netip.Addr{}, held, portmap.TCP); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("any address: %v", err)
	}
	// Another loopback address is free, and so is the same number over udp.
	if err := (HostProbe{}).Check(netip.MustParseAddr("127.0.0.2"), held, portmap.TCP); err != nil {
		t.Fatalf("127.0.0.2: %v", err)
	}
	if err := (HostProbe{}).Check(lo, held, portmap.UDP); err != nil {
		t.Fatalf("udp: %v", err)
	}
}

func TestHostProbeUDP(t *testing.T) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	held := uint16(c.LocalAddr().(*net.UDPAddr).Port)
	err = HostProbe{}.Check(netip.MustParseAddr("127.0.0.1"), held, portmap.UDP)
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), "/udp") {
		t.Fatalf("udp held: %v", err)
	}
	if lo, hi := EphemeralRange(); lo == 0 || hi < lo {
		t.Errorf("EphemeralRange = %d-%d", lo, hi)
	}
}

func TestNames(t *testing.T) {
	b := BridgeName("myproject_default")
	if len(b) != 15 || !strings.HasPrefix(b, "br-") || b != BridgeName("myproject_default") || b == BridgeName("other_default") {
		t.Fatalf("BridgeName = %q", b)
	}
	v := VethName("/run/berth/netns/abc", "eth0")
	if len(v) > 15 || !strings.HasPrefix(v, "vb") || v == VethName("/run/berth/netns/abc", "eth1") {
		t.Fatalf("VethName = %q", v)
	}
	m := macFor(b)
	if m[0]&1 != 0 || m[0]&2 == 0 {
		t.Fatalf("mac %s is not locally administered unicast", m)
	}
}
