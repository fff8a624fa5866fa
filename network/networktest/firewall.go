package networktest

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/berth-dev/berth/network/nft"
)

// Firewall is an in-memory packet filter with the calls of berth's
// nftables table (nft.Firewall): a network's rules and a container's
// published ports are entries, replaced when added again, and Published
// reads the ports back as the real table does. Every call is recorded.
// The zero value is ready to use.
type Firewall struct {
	// Errs makes the named method ("AddPorts", …) fail with that error,
	// after recording the call.
	Errs map[string]error

	mu       sync.Mutex
	calls    []string
	networks map[string]nft.NetworkRules
	ports    map[string]nft.ContainerPorts
}

func (f *Firewall) call(method, args string) error {
	if f.networks == nil {
		f.networks = map[string]nft.NetworkRules{}
		f.ports = map[string]nft.ContainerPorts{}
	}
	err := f.Errs[method]
	if args != "" {
		method += " " + args
	}
	f.calls = append(f.calls, method)
	return err
}

// Calls returns the calls made so far, "Method args" each, in order:
// "AddNetwork ID", "RemoveNetwork ID", "AddPorts CONTAINER", "RemovePorts
// CONTAINER", "Published", "Cleanup".
func (f *Firewall) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Network returns the rules of a network, if it has some.
func (f *Firewall) Network(id string) (nft.NetworkRules, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.networks[id]
	return n, ok
}

// Ports returns a container's published ports, if it has some.
func (f *Firewall) Ports(containerID string) (nft.ContainerPorts, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.ports[containerID]
	return p, ok
}

// AddNetwork adds or replaces a network's rules.
func (f *Firewall) AddNetwork(n nft.NetworkRules) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("AddNetwork", n.ID); err != nil {
		return err
	}
	if n.ID == "" || n.Bridge == "" || n.Subnet == nil || n.Subnet.IP.To4() == nil {
		return fmt.Errorf("network %q: id, bridge and an IPv4 subnet are required", n.ID)
	}
	f.networks[n.ID] = n
	return nil
}

// RemoveNetwork drops a network's rules.
func (f *Firewall) RemoveNetwork(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("RemoveNetwork", id); err != nil {
		return err
	}
	delete(f.networks, id)
	return nil
}

// AddPorts adds or replaces a container's published ports.
func (f *Firewall) AddPorts(cp nft.ContainerPorts) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("AddPorts", cp.ContainerID); err != nil {
		return err
	}
	if cp.ContainerID == "" || cp.ContainerIP.To4() == nil {
		return fmt.Errorf("container %q: id and an IPv4 address are required", cp.ContainerID)
	}
	cp.Ports = slices.Clone(cp.Ports)
	f.ports[cp.ContainerID] = cp
	return nil
}

// RemovePorts drops a container's published ports.
func (f *Firewall) RemovePorts(containerID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("RemovePorts", containerID); err != nil {
		return err
	}
	delete(f.ports, containerID)
	return nil
}

// Published lists every published port, by container ID then as added.
func (f *Firewall) Published() ([]nft.PublishedPort, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Published", ""); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(f.ports))
	for id := range f.ports {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []nft.PublishedPort
	for _, id := range ids {
		for _, b := range f.ports[id].Ports {
			out = append(out, nft.PublishedPort{ContainerID: id, Port: b})
		}
	}
	return out, nil
}

// Cleanup deletes the table when it holds no network and no port, and
// reports whether none is left (also when there was none).
func (f *Firewall) Cleanup() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("Cleanup", ""); err != nil {
		return false, err
	}
	if len(f.networks) > 0 || len(f.ports) > 0 {
		return false, nil
	}
	return true, nil
}
