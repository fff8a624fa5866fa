package portmap

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// fakeHost is the host probe of the tests: the ports some host process
// holds.
type fakeHost map[string]string // "ip:port/proto" ("" ip: every address) → holder

func (h fakeHost) Check(ip netip.Addr, port uint16, proto Proto) error {
	for _, k := range []string{fmt.Sprintf(":%d/%s", port, proto), fmt.Sprintf("%s:%d/%s", addrKey(ip), port, proto)} {
		if who, ok := h[k]; ok {
			return fmt.Errorf("port %d/%s is already in use by %s", port, proto, who)
		}
	}
	if !ip.IsValid() { // every address: any holder conflicts
		for k, who := range h {
			if strings.HasSuffix(k, fmt.Sprintf(":%d/%s", port, proto)) {
				return fmt.Errorf("port %d/%s is already in use by %s", port, proto, who)
			}
		}
	}
	return nil
}

func spec(t *testing.T, s string) Spec {
	t.Helper()
	specs, err := NormalizeService(shortSyntax(t, s))
	if err != nil || len(specs) != 1 {
		t.Fatalf("%q: %v %v", s, specs, err)
	}
	return specs[0]
}

// seq returns the given numbers in turn (offsets into the random range).
func seq(ns ...int) func(int) int {
	i := 0
	return func(n int) int {
		v := ns[i%len(ns)] % n
		i++
		return v
	}
}

func TestClaimsHostIP(t *testing.T) {
	c := NewClaims()
	lo1, lo2 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	c.Add(Binding{HostIP: lo1, HostPort: 80, ContainerPort: 80, Protocol: TCP}, "a-1")
	if by, ok := c.Holder(lo2, 80, TCP); ok {
		t.Errorf("127.0.0.2:80 conflicts with 127.0.0.1:80 (held by %s)", by)
	}
	if _, ok := c.Holder(lo1, 80, UDP); ok {
		t.Error("80/udp conflicts with 80/tcp")
	}
	if by, ok := c.Holder(netip.Addr{}, 80, TCP); !ok || by != "a-1" {
		t.Errorf("every address does not conflict with 127.0.0.1:80: %q %v", by, ok)
	}
	c.Add(Binding{HostPort: 81, ContainerPort: 80, Protocol: TCP}, "b-1")
	if by, ok := c.Holder(lo2, 81, TCP); !ok || by != "b-1" {
		t.Errorf("127.0.0.2:81 does not conflict with a claim on every address: %q %v", by, ok)
	}
	if by, ok := c.Holder(netip.MustParseAddr("0.0.0.0"), 81, TCP); !ok || by != "b-1" {
		t.Errorf("0.0.0.0 is not every address: %q %v", by, ok)
	}
	c.Release("b-1")
	if _, ok := c.Holder(lo2, 81, TCP); ok {
		t.Error("a released claim still holds")
	}

	// Two services on the same port, distinct addresses, both assigned.
	a := NewAllocator(NewClaims(), fakeHost{})
	if _, err := a.Assign("x-1", []Spec{spec(t, "127.0.0.1:8080:80")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Assign("y-1", []Spec{spec(t, "127.0.0.2:8080:80")}, nil); err != nil {
		t.Errorf("127.0.0.2:8080 after 127.0.0.1:8080: %v", err)
	}
	if _, err := a.Assign("z-1", []Spec{spec(t, "8080:80")}, nil); !errors.Is(err, ErrPortTaken) {
		t.Errorf("every address after 127.0.0.1:8080: %v, want ErrPortTaken", err)
	}
}

// TestAllocateRangeReplicas: each replica of a service publishing a range
// gets the next port of the range that no container claims and no host
// process holds; one replica too many is an error naming the range and
// who holds each port.
func TestAllocateRangeReplicas(t *testing.T) {
	claims := NewClaims()
	claims.Add(Binding{HostPort: 6006, ContainerPort: 1, Protocol: TCP}, "other-web-1")
	a := NewAllocator(claims, fakeHost{":6008/tcp": "pid 42 (nc)"})
	s := spec(t, "6005-6010:80")
	var got []string
	for i := 1; i <= 4; i++ {
		bs, err := a.Assign(fmt.Sprintf("p-a-%d", i), []Spec{s}, nil)
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		got = append(got, bs[0].String())
	}
	want := "0.0.0.0:6005->80/tcp 0.0.0.0:6007->80/tcp 0.0.0.0:6009->80/tcp 0.0.0.0:6010->80/tcp"
	if strings.Join(got, " ") != want {
		t.Errorf("replicas got %q, want %q", strings.Join(got, " "), want)
	}
	_, err := a.Assign("p-a-5", []Spec{s}, nil)
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrPortTaken) {
		t.Fatalf("fifth replica: %v, want a ConflictError", err)
	}
	for _, w := range []string{"6005-6010", "6006 is published by other-web-1", "6008: port 6008/tcp is already in use by pid 42 (nc)", "6005 is published by p-a-1"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

// TestAllocateRandomSkipsClaimed: a random port is never one that a
// container already publishes (DNAT holds no socket, so only the claim
// table knows) nor one the host holds.
func TestAllocateRandomSkipsClaimed(t *testing.T) {
	claims := NewClaims()
	claims.Add(Binding{HostPort: 40000, ContainerPort: 80, Protocol: TCP}, "other-web-1")
	a := NewAllocator(claims, fakeHost{":40001/tcp": "pid 7 (sshd)"}, WithRandomRange(40000, 40009), WithRand(seq(0, 1, 2)))
	bs, err := a.Assign("p-b-1", []Spec{spec(t, "80")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bs[0].HostPort != 40002 {
		t.Errorf("random port %d, want 40002 (40000 is claimed, 40001 held by the host)", bs[0].HostPort)
	}
	// udp is another claim space
	bs, err = a.Assign("p-b-1", []Spec{spec(t, "80/udp")}, nil)
	if err != nil || bs[0].HostPort != 40000 {
		t.Errorf("udp random port %v %v, want 40000", bs, err)
	}

	// A full range is scanned after the random tries, then refused.
	full := NewClaims()
	for p := uint16(50000); p <= 50003; p++ {
		if p != 50002 {
			full.Add(Binding{HostPort: p, ContainerPort: 1, Protocol: TCP}, "x")
		}
	}
	a = NewAllocator(full, fakeHost{}, WithRandomRange(50000, 50003), WithRand(seq(0)))
	if bs, err := a.Assign("y", []Spec{spec(t, "80")}, nil); err != nil || bs[0].HostPort != 50002 {
		t.Errorf("the one free port of the range: %v %v", bs, err)
	}
	if _, err := a.Assign("z", []Spec{spec(t, "80")}, nil); !errors.Is(err, ErrPortTaken) || !strings.Contains(err.Error(), "50000-50003") {
		t.Errorf("a full range: %v", err)
	}
}

func TestAllocateFixed(t *testing.T) {
	claims := NewClaims()
	claims.Add(Binding{HostPort: 8080, ContainerPort: 80, Protocol: TCP}, "other-web-1")
	a := NewAllocator(claims, fakeHost{":9090/tcp": "pid 9 (python3)"})
	_, err := a.Assign("p-web-1", []Spec{spec(t, "8080:80")}, nil)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.By != "other-web-1" || ce.Port != 8080 {
		t.Fatalf("claimed port: %v", err)
	}
	if !strings.Contains(err.Error(), "8080:80/tcp") || !strings.Contains(err.Error(), "other-web-1") {
		t.Errorf("error %q does not name the port and the container", err)
	}
	_, err = a.Assign("p-web-1", []Spec{spec(t, "9090:80")}, nil)
	if !errors.As(err, &ce) || ce.By != "" || !strings.Contains(err.Error(), "pid 9 (python3)") {
		t.Errorf("host-held port: %v", err)
	}
	// Replicas of a fixed port: the second finds the first's claim.
	if _, err := a.Assign("p-x-1", []Spec{spec(t, "7070:80")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Assign("p-x-2", []Spec{spec(t, "7070:80")}, nil); !errors.As(err, &ce) || ce.By != "p-x-1" {
		t.Errorf("second replica on a fixed port: %v", err)
	}
}

// TestAllocatePreferAndRollback: a restarted container keeps its old port
// when free; an Assign that fails leaves none of its ports claimed.
func TestAllocatePreferAndRollback(t *testing.T) {
	claims := NewClaims()
	a := NewAllocator(claims, fakeHost{}, WithRandomRange(41000, 41099), WithRand(seq(5)))
	old := []Binding{{HostPort: 41050, ContainerPort: 80, Protocol: TCP}, {HostPort: 6009, ContainerPort: 81, Protocol: TCP}}
	bs, err := a.Assign("p-w-1", []Spec{spec(t, "80"), spec(t, "6005-6010:81")}, old)
	if err != nil || bs[0].HostPort != 41050 || bs[1].HostPort != 6009 {
		t.Errorf("preferred ports not kept: %v %v", bs, err)
	}
	// an old port outside the range is not kept
	bs, err = a.Assign("p-w-2", []Spec{spec(t, "7000-7001:81")}, old)
	if err != nil || bs[0].HostPort != 7000 {
		t.Errorf("range with a stale preference: %v %v", bs, err)
	}

	a = NewAllocator(NewClaims(), fakeHost{":9999/tcp": "pid 1 (init)"})
	if _, err := a.Assign("p-v-1", []Spec{spec(t, "9998:80"), spec(t, "9999:81")}, nil); err == nil {
		t.Fatal("no error for a held port")
	}
	if bs, err := a.Assign("p-u-1", []Spec{spec(t, "9998:80")}, nil); err != nil || bs[0].HostPort != 9998 {
		t.Errorf("a failed Assign left its first port claimed: %v %v", bs, err)
	}
}
