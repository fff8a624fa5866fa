package supervisor

import (
	"testing"

	"github.com/berth-dev/berth/engine/state"
)

func TestNamedNetworks(t *testing.T) {
	all := []state.Attachment{{Network: state.DefaultBridge, IP: "10.89.0.2"}, {Network: "shared", IP: "10.89.1.2"}}
	got := namedNetworks(all)
	if len(got) != 1 || got[0].Network != "shared" {
		t.Errorf("namedNetworks = %+v, want only shared (no names on the default bridge)", got)
	}
	if got := namedNetworks(all[:1]); len(got) != 0 {
		t.Errorf("default bridge only: %+v, want none (no resolver)", got)
	}
}
