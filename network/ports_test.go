package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
)

func TestCheckPortsFree(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := uint16(l.Addr().(*net.TCPAddr).Port)

	err = CheckPortsFree([]PortMapping{{HostIP: net.ParseIP("127.0.0.1"), HostPort: held, ContainerPort: 80}})
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("held port: err = %v, want ErrPortInUse", err)
	}
	var pe *PortInUseError
	if !errors.As(err, &pe) || pe.Port != held || pe.Proto != "tcp" {
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
	if err := CheckPortsFree([]PortMapping{{HostPort: held, ContainerPort: 80}}); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("any address: %v", err)
	}
	// The same number over udp is free.
	if err := CheckPortsFree([]PortMapping{{HostIP: net.ParseIP("127.0.0.1"), HostPort: held, ContainerPort: 80, Proto: "udp"}}); err != nil {
		t.Fatalf("udp: %v", err)
	}
}

func TestCheckPortsFreeUDPAndDuplicates(t *testing.T) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	held := uint16(c.LocalAddr().(*net.UDPAddr).Port)
	err = CheckPortsFree([]PortMapping{{HostIP: net.ParseIP("127.0.0.1"), HostPort: held, ContainerPort: 53, Proto: "udp"}})
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), "/udp") {
		t.Fatalf("udp held: %v", err)
	}
	free, err := RandomPort(nil, "tcp")
	if err != nil || free == 0 {
		t.Fatal(free, err)
	}
	err = CheckPortsFree([]PortMapping{{HostPort: free, ContainerPort: 1}, {HostPort: free, ContainerPort: 2}})
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := CheckPortsFree([]PortMapping{{HostPort: free, ContainerPort: 1, Proto: "sctp"}}); err == nil {
		t.Fatal("sctp accepted")
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
