package networktest

import (
	"net"
	"slices"
	"testing"

	"github.com/berth-dev/berth/network"
)

// TestFakeHost runs the conformance suite on the in-memory Host.
func TestFakeHost(t *testing.T) {
	_, subnet, _ := net.ParseCIDR("10.231.201.0/24")
	TestHost(t, func(*testing.T) network.Host { return NewHost() }, subnet)
}

// TestFakeHostRecords: the fake records its calls, fails a method on
// demand, and a deleted namespace takes its veths along.
func TestFakeHostRecords(t *testing.T) {
	_, subnet, _ := net.ParseCIDR("10.231.202.0/24")
	h := NewHost()
	ctx := t.Context()
	if err := h.EnsureBridge(ctx, network.BridgeConfig{Name: "br0", NetworkID: "n1", Subnet: subnet}); err != nil {
		t.Fatal(err)
	}
	if err := h.CreateNetns("/ns/a"); err != nil {
		t.Fatal(err)
	}
	a := network.Attachment{NetnsPath: "/ns/a", Bridge: "br0", IfName: "eth0"}
	if err := h.Attach(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got := h.Attachments("/ns/a"); len(got) != 1 || got[0].IfName != "eth0" {
		t.Errorf("attachments %+v", got)
	}
	if err := h.DeleteNetns("/ns/a"); err != nil {
		t.Fatal(err)
	}
	if got := h.Attachments("/ns/a"); len(got) != 0 {
		t.Errorf("veths outlived their namespace: %+v", got)
	}
	want := []string{"EnsureBridge br0", "CreateNetns /ns/a", "Attach /ns/a eth0 br0", "DeleteNetns /ns/a"}
	if got := h.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	h.Errs = map[string]error{"CreateNetns": network.ErrNetnsExists}
	if err := h.CreateNetns("/ns/b"); err != network.ErrNetnsExists {
		t.Errorf("injected error: %v", err)
	}
	if ns := h.Netns(); len(ns) != 0 {
		t.Errorf("a failed CreateNetns made %q", ns)
	}
}
