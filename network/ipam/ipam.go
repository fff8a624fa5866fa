package ipam

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"

	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/vishvananda/netlink"
)

// Errors callers can test with errors.Is.
var (
	ErrPoolExhausted  = errors.New("no free subnet left in the address pool")
	ErrSubnetConflict = errors.New("subnet overlaps another network")
	ErrNoNetwork      = errors.New("network has no address allocation")
	ErrIPInUse        = errors.New("address already in use")
	ErrIPOutOfRange   = errors.New("address outside the network's subnet")
	ErrRangeExhausted = errors.New("no free address left")
	ErrBadRequest     = errors.New("invalid ipam configuration")
)

// DefaultPool is where subnets come from unless configured otherwise.
var DefaultPool = &net.IPNet{IP: net.IPv4(10, 89, 0, 0).To4(), Mask: net.CIDRMask(16, 32)}

// DefaultSubnetSize is the prefix length of the subnets cut from the pool.
const DefaultSubnetSize = 24

// RouteLister returns the destinations of the host's routes (all tables).
// Default routes (a nil or /0 destination) are ignored by the allocator.
type RouteLister func() ([]*net.IPNet, error)

// HostRoutes lists the destinations of every route in every table of the
// host's current network namespace.
func HostRoutes() ([]*net.IPNet, error) {
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_ALL,
		&netlink.Route{Table: 0}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list host routes: %w", err)
	}
	out := make([]*net.IPNet, 0, len(routes))
	for _, r := range routes {
		if r.Dst != nil {
			out = append(out, r.Dst)
		}
	}
	return out, nil
}

// Request is a network's ipam configuration from the compose file; every
// field is optional.
type Request struct {
	Subnet  *net.IPNet
	Gateway net.IP
	IPRange *net.IPNet // addresses handed out automatically come from here
}

// Network is one network's allocation.
type Network struct {
	Subnet  *net.IPNet
	Gateway net.IP
	IPRange *net.IPNet        // nil: the whole subnet
	IPs     map[string]net.IP // container → address
}

// Allocator hands out subnets and addresses; safe for concurrent use by
// goroutines and processes sharing the state root.
type Allocator struct {
	file, lock string
	pool       *net.IPNet
	size       int
	routes     RouteLister
}

// Opt configures an Allocator.
type Opt func(*Allocator)

// WithPool sets the pool subnets are cut from and their prefix length.
func WithPool(pool *net.IPNet, size int) Opt {
	return func(a *Allocator) { a.pool, a.size = pool, size }
}

// WithRouteLister replaces the host route lister (tests use a fake).
func WithRouteLister(f RouteLister) Opt { return func(a *Allocator) { a.routes = f } }

// New returns the allocator whose records live in dir
// (layout.Layout.IPAM: <state root>/network).
func New(dir string, opts ...Opt) (*Allocator, error) {
	a := &Allocator{
		file:   filepath.Join(dir, "ipam.json"),
		lock:   filepath.Join(dir, "ipam.lock"),
		pool:   DefaultPool,
		size:   DefaultSubnetSize,
		routes: HostRoutes,
	}
	for _, o := range opts {
		o(a)
	}
	if a.pool.IP.To4() == nil {
		return nil, fmt.Errorf("address pool %s: %w: only IPv4 pools are supported", a.pool, ErrBadRequest)
	}
	ones, _ := a.pool.Mask.Size()
	if a.size < ones || a.size > 30 {
		return nil, fmt.Errorf("address pool %s: %w: subnet size /%d must be between /%d and /30", a.pool, ErrBadRequest, a.size, ones)
	}
	return a, nil
}

// record is the JSON form of the allocations.
type record struct {
	Networks map[string]*netRecord `json:"networks"`
}

type netRecord struct {
	Subnet  string            `json:"subnet"`
	Gateway string            `json:"gateway"`
	IPRange string            `json:"ip_range,omitempty"`
	IPs     map[string]string `json:"ips,omitempty"`
}

func (a *Allocator) update(ctx context.Context, write bool, fn func(*record) error) error {
	l, err := fsutil.Acquire(ctx, a.lock)
	if err != nil {
		return err
	}
	defer l.Release()
	rec := &record{}
	if err := fsutil.ReadJSON(a.file, rec); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if rec.Networks == nil {
		rec.Networks = map[string]*netRecord{}
	}
	if err := fn(rec); err != nil {
		return err
	}
	if !write {
		return nil
	}
	return fsutil.WriteJSON(a.file, rec)
}

// AllocateSubnet gives network a subnet and gateway: requested when not
// nil, else the first free subnet of the pool. Asking again for a network
// that has one returns it.
func (a *Allocator) AllocateSubnet(ctx context.Context, network string, requested *net.IPNet) (*net.IPNet, net.IP, error) {
	n, err := a.AllocateNetwork(ctx, network, Request{Subnet: requested})
	if err != nil {
		return nil, nil, err
	}
	return n.Subnet, n.Gateway, nil
}

