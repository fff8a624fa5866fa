package nft

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestIPForwardRestored: ip_forward turned on by berth's first network is
// turned off again when its table goes; one that was on stays on. The
// sysctl is a file of the test's own.
func TestIPForwardRestored(t *testing.T) {
	testutil.RequiresRoot(t)
	for _, before := range []string{"0", "1"} {
		dir := t.TempDir()
		sysctl, record := filepath.Join(dir, "ip_forward"), filepath.Join(dir, "ip_forward.prior")
		if err := os.WriteFile(sysctl, []byte(before+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f := newTestFirewall(t, WithIPForward(sysctl, record))
		_, subnet, _ := net.ParseCIDR("10.231.8.0/24")
		n := NetworkRules{ID: "btnet" + randSuffix(), Bridge: "br-bt" + randSuffix(), Subnet: subnet}
		if err := f.AddNetwork(n); err != nil {
			t.Fatal(err)
		}
		if got := read(t, sysctl); got != "1" {
			t.Fatalf("ip_forward %s before: %q with a network, want 1", before, got)
		}
		if err := f.AddNetwork(n); err != nil { // again: the record keeps the first value
			t.Fatal(err)
		}
		if err := f.RemoveNetwork(n.ID); err != nil {
			t.Fatal(err)
		}
		// Another berth table on the host (a concurrent test's, a real
		// berth's) still needs forwarding: then it stays on, recorded.
		others := f.forwardingNeeded()
		if done, err := f.Cleanup(); err != nil || !done {
			t.Fatalf("Cleanup = %v, %v", done, err)
		}
		want := before
		if others {
			t.Logf("another berth or Docker table exists: ip_forward must stay on")
			want = "1"
		}
		if got := read(t, sysctl); got != want {
			t.Errorf("ip_forward %s before: %q after the last network, want %s", before, got, want)
		}
		if _, err := os.Stat(record); !others && !os.IsNotExist(err) {
			t.Errorf("record %s left: %v", record, err)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
