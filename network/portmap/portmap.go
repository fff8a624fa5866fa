package portmap

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Proto is a transport protocol berth publishes: TCP or UDP.
type Proto string

const (
	TCP Proto = "tcp"
	UDP Proto = "udp"
)

// ErrBadPort is wrapped by every error of a port that cannot be published.
var ErrBadPort = errors.New("invalid port")

// Spec is one published port as asked: a container port and protocol, a
// host address (the zero Addr: every address) and a range of host ports
// (0-0: any free port).
type Spec struct {
	HostIP        netip.Addr `json:"host_ip"`
	HostFrom      uint16     `json:"host_from,omitempty"`
	HostTo        uint16     `json:"host_to,omitempty"`
	ContainerPort uint16     `json:"container_port"`
	Protocol      Proto      `json:"protocol"`
}

// Random reports whether any free host port will do.
func (s Spec) Random() bool { return s.HostFrom == 0 }

// Fixed reports whether exactly one host port is asked.
func (s Spec) Fixed() bool { return s.HostFrom != 0 && s.HostFrom == s.HostTo }

func (s Spec) String() string {
	host := ""
	switch {
	case s.Fixed():
		host = strconv.Itoa(int(s.HostFrom))
	case !s.Random():
		host = fmt.Sprintf("%d-%d", s.HostFrom, s.HostTo)
	}
	if s.HostIP.IsValid() {
		host = s.HostIP.String() + ":" + host
	}
	if host != "" {
		host += ":"
	}
	return fmt.Sprintf("%s%d/%s", host, s.ContainerPort, s.Protocol)
}

// Binding is one concrete port: a host address (zero: every address) and
// port mapped to a container port. HostPort 0 is a port the container
// only exposes (`expose:`, an image's EXPOSE), published nowhere.
type Binding struct {
	HostIP        netip.Addr `json:"host_ip"`
	HostPort      uint16     `json:"host_port"`
	ContainerPort uint16     `json:"container_port"`
	Protocol      Proto      `json:"protocol"`
}

// Published reports whether the binding has a host port.
func (b Binding) Published() bool { return b.HostPort != 0 }

// HostAddr is the host address as Docker prints it: 0.0.0.0 for every
// address.
func (b Binding) HostAddr() string {
	if !b.HostIP.IsValid() || b.HostIP.IsUnspecified() {
		return "0.0.0.0"
	}
	return b.HostIP.String()
}

// HostPortString is "ADDR:PORT", what `port` prints.
func (b Binding) HostPortString() string {
	return b.HostAddr() + ":" + strconv.Itoa(int(b.HostPort))
}

// Key is "PORT/PROTO", the key of inspect's port maps.
func (b Binding) Key() string { return fmt.Sprintf("%d/%s", b.ContainerPort, b.Protocol) }

func (b Binding) String() string {
	if !b.Published() {
		return b.Key()
	}
	return fmt.Sprintf("%s->%s", b.HostPortString(), b.Key())
}

// ParseProto normalizes a protocol name: "" is tcp; only tcp and udp can
// be published.
func ParseProto(s string) (Proto, error) {
	switch strings.ToLower(s) {
	case "", "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	}
	return "", fmt.Errorf("protocol %q: %w: only tcp and udp can be published", s, ErrBadPort)
}

// NormalizeService turns a service's ports, as compose-go loaded them,
// into Specs. Ports on an IPv6 host address are left out (berth publishes
// IPv4 only, as Docker does without IPv6). Errors name the port by its
// index and text; the caller adds the service and file.
func NormalizeService(ports []types.ServicePortConfig) ([]Spec, error) {
	var out []Spec
	for i, p := range ports {
		s, ok, err := normalize(p)
		if err != nil {
			return nil, fmt.Errorf("ports[%d] %s: %w", i, describe(p), err)
		}
		if ok {
			out = append(out, s)
		}
	}
	return out, nil
}

func describe(p types.ServicePortConfig) string {
	s := strconv.Itoa(int(p.Target))
	if p.Published != "" {
		s = p.Published + ":" + s
	}
	if p.HostIP != "" {
		s = p.HostIP + ":" + s
	}
	if p.Protocol != "" {
		s += "/" + p.Protocol
	}
	return strconv.Quote(s)
}

func normalize(p types.ServicePortConfig) (Spec, bool, error) {
	proto, err := ParseProto(p.Protocol)
	if err != nil {
		return Spec{}, false, err
	}
	if p.Target == 0 || p.Target > 65535 {
		return Spec{}, false, fmt.Errorf("container port %d: %w: want 1-65535", p.Target, ErrBadPort)
	}
	s := Spec{ContainerPort: uint16(p.Target), Protocol: proto}
	if p.HostIP != "" {
		ip, err := netip.ParseAddr(p.HostIP)
		if err != nil {
			return Spec{}, false, fmt.Errorf("host_ip %q: %w: not an IP address", p.HostIP, ErrBadPort)
		}
		ip = ip.Unmap()
		if ip.Is6() {
			return Spec{}, false, nil
		}
		if !ip.IsUnspecified() {
			s.HostIP = ip
		}
	}
	if s.HostFrom, s.HostTo, err = parseRange(p.Published, true); err != nil {
		return Spec{}, false, fmt.Errorf("published %q: %w", p.Published, err)
	}
	return s, true, nil
}

// parseRange reads "", "N" or "A-B". zeroOK allows "" and "0" (any port).
func parseRange(s string, zeroOK bool) (uint16, uint16, error) {
	if s == "" {
		if zeroOK {
			return 0, 0, nil
		}
		return 0, 0, fmt.Errorf("%w: no port", ErrBadPort)
	}
	a, b, isRange := strings.Cut(s, "-")
	from, err := parsePort(a)
	if err != nil {
		return 0, 0, err
	}
	to := from
	if isRange {
		if to, err = parsePort(b); err != nil {
			return 0, 0, err
		}
	}
	switch {
	case from == 0 && (!zeroOK || isRange):
		return 0, 0, fmt.Errorf("%w: port 0", ErrBadPort)
	case to < from:
		return 0, 0, fmt.Errorf("%w: range %d-%d ends before it starts", ErrBadPort, from, to)
	}
	return from, to, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a port number (0-65535)", ErrBadPort, s)
	}
	return uint16(n), nil
}

// NormalizeExpose turns `expose:` entries ("80", "80/udp", "9091-9092")
// and an image's EXPOSE keys into exposed-only Bindings, one per port.
func NormalizeExpose(entries []string) ([]Binding, error) {
	var out []Binding
	for _, e := range entries {
		ports, protoText, _ := strings.Cut(e, "/")
		proto, err := ParseProto(protoText)
		if err != nil {
			return nil, fmt.Errorf("expose %q: %w", e, err)
		}
		from, to, err := parseRange(ports, false)
		if err != nil {
			return nil, fmt.Errorf("expose %q: %w", e, err)
		}
		for p := int(from); p <= int(to); p++ {
			out = append(out, Binding{ContainerPort: uint16(p), Protocol: proto})
		}
	}
	return out, nil
}