// AllocateNetwork is AllocateSubnet with the whole ipam configuration.
func (a *Allocator) AllocateNetwork(ctx context.Context, network string, req Request) (Network, error) {
	var out Network
	err := a.update(ctx, true, func(rec *record) error {
		if nr, ok := rec.Networks[network]; ok {
			n, err := nr.decode()
			if err != nil {
				return fmt.Errorf("network %s: %w", network, err)
			}
			if req.Subnet != nil && n.Subnet.String() != canonical(req.Subnet).String() {
				return fmt.Errorf("network %s already has subnet %s, not %s: %w", network, n.Subnet, req.Subnet, ErrSubnetConflict)
			}
			out = n
			return nil
		}
		n, err := a.pick(network, req, rec)
		if err != nil {
			return err
		}
		rec.Networks[network] = encode(n)
		out = n
		return nil
	})
	return out, err
}

func (a *Allocator) pick(network string, req Request, rec *record) (Network, error) {
	taken := make([]*net.IPNet, 0, len(rec.Networks))
	names := make([]string, 0, len(rec.Networks))
	for name, nr := range rec.Networks {
		if _, s, err := net.ParseCIDR(nr.Subnet); err == nil {
			taken = append(taken, s)
			names = append(names, name)
		}
	}
	var subnet *net.IPNet
	if req.Subnet != nil {
		if req.Subnet.IP.To4() == nil {
			return Network{}, fmt.Errorf("network %s: subnet %s: %w: only IPv4 is supported", network, req.Subnet, ErrBadRequest)
		}
		subnet = canonical(req.Subnet)
		if ones, _ := subnet.Mask.Size(); ones > 30 {
			return Network{}, fmt.Errorf("network %s: subnet %s: %w: too small (at most /30)", network, subnet, ErrBadRequest)
		}
		for i, s := range taken {
			if overlaps(s, subnet) {
				return Network{}, fmt.Errorf("network %s: subnet %s overlaps %s of network %s: %w", network, subnet, s, names[i], ErrSubnetConflict)
			}
		}
	} else {
		routes, err := a.routes()
		if err != nil {
			return Network{}, err
		}
		for _, r := range routes {
			if ones, _ := r.Mask.Size(); ones > 0 && r.IP.To4() != nil {
				taken = append(taken, r)
			}
		}
		subnet = a.firstFree(taken)
		if subnet == nil {
			return Network{}, fmt.Errorf("network %s: pool %s: %w", network, a.pool, ErrPoolExhausted)
		}
	}
	n := Network{Subnet: subnet, IPs: map[string]net.IP{}}
	if req.IPRange != nil {
		r := canonical(req.IPRange)
		if !contains(subnet, r) {
			return Network{}, fmt.Errorf("network %s: ip_range %s is not inside subnet %s: %w", network, r, subnet, ErrBadRequest)
		}
		n.IPRange = r
	}
	if req.Gateway != nil {
		g := req.Gateway.To4()
		if g == nil || !subnet.Contains(g) || g.Equal(subnet.IP) || g.Equal(broadcast(subnet)) {
			return Network{}, fmt.Errorf("network %s: gateway %s is not a host address of subnet %s: %w", network, req.Gateway, subnet, ErrBadRequest)
		}
		n.Gateway = g
	} else {
		n.Gateway = addU32(subnet.IP, 1)
	}
	return n, nil
}

// firstFree walks the pool in subnet-size steps for one overlapping nothing
// in taken.
func (a *Allocator) firstFree(taken []*net.IPNet) *net.IPNet {
	base := canonical(a.pool)
	ones, _ := base.Mask.Size()
	count := uint64(1) << uint(a.size-ones)
	step := uint32(1) << uint(32-a.size)
	for i := uint64(0); i < count; i++ {
		cand := &net.IPNet{IP: addU32(base.IP, uint32(i)*step), Mask: net.CIDRMask(a.size, 32)}
		free := true
		for _, t := range taken {
			if overlaps(t, cand) {
				free = false
				break
			}
		}
		if free {
			return cand
		}
	}
	return nil
}

