package engine

import "github.com/berth-dev/berth/network/nft"

// Firewall is what the engine asks of the host's packet filter: berth's
// nftables table (network/nft.Firewall). The engine makes one in New and
// shares it (its calls are serialized); tests inject their own
// (WithFirewall).
type Firewall interface {
	AddNetwork(nft.NetworkRules) error
	RemoveNetwork(id string) error
	AddPorts(nft.ContainerPorts) error
	RemovePorts(containerID string) error
	Published() ([]nft.PublishedPort, error)
	// Cleanup deletes berth's table when no rule is left in it.
	Cleanup() (bool, error)
}

// WithFirewall replaces the host's nftables firewall.
func WithFirewall(fw Firewall) Opt { return func(e *Engine) { e.firewall = fw } }

// newFirewall opens berth's nftables table. Where nftables cannot be
// reached, every call fails with why, as each call did when it opened the
// table itself: commands that touch no rule still work.
func newFirewall() Firewall {
	fw, err := nft.New()
	if err != nil {
		return brokenFirewall{err}
	}
	return fw
}

type brokenFirewall struct{ err error }

func (b brokenFirewall) AddNetwork(nft.NetworkRules) error       { return b.err }
func (b brokenFirewall) RemoveNetwork(string) error              { return b.err }
func (b brokenFirewall) AddPorts(nft.ContainerPorts) error       { return b.err }
func (b brokenFirewall) RemovePorts(string) error                { return b.err }
func (b brokenFirewall) Published() ([]nft.PublishedPort, error) { return nil, b.err }
func (b brokenFirewall) Cleanup() (bool, error)                  { return false, b.err }
