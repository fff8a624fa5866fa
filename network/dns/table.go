package dns

import (
	"net"
	"slices"
	"strings"
	"sync"
)

// Resolver answers names for a container. The supervisor's Table is the
// real one; tests may use any other.
type Resolver interface {
	// Lookup returns the IPv4 addresses of name as seen by the container
	// asking from askerIP, and whether the name is known to it.
	Lookup(askerIP net.IP, name string) ([]net.IP, bool)
}

// Record is one container's presence on one network.
type Record struct {
	Network   string   // the network's name
	IP        net.IP   // the container's address on it
	Names     []string // service name, aliases, container name, hostname…
	Container string   // optional: ties a container's records on several networks together
}

// Table is the record table of a project's containers. Safe for
// concurrent use.
type Table struct {
	mu     sync.RWMutex
	recs   []Record
	turnMu sync.Mutex
	turns  map[string]uint64 // per name
	peers  func(network string) []Record
}

// SetPeers gives the table the records of other tables' containers on a
// network (other projects', standalone containers'), asked for a name
// none of its own records has, as Docker's DNS answers for every
// container of a shared network.
func (t *Table) SetPeers(fn func(network string) []Record) {
	t.mu.Lock()
	t.peers = fn
	t.mu.Unlock()
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{} }

// Add adds a record; a record for the same network and IP is replaced.
func (t *Table) Add(r Record) {
	r.IP = r.IP.To4()
	names := make([]string, 0, len(r.Names))
	for _, n := range r.Names {
		if n = normalize(n); n != "" {
			names = append(names, n)
		}
	}
	r.Names = names
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, old := range t.recs {
		if old.Network == r.Network && old.IP.Equal(r.IP) {
			t.recs[i] = r
			return
		}
	}
	t.recs = append(t.recs, r)
}

// Remove drops every record of ip (on every network).
func (t *Table) Remove(ip net.IP) {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept := t.recs[:0]
	for _, r := range t.recs {
		if !r.IP.Equal(ip) {
			kept = append(kept, r)
		}
	}
	clear(t.recs[len(kept):])
	t.recs = kept
}

// Lookup implements Resolver: the addresses of name on the networks the
// asker is on (by its address, or any record of the same Container),
// rotated by one position on every lookup of that name.
func (t *Table) Lookup(askerIP net.IP, name string) ([]net.IP, bool) {
	return t.lookup(askerIP, name, true)
}

// Known reports whether the asker can resolve name, without moving its
// rotation on (for AAAA and other queries that answer no addresses).
func (t *Table) Known(askerIP net.IP, name string) bool {
	_, ok := t.lookup(askerIP, name, false)
	return ok
}

func (t *Table) lookup(askerIP net.IP, name string, rotate bool) ([]net.IP, bool) {
	name = normalize(name)
	t.mu.RLock()
	nets := t.askerNetworks(askerIP)
	ips := t.addressesOf(nets, name)
	peers := t.peers
	t.mu.RUnlock()
	if len(ips) == 0 && peers != nil {
		ips = peerAddresses(peers, nets, name)
	}
	if len(ips) == 0 {
		return nil, false
	}
	if rotate && len(ips) > 1 {
		k := int(t.nextTurn(name) % uint64(len(ips)))
		ips = append(ips[k:], ips[:k]...)
	}
	return ips, true
}

// askerNetworks are the networks an asker is on: those of the records of
// its address, and of every record of the same container. The caller
// holds t.mu.
func (t *Table) askerNetworks(askerIP net.IP) map[string]bool {
	nets := map[string]bool{}
	ctrs := map[string]bool{}
	for _, r := range t.recs {
		if r.IP.Equal(askerIP) {
			nets[r.Network] = true
			if r.Container != "" {
				ctrs[r.Container] = true
			}
		}
	}
	for _, r := range t.recs {
		if r.Container != "" && ctrs[r.Container] {
			nets[r.Network] = true
		}
	}
	return nets
}

// addressesOf lists, once each and in record order, the addresses of the
// records on nets that answer to name (normalized). The caller holds t.mu.
func (t *Table) addressesOf(nets map[string]bool, name string) []net.IP {
	var ips []net.IP
	seen := map[string]bool{}
	for _, r := range t.recs {
		if nets[r.Network] && !seen[string(r.IP)] && slices.Contains(r.Names, name) {
			ips = append(ips, r.IP)
			seen[string(r.IP)] = true
		}
	}
	return ips
}

// peerAddresses lists, once each, the IPv4 addresses that the peers of
// nets give for name (normalized): the answer when no record here has it.
func peerAddresses(peers func(network string) []Record, nets map[string]bool, name string) []net.IP {
	var ips []net.IP
	seen := map[string]bool{}
	for n := range nets {
		for _, r := range peers(n) {
			ip := r.IP.To4()
			if seen[string(ip)] || !slices.ContainsFunc(r.Names, func(rn string) bool { return normalize(rn) == name }) {
				continue
			}
			ips = append(ips, ip)
			seen[string(ip)] = true
		}
	}
	return ips
}

// nextTurn advances the rotation of one name: each A lookup of a name
// starts its answer one replica further than the last lookup of that name.
func (t *Table) nextTurn(name string) uint64 {
	t.turnMu.Lock()
	defer t.turnMu.Unlock()
	if t.turns == nil {
		t.turns = map[string]uint64{}
	}
	t.turns[name]++
	return t.turns[name]
}

func normalize(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }
