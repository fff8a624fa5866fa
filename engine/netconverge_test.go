package engine

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/engine/state"
)

func TestNetworkChange(t *testing.T) {
	rec := &state.Network{Name: "p_default", Bridge: "br-1", Subnet: "10.215.31.0/24", Gateway: "10.215.31.1", MTU: 0}
	cases := []struct {
		spec NetworkSpec
		want string
	}{
		{NetworkSpec{}, ""}, // nothing asked: berth's choice stands
		{NetworkSpec{Subnet: "10.215.31.0/24"}, ""},
		{NetworkSpec{Subnet: "10.215.31.7/24"}, ""}, // the same network
		{NetworkSpec{Subnet: "10.215.32.0/24"}, "ipam subnet 10.215.31.0/24 → 10.215.32.0/24"},
		{NetworkSpec{Gateway: "10.215.31.254"}, "ipam gateway 10.215.31.1 → 10.215.31.254"},
		{NetworkSpec{Internal: true}, "internal false → true"},
		{NetworkSpec{DriverOpts: map[string]string{"com.docker.network.driver.mtu": "1400"}}, "mtu 0 → 1400"},
		{NetworkSpec{Subnet: "10.215.32.0/24", Internal: true}, "ipam subnet 10.215.31.0/24 → 10.215.32.0/24, internal false → true"},
	}
	for _, c := range cases {
		if got := networkChange(rec, c.spec); got != c.want {
			t.Errorf("networkChange(%+v) = %q, want %q", c.spec, got, c.want)
		}
	}
}

func TestPlanNetworkChanged(t *testing.T) {
	d := Desired{Service: "web", Replicas: 1, Hash: "h", Config: []byte(`{}`)}
	p := NewPlan("p", []Desired{d}, []Observed{obs("web", 1, "h", state.StatusRunning, `{}`)},
		PlanOptions{NetworkChanged: map[string]string{"web": `network "default" changed: ipam subnet a → b`}})
	if got := p.String(); !strings.HasPrefix(got, `recreate p-web-1 (network "default" changed: ipam subnet a → b: networks)`) {
		t.Errorf("plan:\n%s", got)
	}
	p = NewPlan("p", []Desired{d}, []Observed{obs("web", 1, "h", state.StatusRunning, `{}`)},
		PlanOptions{NoRecreate: true, NetworkChanged: map[string]string{"web": "x"}})
	if p.Steps[0].Action != ActionKeep {
		t.Errorf("--no-recreate: %s", p.String())
	}
}
