package engine

import (
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/network/nft"
	"github.com/berth-dev/berth/network/portmap"
)

// fakeFirewall records what the engine asks of the firewall.
type fakeFirewall struct {
	removedPorts []string
	published    []nft.PublishedPort
	err          error
}

func (f *fakeFirewall) AddNetwork(nft.NetworkRules) error { return f.err }
func (f *fakeFirewall) RemoveNetwork(string) error        { return f.err }
func (f *fakeFirewall) AddPorts(nft.ContainerPorts) error { return f.err }
func (f *fakeFirewall) RemovePorts(id string) error {
	f.removedPorts = append(f.removedPorts, id)
	return f.err
}
func (f *fakeFirewall) Published() ([]nft.PublishedPort, error) { return f.published, f.err }
func (f *fakeFirewall) Cleanup() (bool, error)                  { return false, f.err }

// TestUnpublishUsesInjectedFirewall: stopping a container removes its
// rules through the engine's one firewall and frees its ports in its
// record; a firewall failure is the caller's error, naming the container.
func TestUnpublishUsesInjectedFirewall(t *testing.T) {
	fw := &fakeFirewall{}
	dir := t.TempDir()
	e, err := New(filepath.Join(dir, "root"), filepath.Join(dir, "run"), WithFirewall(fw))
	if err != nil {
		t.Fatal(err)
	}
	b := portmap.Binding{HostIP: netip.IPv4Unspecified(), HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}
	rec := &state.Container{ID: "c1", Name: "p-web-1", Ports: []portmap.Binding{b}}
	putRecord(t, e, rec)
	if err := e.unpublish(rec); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fw.removedPorts, []string{"c1"}) {
		t.Errorf("RemovePorts calls %q, want [c1]", fw.removedPorts)
	}
	got, err := e.Container("c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Ports) != 0 || len(got.Released) != 1 {
		t.Errorf("record after unpublish: ports %v released %v", got.Ports, got.Released)
	}

	fw.err = errors.New("nftables: operation not permitted")
	rec2 := &state.Container{ID: "c2", Name: "p-web-2", Ports: []portmap.Binding{b}}
	putRecord(t, e, rec2)
	if err := e.unpublish(rec2); err == nil || !errors.Is(err, fw.err) {
		t.Errorf("unpublish with a failing firewall: %v", err)
	}
}