// AllocateIP gives container an address on network: requested when not
// nil, else the next free one (never the network, gateway or broadcast
// address; within ip_range when set). Asking again returns the same one.
func (a *Allocator) AllocateIP(ctx context.Context, network, container string, requested net.IP) (net.IP, error) {
	var out net.IP
	err := a.update(ctx, true, func(rec *record) error {
		nr, ok := rec.Networks[network]
		if !ok {
			return fmt.Errorf("network %s: %w", network, ErrNoNetwork)
		}
		n, err := nr.decode()
		if err != nil {
			return fmt.Errorf("network %s: %w", network, err)
		}
		if cur, ok := n.IPs[container]; ok && (requested == nil || cur.Equal(requested)) {
			out = cur
			return nil
		}
		used := map[uint32]string{}
		for c, ip := range n.IPs {
			if c != container {
				used[u32(ip)] = c
			}
		}
		if requested != nil {
			ip := requested.To4()
			if ip == nil || !n.Subnet.Contains(ip) || ip.Equal(n.Subnet.IP) || ip.Equal(broadcast(n.Subnet)) {
				return fmt.Errorf("network %s: address %s for %s is not a host address of subnet %s: %w", network, requested, container, n.Subnet, ErrIPOutOfRange)
			}
			if ip.Equal(n.Gateway) {
				return fmt.Errorf("network %s: address %s for %s is the gateway: %w", network, ip, container, ErrIPInUse)
			}
			if other, ok := used[u32(ip)]; ok {
				return fmt.Errorf("network %s: address %s for %s is held by %s: %w", network, ip, container, other, ErrIPInUse)
			}
			out = ip
		} else {
			r := n.Subnet
			if n.IPRange != nil {
				r = n.IPRange
			}
			lo, hi := u32(r.IP), u32(broadcast(r))
			netw, bcast, gw := u32(n.Subnet.IP), u32(broadcast(n.Subnet)), u32(n.Gateway)
			for v := lo; v <= hi && v >= lo; v++ {
				if v == netw || v == bcast || v == gw {
					continue
				}
				if _, ok := used[v]; !ok {
					out = fromU32(v)
					break
				}
			}
			if out == nil {
				return fmt.Errorf("network %s: %s for %s: %w", network, r, container, ErrRangeExhausted)
			}
		}
		if nr.IPs == nil {
			nr.IPs = map[string]string{}
		}
		nr.IPs[container] = out.String()
		return nil
	})
	return out, err
}

// ReleaseIP frees container's address on network; releasing what is not
// held is not an error.
func (a *Allocator) ReleaseIP(ctx context.Context, network, container string) error {
	return a.update(ctx, true, func(rec *record) error {
		if nr, ok := rec.Networks[network]; ok {
			delete(nr.IPs, container)
		}
		return nil
	})
}

// ReleaseSubnet frees network's subnet and every address on it.
func (a *Allocator) ReleaseSubnet(ctx context.Context, network string) error {
	return a.update(ctx, true, func(rec *record) error {
		delete(rec.Networks, network)
		return nil
	})
}

// Get returns network's allocation; ErrNoNetwork when it has none.
func (a *Allocator) Get(ctx context.Context, network string) (Network, error) {
	var out Network
	err := a.update(ctx, false, func(rec *record) error {
		nr, ok := rec.Networks[network]
		if !ok {
			return fmt.Errorf("network %s: %w", network, ErrNoNetwork)
		}
		n, err := nr.decode()
		out = n
		return err
	})
	return out, err
}

// Networks returns the names of all networks holding an allocation, sorted.
func (a *Allocator) Networks(ctx context.Context) ([]string, error) {
	var out []string
	err := a.update(ctx, false, func(rec *record) error {
		for name := range rec.Networks {
			out = append(out, name)
		}
		sort.Strings(out)
		return nil
	})
	return out, err
}

func encode(n Network) *netRecord {
	nr := &netRecord{Subnet: n.Subnet.String(), Gateway: n.Gateway.String(), IPs: map[string]string{}}
	if n.IPRange != nil {
		nr.IPRange = n.IPRange.String()
	}
	for c, ip := range n.IPs {
		nr.IPs[c] = ip.String()
	}
	return nr
}

func (nr *netRecord) decode() (Network, error) {
	_, s, err := net.ParseCIDR(nr.Subnet)
	if err != nil {
		return Network{}, fmt.Errorf("bad subnet record %q: %w", nr.Subnet, err)
	}
	n := Network{Subnet: s, Gateway: net.ParseIP(nr.Gateway).To4(), IPs: map[string]net.IP{}}
	if nr.IPRange != "" {
		if _, r, err := net.ParseCIDR(nr.IPRange); err == nil {
			n.IPRange = r
		}
	}
	for c, ip := range nr.IPs {
		n.IPs[c] = net.ParseIP(ip).To4()
	}
	return n, nil
}

func canonical(n *net.IPNet) *net.IPNet {
	ip := n.IP.To4()
	if ip == nil {
		return n
	}
	ones, _ := n.Mask.Size()
	m := net.CIDRMask(ones, 32)
	return &net.IPNet{IP: ip.Mask(m), Mask: m}
}

func overlaps(a, b *net.IPNet) bool { return a.Contains(b.IP) || b.Contains(a.IP) }

// contains reports whether inner lies entirely inside outer.
func contains(outer, inner *net.IPNet) bool {
	oo, _ := outer.Mask.Size()
	io, _ := inner.Mask.Size()
	return io >= oo && outer.Contains(inner.IP)
}

func broadcast(n *net.IPNet) net.IP {
	ip := n.IP.To4()
	out := make(net.IP, 4)
	for i := range out {
		out[i] = ip[i] | ^n.Mask[len(n.Mask)-4+i]
	}
	return out
}

func u32(ip net.IP) uint32              { return binary.BigEndian.Uint32(ip.To4()) }
func fromU32(v uint32) net.IP           { ip := make(net.IP, 4); binary.BigEndian.PutUint32(ip, v); return ip }
func addU32(ip net.IP, d uint32) net.IP { return fromU32(u32(ip) + d) }
