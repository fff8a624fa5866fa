package network

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/network/portmap"
)

// ErrPortInUse is returned (wrapped in a *PortInUseError) for a host port
// something already holds.
var ErrPortInUse = errors.New("port is already in use")

// PortInUseError names the port and, where /proc tells, the holder.
type PortInUseError struct {
	HostIP   netip.Addr
	Port     uint16
	Protocol portmap.Proto
	Pid      int    // 0: unknown
	Process  string // the holder's command name, "" when unknown
}

func (e *PortInUseError) Error() string {
	where := fmt.Sprintf("port %d/%s", e.Port, e.Protocol)
	if e.HostIP.IsValid() && !e.HostIP.IsUnspecified() {
		where = fmt.Sprintf("port %s:%d/%s", e.HostIP, e.Port, e.Protocol)
	}
	if e.Pid > 0 {
		return fmt.Sprintf("%s is already in use by pid %d (%s)", where, e.Pid, e.Process)
	}
	return where + " is already in use"
}

// Is makes errors.Is(err, ErrPortInUse) true.
func (e *PortInUseError) Is(target error) bool { return target == ErrPortInUse }

// HostProbe is the host side of port allocation (a portmap.Probe): it
// binds the port briefly. Go's listeners set SO_REUSEADDR, so a port in
// TIME_WAIT counts as free while a listener or bound socket does not.
// Ports berth publishes hold no socket (DNAT): the claim table knows them.
type HostProbe struct{}

var _ portmap.Probe = HostProbe{}

// Check returns nil when ip:port/proto can be bound, else a
// *PortInUseError naming the process holding it.
func (HostProbe) Check(ip netip.Addr, port uint16, proto portmap.Proto) error {
	host := "0.0.0.0"
	if ip.IsValid() && !ip.IsUnspecified() {
		host = ip.String()
	}
	addr := net.JoinHostPort(host, strconv.Itoa(int(port)))
	var err error
	if proto == portmap.UDP {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp4", addr); err == nil {
			c.Close()
		}
	} else {
		var l net.Listener
		if l, err = net.Listen("tcp4", addr); err == nil {
			l.Close()
		}
	}
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EADDRINUSE) {
		return fmt.Errorf("check port %s/%s: %w", addr, proto, err)
	}
	e := &PortInUseError{HostIP: ip, Port: port, Protocol: proto}
	e.Pid, e.Process = PortOwner(port, string(proto))
	return e
}

// EphemeralRange is the host's net.ipv4.ip_local_port_range, where random
// host ports come from (as Docker's); Linux's default when unreadable.
func EphemeralRange() (lo, hi uint16) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			l, err1 := strconv.ParseUint(f[0], 10, 16)
			h, err2 := strconv.ParseUint(f[1], 10, 16)
			if err1 == nil && err2 == nil && l > 0 && l <= h {
				return uint16(l), uint16(h)
			}
		}
	}
	return 32768, 60999
}

// RandomPort picks a port that is free on the host right now for proto
// ("tcp"/"udp") on hostIP (nil: every address) by binding port 0 and
// closing. Tests and benchmarks use it; the engine allocates with
// portmap.Allocator, which also knows the ports berth publishes.
func RandomPort(hostIP net.IP, proto string) (uint16, error) {
	host := "0.0.0.0"
	if hostIP != nil && !hostIP.IsUnspecified() {
		host = hostIP.String()
	}
	addr := net.JoinHostPort(host, "0")
	if strings.ToLower(proto) == "udp" {
		c, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return 0, fmt.Errorf("pick a free udp port on %s: %w", host, err)
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return 0, fmt.Errorf("pick a free tcp port on %s: %w", host, err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// PortOwner finds the process holding a local port: the socket's inode
// from /proc/net/{tcp,tcp6,udp,udp6}, then the process with a descriptor
// on it. Zero and "" when unknown.
func PortOwner(port uint16, proto string) (int, string) {
	inodes := map[string]bool{}
	for _, f := range []string{proto, proto + "6"} {
		for _, ino := range socketInodes("/proc/net/"+f, port, proto == "tcp") {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return 0, ""
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd")
	for _, fdDir := range procs {
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || !strings.HasPrefix(target, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] {
				pidDir := filepath.Dir(fdDir)
				pid, _ := strconv.Atoi(filepath.Base(pidDir))
				comm, _ := os.ReadFile(filepath.Join(pidDir, "comm"))
				return pid, strings.TrimSpace(string(comm))
			}
		}
	}
	return 0, ""
}

// socketInodes returns the inodes of sockets bound to port in a
// /proc/net table; for tcp only listening ones (state 0A).
func socketInodes(path string, port uint16, listenOnly bool) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	want := fmt.Sprintf(":%04X", port)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || !strings.HasSuffix(fields[1], want) {
			continue
		}
		if listenOnly && fields[3] != "0A" {
			continue
		}
		if fields[9] != "0" {
			out = append(out, fields[9])
		}
	}
	return out
}
