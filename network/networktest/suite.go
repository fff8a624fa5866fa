package networktest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/berth-dev/berth/network"
)

// TestHost is the conformance suite of network.Host: what the engine
// relies on, observed through the interface alone. newHost returns the
// Host to test; subnet is a /24 the suite may put a bridge on (for the
// real kernel, one no route of the host uses). Everything it makes goes,
// even when it fails.
func TestHost(t *testing.T, newHost func(t *testing.T) network.Host, subnet *net.IPNet) {
	t.Run("Netns", func(t *testing.T) { testNetns(t, newHost(t)) })
	t.Run("Bridge", func(t *testing.T) { testBridge(t, newHost(t), subnet) })
	t.Run("Attach", func(t *testing.T) { testAttach(t, newHost(t), subnet) })
	t.Run("Routes", func(t *testing.T) {
		if _, err := newHost(t).Routes(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Lock", func(t *testing.T) { testLock(t, newHost(t)) })
}

func rnd() string { return fmt.Sprintf("%06x", rand.Uint32()&0xffffff) }

// netns makes a namespace on a fresh path, deleted at cleanup.
func netns(t *testing.T, h network.Host) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "netns", "c"+rnd())
	if err := h.CreateNetns(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.DeleteNetns(path); err != nil {
			t.Error(err)
		}
	})
	return path
}

// bridge makes a bridge on subnet, its gateway .1, deleted at cleanup.
func bridge(t *testing.T, h network.Host, subnet *net.IPNet) network.BridgeConfig {
	t.Helper()
	gw := append(net.IP(nil), subnet.IP.To4()...)
	gw[3] = 1
	c := network.BridgeConfig{Name: "btbrc" + rnd(), NetworkID: "conformance-" + rnd(), Subnet: subnet, Gateway: gw}
	ctx := context.Background()
	if err := h.EnsureBridge(ctx, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.DeleteBridge(ctx, c.Name, c.NetworkID); err != nil {
			t.Error(err)
		}
	})
	return c
}

// testNetns: a path holds one namespace; deleting one twice is no error.
func testNetns(t *testing.T, h network.Host) {
	path := netns(t, h)
	if err := h.CreateNetns(path); !errors.Is(err, network.ErrNetnsExists) {
		t.Errorf("second CreateNetns on %s: %v, want ErrNetnsExists", path, err)
	}
	if err := h.DeleteNetns(path); err != nil {
		t.Fatal(err)
	}
	if err := h.DeleteNetns(path); err != nil {
		t.Errorf("deleting a deleted namespace: %v", err)
	}
	if err := h.CreateNetns(path); err != nil {
		t.Errorf("a path is free again once its namespace is deleted: %v", err)
	}
}

// testBridge: EnsureBridge is idempotent and refuses a bridge of another
// owner; DeleteBridge leaves another owner's bridge alone and is no error
// on a missing one.
func testBridge(t *testing.T, h network.Host, subnet *net.IPNet) {
	ctx := t.Context()
	c := bridge(t, h, subnet)
	if err := h.EnsureBridge(ctx, c); err != nil {
		t.Errorf("second EnsureBridge: %v", err)
	}
	other := c
	other.NetworkID = "conformance-other"
	if err := h.EnsureBridge(ctx, other); !errors.Is(err, network.ErrForeignLink) {
		t.Errorf("EnsureBridge of another owner's bridge: %v, want ErrForeignLink", err)
	}
	if err := h.DeleteBridge(ctx, c.Name, other.NetworkID); err != nil {
		t.Errorf("DeleteBridge by another owner: %v", err)
	}
	if err := h.EnsureBridge(ctx, other); !errors.Is(err, network.ErrForeignLink) {
		t.Errorf("another owner's DeleteBridge deleted the bridge: %v", err)
	}
	if err := h.DeleteBridge(ctx, c.Name, c.NetworkID); err != nil {
		t.Fatal(err)
	}
	if err := h.DeleteBridge(ctx, c.Name, c.NetworkID); err != nil {
		t.Errorf("deleting a deleted bridge: %v", err)
	}
	if err := h.EnsureBridge(ctx, network.BridgeConfig{Name: "a-name-over-15-chars", NetworkID: "x"}); err == nil {
		t.Error("a bridge name over 15 characters was taken")
	}
}

// testAttach: a veth needs its bridge (ErrNoBridge) and a valid name; a
// second Attach of one interface replaces it; Detach is no error twice.
func testAttach(t *testing.T, h network.Host, subnet *net.IPNet) {
	ctx := t.Context()
	path := netns(t, h)
	ip := append(net.IP(nil), subnet.IP.To4()...)
	ip[3] = 2
	a := network.Attachment{NetnsPath: path, Bridge: "btcmissing" + rnd()[:4], IfName: "eth0",
		Address: &net.IPNet{IP: ip, Mask: subnet.Mask}, DefaultRoute: true}
	if err := h.Attach(ctx, a); !errors.Is(err, network.ErrNoBridge) {
		t.Errorf("Attach to a missing bridge: %v, want ErrNoBridge", err)
	}
	c := bridge(t, h, subnet)
	a.Bridge, a.Gateway = c.Name, c.Gateway
	bad := a
	bad.IfName = "an-interface-name"
	if err := h.Attach(ctx, bad); err == nil {
		t.Error("an interface name over 15 characters was taken")
	}
	if err := h.Attach(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := h.Attach(ctx, a); err != nil {
		t.Errorf("Attach again (a stale pair): %v", err)
	}
	if err := h.Detach(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := h.Detach(ctx, a); err != nil {
		t.Errorf("detaching a detached veth: %v", err)
	}
}

// testLock: one holder at a time; a waiter gives up with its context.
func testLock(t *testing.T, h network.Host) {
	unlock, err := h.Lock(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if u, err := h.Lock(ctx); err == nil {
		u()
		t.Error("a second holder got the lock")
	}
	unlock()
	u, err := h.Lock(t.Context())
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	u()
}
