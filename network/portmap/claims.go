package portmap

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
)

// ErrPortTaken is wrapped (through *ConflictError) by every error of a
// host port that is already claimed or held on the host.
var ErrPortTaken = errors.New("port is already taken")

// Probe asks the host about a port. It is an interface so that
// allocation is unit-tested with a fake; network.HostProbe is the real one.
type Probe interface {
	// Check returns nil when ip:port/proto (the zero ip: every address)
	// can be bound on the host, else an error saying what holds it.
	Check(ip netip.Addr, port uint16, proto Proto) error
}

type portKey struct {
	port  uint16
	proto Proto
}

// Claims is the table of host ports berth containers hold, keyed by host
// address, port and protocol. A claim on every address (the zero Addr)
// conflicts with any address; two distinct addresses do not conflict.
type Claims struct {
	m map[portKey]map[netip.Addr]string
}

// NewClaims returns an empty table.
func NewClaims() *Claims { return &Claims{m: map[portKey]map[netip.Addr]string{}} }

// Add records that owner holds b's host port. Exposed-only bindings hold
// nothing and are ignored.
func (c *Claims) Add(b Binding, owner string) {
	if !b.Published() {
		return
	}
	k := portKey{b.HostPort, b.Protocol}
	if c.m[k] == nil {
		c.m[k] = map[netip.Addr]string{}
	}
	c.m[k][addrKey(b.HostIP)] = owner
}

// Release drops every claim of owner.
func (c *Claims) Release(owner string) {
	for k, byIP := range c.m {
		for ip, o := range byIP {
			if o == owner {
				delete(byIP, ip)
			}
		}
		if len(byIP) == 0 {
			delete(c.m, k)
		}
	}
}

// Holder returns the owner of a claim that conflicts with ip:port/proto.
func (c *Claims) Holder(ip netip.Addr, port uint16, proto Proto) (string, bool) {
	byIP := c.m[portKey{port, proto}]
	if len(byIP) == 0 {
		return "", false
	}
	ip = addrKey(ip)
	if !ip.IsValid() {
		for _, o := range byIP {
			return o, true // any address conflicts with every address
		}
	}
	if o, ok := byIP[ip]; ok {
		return o, true
	}
	if o, ok := byIP[netip.Addr{}]; ok {
		return o, true
	}
	return "", false
}

