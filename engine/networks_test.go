package engine

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/network"
)

// TestCreateNetwork: a network gets its subnet (the one asked, or the
// pool's next free one), its bridge (driver_opts' name and MTU) and its
// firewall rules, under the host network lock; creating it again returns
// the record and touches nothing.
func TestCreateNetwork(t *testing.T) {
	nt := newNetTest(t)
	rec, err := nt.e.CreateNetwork(t.Context(), NetworkSpec{
		Name: "p_data", Project: "p", Key: "data", Subnet: "10.250.40.0/24", Gateway: "10.250.40.254", IPRange: "10.250.40.128/25",
		Internal: true, DriverOpts: map[string]string{"com.docker.network.driver.mtu": "1400", "com.docker.network.bridge.name": "berthdata0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Subnet != "10.250.40.0/24" || rec.Gateway != "10.250.40.254" || rec.IPRange != "10.250.40.128/25" ||
		rec.Bridge != "berthdata0" || rec.MTU != 1400 || !rec.Internal || len(rec.ID) != 64 {
		t.Errorf("record %+v", rec)
	}
	br, ok := nt.h.Bridge("berthdata0")
	if !ok || br.NetworkID != rec.ID || br.MTU != 1400 || br.Gateway.String() != "10.250.40.254" || br.Subnet.String() != "10.250.40.0/24" || !br.Internal {
		t.Errorf("bridge %+v (exists %v)", br, ok)
	}
	if fw, ok := nt.fw.Network(rec.ID); !ok || fw.Bridge != "berthdata0" || !fw.Internal {
		t.Errorf("firewall rules %+v (exist %v)", fw, ok)
	}
	if calls := nt.h.Calls(); !slices.Equal(calls, []string{"Lock", "EnsureBridge berthdata0"}) {
		t.Errorf("host calls %q", calls)
	}

	again, err := nt.e.CreateNetwork(t.Context(), NetworkSpec{Name: "p_data"})
	if err != nil || again.ID != rec.ID {
		t.Errorf("again: %+v, %v", again, err)
	}
	if n := len(nt.h.Calls()); n != 2 {
		t.Errorf("creating it again asked the host: %q", nt.h.Calls())
	}

	auto, err := nt.e.CreateNetwork(t.Context(), NetworkSpec{Name: "p_auto"})
	if err != nil {
		t.Fatal(err)
	}
	// the host's route on 10.250.0.0/24 is skipped
	if auto.Subnet != "10.250.1.0/24" || auto.Gateway != "10.250.1.1" || auto.Bridge != network.BridgeName(auto.ID) {
		t.Errorf("pool network %+v", auto)
	}
}

// TestCreateNetworkRefusesBadSpecs: every field of a bad spec is refused
// by name before anything is made.
func TestCreateNetworkRefusesBadSpecs(t *testing.T) {
	nt := newNetTest(t)
	for _, tc := range []struct {
		spec NetworkSpec
		want string
	}{
		{NetworkSpec{Name: "bridge"}, "predefined bridge network"},
		{NetworkSpec{Name: "a b"}, "a b"},
		{NetworkSpec{Name: "nn", Subnet: "10.250.5.0"}, `network nn: ipam subnet "10.250.5.0"`},
		{NetworkSpec{Name: "nn", IPRange: "x"}, `network nn: ipam ip_range "x"`},
		{NetworkSpec{Name: "nn", Gateway: "fe80::1"}, `network nn: ipam gateway "fe80::1" is not an IPv4 address`},
		{NetworkSpec{Name: "nn", DriverOpts: map[string]string{"com.docker.network.driver.mtu": "60"}}, "com.docker.network.driver.mtu \"60\": want a number ≥ 68"},
		{NetworkSpec{Name: "nn", DriverOpts: map[string]string{"com.docker.network.driver.mtu": "big"}}, "want a number ≥ 68"},
		{NetworkSpec{Name: "nn", DriverOpts: map[string]string{"com.docker.network.bridge.name": "a-very-long-bridge"}}, `bridge name "a-very-long-bridge" is longer than 15 characters`},
		{NetworkSpec{Name: "nn", Subnet: "10.250.6.0/24", Gateway: "10.250.7.1"}, "network nn:"},
	} {
		_, err := nt.e.CreateNetwork(t.Context(), tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.spec, err, tc.want)
		}
	}
	for _, c := range nt.h.Calls() {
		if c != "Lock" && c != "Routes" {
			t.Errorf("a refused spec made %s", c)
		}
	}
	if recs, _ := nt.e.networks().List(); len(recs) != 0 {
		t.Errorf("records left: %+v", recs)
	}
}

// TestCreateNetworkFailureLeavesNothing: a bridge that cannot be made (or
// whose name a foreign interface holds) fails the create, and its record,
// rules and subnet go: the same subnet can be asked again.
func TestCreateNetworkFailureLeavesNothing(t *testing.T) {
	nt := newNetTest(t)
	nt.h.AddForeignLink("eth9")
	spec := NetworkSpec{Name: "p_x", Subnet: "10.250.50.0/24", DriverOpts: map[string]string{"com.docker.network.bridge.name": "eth9"}}
	_, err := nt.e.CreateNetwork(t.Context(), spec)
	if !errors.Is(err, network.ErrForeignLink) || !strings.Contains(err.Error(), "network p_x") {
		t.Fatalf("err = %v", err)
	}
	if _, err := nt.e.networks().Get("p_x"); err == nil {
		t.Error("the record of the failed network is left")
	}
	if calls := nt.fw.Calls(); !slices.Contains(calls, "Cleanup") {
		t.Errorf("firewall calls %q: no Cleanup of the table", calls)
	}
	if calls := nt.h.Calls(); !slices.Contains(calls, "DeleteBridge eth9") {
		t.Errorf("host calls %q: no DeleteBridge", calls)
	}
	if _, ok := nt.h.Bridge("eth9"); ok {
		t.Error("the foreign link became a bridge")
	}
	delete(spec.DriverOpts, "com.docker.network.bridge.name")
	if rec, err := nt.e.CreateNetwork(t.Context(), spec); err != nil || rec.Subnet != "10.250.50.0/24" {
		t.Errorf("the subnet is not free again: %+v, %v", rec, err)
	}
}

// TestRemoveNetwork: removing a network deletes its rules, its bridge
// and the table when nothing is left in it; a network a container uses
// stays.
func TestRemoveNetwork(t *testing.T) {
	nt := newNetTest(t)
	rec, err := nt.e.CreateNetwork(t.Context(), NetworkSpec{Name: "p_r"})
	if err != nil {
		t.Fatal(err)
	}
	if err := nt.e.RemoveNetwork(t.Context(), "p_r"); err != nil {
		t.Fatal(err)
	}
	if _, ok := nt.h.Bridge(rec.Bridge); ok {
		t.Error("bridge left")
	}
	if _, ok := nt.fw.Network(rec.ID); ok {
		t.Error("rules left")
	}
	if calls := nt.fw.Calls(); !slices.Equal(calls[len(calls)-2:], []string{"RemoveNetwork " + rec.ID, "Cleanup"}) {
		t.Errorf("firewall calls %q", calls)
	}
}
