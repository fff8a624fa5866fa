package ipam

import (
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// On the real host the allocator must step over the route of the host's
// own 192.0.2.0/24 network (FIELD-NOTES).
func TestHostRoutesAreSkipped(t *testing.T) {
	testutil.RequiresRoot(t)
	routes, err := HostRoutes()
	if err != nil {
		t.Fatal(err)
	}
	var hostNet string
	for _, r := range routes {
		if ones, _ := r.Mask.Size(); ones == 24 && r.IP.To4() != nil && r.IP.To4()[0] != 127 {
			hostNet = r.String()
			break
		}
	}
	if hostNet == "" {
		t.Skip("skipped: the host has no IPv4 /24 route to test against")
	}
	pool := cidr(t, hostNet)
	a, err := New(t.TempDir(), WithPool(pool, 24))
	if err != nil {
		t.Fatal(err)
	}
	if s, _, err := a.AllocateSubnet(t.Context(), "x", nil); err == nil {
		t.Fatalf("allocated %s, which overlaps the host route %s", s, hostNet)
	}
	// A /23 around it yields the other half.
	wide := cidr(t, hostNet)
	wide.Mask = []byte{255, 255, 254, 0}
	wide.IP = wide.IP.Mask(wide.Mask)
	a, _ = New(t.TempDir(), WithPool(wide, 24))
	s, _, err := a.AllocateSubnet(t.Context(), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.String() == hostNet {
		t.Fatalf("allocated the host's own subnet %s", s)
	}
}