// addrKey maps every spelling of "every address" to the zero Addr.
func addrKey(ip netip.Addr) netip.Addr {
	if !ip.IsValid() || ip.IsUnspecified() {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// ConflictError is a port that cannot be had: claimed by another
// container (By), or held on the host (Err), or, for a range or a
// random port, no free port left (Tried says what held them).
type ConflictError struct {
	Spec  Spec
	Port  uint16 // the host port at fault; 0 for a range or random port
	By    string // the container holding it, "" when the host does
	Err   error  // the host probe's answer
	Tried []string
}

func (e *ConflictError) Error() string {
	switch {
	case e.Port == 0 && e.Spec.Random():
		return fmt.Sprintf("no free host port for %s: %s", e.Spec, strings.Join(e.Tried, "; "))
	case e.Port == 0:
		return fmt.Sprintf("no free host port in %d-%d for %s: %s", e.Spec.HostFrom, e.Spec.HostTo, e.Spec, strings.Join(e.Tried, ", "))
	case e.By != "":
		return fmt.Sprintf("cannot publish %s: host port %s is already published by container %s", e.Spec, e.where(), e.By)
	}
	return fmt.Sprintf("cannot publish %s: %v", e.Spec, e.Err)
}

func (e *ConflictError) where() string {
	b := Binding{HostIP: e.Spec.HostIP, HostPort: e.Port, Protocol: e.Spec.Protocol}
	return b.HostPortString() + "/" + string(b.Protocol)
}

// Is makes errors.Is(err, ErrPortTaken) true.
func (e *ConflictError) Is(target error) bool { return target == ErrPortTaken }

func (e *ConflictError) Unwrap() error { return e.Err }

// Allocator assigns concrete host ports: an explicit port, the next free
// port of a range, or a random port that nothing claims and the host does
// not hold. Every port it assigns is added to its claim table, so the
// replicas of one plan never collide.
type Allocator struct {
	claims *Claims
	probe  Probe
	lo, hi uint16
	intn   func(int) int
}

// Opt configures an Allocator.
type Opt func(*Allocator)

// WithRandomRange sets where random ports come from (default: Linux's
// default ephemeral range, 32768-60999; the engine passes the host's
// net.ipv4.ip_local_port_range).
func WithRandomRange(lo, hi uint16) Opt {
	return func(a *Allocator) {
		if lo != 0 && lo <= hi {
			a.lo, a.hi = lo, hi
		}
	}
}

// WithRand sets the source of random numbers (tests make it predictable).
func WithRand(intn func(n int) int) Opt { return func(a *Allocator) { a.intn = intn } }

// NewAllocator allocates against claims (which it adds to) and the host.
func NewAllocator(claims *Claims, probe Probe, opts ...Opt) *Allocator {
	a := &Allocator{claims: claims, probe: probe, lo: 32768, hi: 60999, intn: rand.IntN}
	for _, o := range opts {
		o(a)
	}
	return a
}

// randomTries is how many random picks are made before the whole range is
// scanned.
const randomTries = 32

// Assign gives each spec of one container (owner) a host port and claims
// it. prefer are the bindings the container had before (a restart, a
// recreate): a range or random spec keeps its old port when it is still
// free. On error nothing is left claimed by this call.
func (a *Allocator) Assign(owner string, specs []Spec, prefer []Binding) (_ []Binding, err error) {
	var out []Binding
	defer func() {
		if err != nil {
			for _, b := range out {
				a.unclaim(b, owner)
			}
		}
	}()
	for _, s := range specs {
		b, err := a.assign(owner, s, prefer)
		if err != nil {
			return nil, err
		}
		a.claims.Add(b, owner)
		out = append(out, b)
	}
	return out, nil
}

func (a *Allocator) unclaim(b Binding, owner string) {
	byIP := a.claims.m[portKey{b.HostPort, b.Protocol}]
	if byIP[addrKey(b.HostIP)] == owner {
		delete(byIP, addrKey(b.HostIP))
	}
}

func (a *Allocator) assign(owner string, s Spec, prefer []Binding) (Binding, error) {
	b := Binding{HostIP: s.HostIP, ContainerPort: s.ContainerPort, Protocol: s.Protocol}
	if s.Fixed() {
		if err := a.free(s, s.HostFrom); err != nil {
			return b, err
		}
		b.HostPort = s.HostFrom
		return b, nil
	}
	for _, p := range prefer {
		if p.ContainerPort == s.ContainerPort && p.Protocol == s.Protocol && addrKey(p.HostIP) == addrKey(s.HostIP) &&
			(s.Random() || (p.HostPort >= s.HostFrom && p.HostPort <= s.HostTo)) && a.free(s, p.HostPort) == nil {
			b.HostPort = p.HostPort
			return b, nil
		}
	}
	var tried []string
	if !s.Random() {
		for p := int(s.HostFrom); p <= int(s.HostTo); p++ {
			err := a.free(s, uint16(p))
			if err == nil {
				b.HostPort = uint16(p)
				return b, nil
			}
			tried = append(tried, reason(uint16(p), err))
		}
		return b, &ConflictError{Spec: s, Tried: tried}
	}
	n := int(a.hi) - int(a.lo) + 1
	for i := 0; i < randomTries; i++ {
		p := uint16(int(a.lo) + a.intn(n))
		if a.free(s, p) == nil {
			b.HostPort = p
			return b, nil
		}
	}
	start := a.intn(n)
	for i := 0; i < n; i++ {
		p := uint16(int(a.lo) + (start+i)%n)
		if a.free(s, p) == nil {
			b.HostPort = p
			return b, nil
		}
	}
	return b, &ConflictError{Spec: s, Tried: []string{fmt.Sprintf("every port of %d-%d is claimed or in use", a.lo, a.hi)}}
}

// free checks one host port against the claims, then the host.
func (a *Allocator) free(s Spec, port uint16) error {
	if by, ok := a.claims.Holder(s.HostIP, port, s.Protocol); ok {
		return &ConflictError{Spec: s, Port: port, By: by}
	}
	if a.probe != nil {
		if err := a.probe.Check(s.HostIP, port, s.Protocol); err != nil {
			return &ConflictError{Spec: s, Port: port, Err: err}
		}
	}
	return nil
}

func reason(port uint16, err error) string {
	var ce *ConflictError
	if errors.As(err, &ce) && ce.By != "" {
		return fmt.Sprintf("%d is published by %s", port, ce.By)
	}
	if errors.As(err, &ce) && ce.Err != nil {
		return fmt.Sprintf("%d: %v", port, ce.Err)
	}
	return fmt.Sprintf("%d: %v", port, err)
}
