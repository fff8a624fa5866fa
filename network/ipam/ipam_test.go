package ipam

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
)

func cidr(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fakeRoutes is a host routing table the test controls.
type fakeRoutes struct {
	mu     sync.Mutex
	routes []*net.IPNet
}

func (f *fakeRoutes) list() ([]*net.IPNet, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*net.IPNet(nil), f.routes...), nil
}

func (f *fakeRoutes) add(n *net.IPNet) { f.mu.Lock(); f.routes = append(f.routes, n); f.mu.Unlock() }

func newAlloc(t *testing.T, routes *fakeRoutes, opts ...Opt) *Allocator {
	t.Helper()
	a, err := New(t.TempDir(), append([]Opt{WithRouteLister(routes.list)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAllocateSubnetSkipsRoutesAndOthers(t *testing.T) {
	ctx := t.Context()
	routes := &fakeRoutes{routes: []*net.IPNet{
		cidr(t, "0.0.0.0/0"),    // default route: ignored
		cidr(t, "10.89.0.0/24"), // a podman bridge
		cidr(t, "10.89.2.128/25"),
		cidr(t, "fd00::/64"),
	}}
	a := newAlloc(t, routes)
	s1, gw1, err := a.AllocateSubnet(ctx, "p_default", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s1.String() != "10.89.1.0/24" || gw1.String() != "10.89.1.1" {
		t.Fatalf("first subnet = %s gw %s, want 10.89.1.0/24 gw 10.89.1.1", s1, gw1)
	}
	s2, _, err := a.AllocateSubnet(ctx, "p_back", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s2.String() != "10.89.3.0/24" {
		t.Fatalf("second subnet = %s, want 10.89.3.0/24", s2)
	}
	// A route appearing later is seen on the next allocation.
	routes.add(cidr(t, "10.89.4.0/23"))
	s3, _, err := a.AllocateSubnet(ctx, "q_default", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s3.String() != "10.89.6.0/24" {
		t.Fatalf("third subnet = %s, want 10.89.6.0/24", s3)
	}
	// Idempotent.
	again, _, err := a.AllocateSubnet(ctx, "p_default", nil)
	if err != nil || again.String() != s1.String() {
		t.Fatalf("again = %v, %v; want %s", again, err, s1)
	}
	// Released subnets are reused.
	if err := a.ReleaseSubnet(ctx, "p_default"); err != nil {
		t.Fatal(err)
	}
	s4, _, _ := a.AllocateSubnet(ctx, "r_default", nil)
	if s4.String() != "10.89.1.0/24" {
		t.Fatalf("after release = %s, want 10.89.1.0/24", s4)
	}
}

func TestAllocateSubnetExplicit(t *testing.T) {
	ctx := t.Context()
	a := newAlloc(t, &fakeRoutes{})
	n, err := a.AllocateNetwork(ctx, "p_front", Request{
		Subnet: cidr(t, "172.28.5.7/16"), Gateway: net.ParseIP("172.28.5.254"), IPRange: cidr(t, "172.28.5.0/24"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n.Subnet.String() != "172.28.0.0/16" || n.Gateway.String() != "172.28.5.254" || n.IPRange.String() != "172.28.5.0/24" {
		t.Fatalf("got %+v", n)
	}
	_, _, err = a.AllocateSubnet(ctx, "q_other", cidr(t, "172.28.9.0/24"))
	if !errors.Is(err, ErrSubnetConflict) {
		t.Fatalf("overlap err = %v, want ErrSubnetConflict", err)
	}
	for _, want := range []string{"q_other", "172.28.9.0/24", "p_front"} {
		if !contains2(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// Auto allocation skips the explicit one too.
	if _, err := a.AllocateNetwork(ctx, "bad_gw", Request{Subnet: cidr(t, "10.1.0.0/24"), Gateway: net.ParseIP("10.2.0.1")}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("gateway outside subnet: %v", err)
	}
	if _, err := a.AllocateNetwork(ctx, "bad_range", Request{Subnet: cidr(t, "10.1.0.0/24"), IPRange: cidr(t, "10.1.0.0/16")}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("range outside subnet: %v", err)
	}
}

func contains2(s, sub string) bool { return strings.Contains(s, sub) }

func TestPoolExhausted(t *testing.T) {
	ctx := t.Context()
	a := newAlloc(t, &fakeRoutes{}, WithPool(cidr(t, "10.200.0.0/23"), 24))
	for _, n := range []string{"a", "b"} {
		if _, _, err := a.AllocateSubnet(ctx, n, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := a.AllocateSubnet(ctx, "c", nil); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("err = %v, want ErrPoolExhausted", err)
	}
}

func TestAllocateIP(t *testing.T) {
	ctx := t.Context()
	a := newAlloc(t, &fakeRoutes{})
	if _, err := a.AllocateIP(ctx, "nope", "c1", nil); !errors.Is(err, ErrNoNetwork) {
		t.Fatalf("unknown network: %v", err)
	}
	if _, err := a.AllocateNetwork(ctx, "n", Request{Subnet: cidr(t, "10.9.0.0/29"), Gateway: net.ParseIP("10.9.0.2")}); err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, c := range []string{"c1", "c2", "c3", "c4", "c5"} {
		ip, err := a.AllocateIP(ctx, "n", c, nil)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		got = append(got, ip.String())
	}
	want := []string{"10.9.0.1", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"}
	if len(got) != len(want) {
		t.Fatal(got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("addresses = %v, want %v", got, want)
		}
	}
	if _, err := a.AllocateIP(ctx, "n", "c6", nil); !errors.Is(err, ErrRangeExhausted) {
		t.Fatalf("full: %v", err)
	}
	if ip, _ := a.AllocateIP(ctx, "n", "c2", nil); ip.String() != "10.9.0.3" {
		t.Fatalf("same container again = %s", ip)
	}
	if _, err := a.AllocateIP(ctx, "n", "c6", net.ParseIP("10.9.0.4")); !errors.Is(err, ErrIPInUse) {
		t.Fatalf("taken: %v", err)
	}
	if _, err := a.AllocateIP(ctx, "n", "c6", net.ParseIP("10.9.0.2")); !errors.Is(err, ErrIPInUse) {
		t.Fatalf("gateway: %v", err)
	}
	if _, err := a.AllocateIP(ctx, "n", "c6", net.ParseIP("10.9.0.7")); !errors.Is(err, ErrIPOutOfRange) {
		t.Fatalf("broadcast: %v", err)
	}
	if err := a.ReleaseIP(ctx, "n", "c3"); err != nil {
		t.Fatal(err)
	}
	if ip, err := a.AllocateIP(ctx, "n", "c6", net.ParseIP("10.9.0.4")); err != nil || ip.String() != "10.9.0.4" {
		t.Fatalf("after release: %v %v", ip, err)
	}
	n, err := a.Get(ctx, "n")
	if err != nil || len(n.IPs) != 5 {
		t.Fatalf("Get = %+v, %v", n, err)
	}
}

func TestAllocateIPWithinRange(t *testing.T) {
	ctx := t.Context()
	a := newAlloc(t, &fakeRoutes{})
	if _, err := a.AllocateNetwork(ctx, "n", Request{Subnet: cidr(t, "10.9.0.0/24"), IPRange: cidr(t, "10.9.0.128/30")}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"10.9.0.128", "10.9.0.129", "10.9.0.130", "10.9.0.131"} {
		ip, err := a.AllocateIP(ctx, "n", string(rune('a'+i)), nil)
		if err != nil || ip.String() != want {
			t.Fatalf("ip %d = %v, %v; want %s", i, ip, err, want)
		}
	}
	if _, err := a.AllocateIP(ctx, "n", "z", nil); !errors.Is(err, ErrRangeExhausted) {
		t.Fatalf("range full: %v", err)
	}
	// An explicit address outside the range but inside the subnet is fine.
	if ip, err := a.AllocateIP(ctx, "n", "z", net.ParseIP("10.9.0.7")); err != nil || ip.String() != "10.9.0.7" {
		t.Fatalf("explicit: %v %v", ip, err)
	}
}

// Two allocators on one state root (as two processes would be) never hand
// out the same subnet or address.
func TestConcurrentAllocators(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	routes := &fakeRoutes{}
	var wg sync.WaitGroup
	subnets := make([]string, 16)
	errs := make([]error, 16)
	for i := range subnets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, _ := New(dir, WithRouteLister(routes.list))
			s, _, err := a.AllocateSubnet(ctx, string(rune('a'+i)), nil)
			if err == nil {
				subnets[i] = s.String()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, s := range subnets {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[s] {
			t.Fatalf("subnet %s handed out twice", s)
		}
		seen[s] = true
	}
	a, _ := New(dir, WithRouteLister(routes.list))
	names, _ := a.Networks(ctx)
	if len(names) != 16 {
		t.Fatalf("networks = %v", names)
	}
}

func TestNewRejectsBadPool(t *testing.T) {
	if _, err := New(t.TempDir(), WithPool(cidr(t, "10.0.0.0/24"), 16)); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("err = %v", err)
	}
}
