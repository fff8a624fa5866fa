package dns

import (
	"net"
	"testing"
)

// TestTablePeers: a name none of the table's records has is asked of its
// peers, on the asker's networks only.
func TestTablePeers(t *testing.T) {
	tb := NewTable()
	tb.Add(Record{Network: "shared", IP: net.ParseIP("10.0.0.2"), Names: []string{"a"}})
	tb.Add(Record{Network: "own", IP: net.ParseIP("10.0.1.2"), Names: []string{"b"}})
	tb.SetPeers(func(network string) []Record {
		if network != "shared" {
			return nil
		}
		return []Record{{Network: "shared", IP: net.ParseIP("10.0.0.9"), Names: []string{"Other"}}}
	})
	if ips, ok := tb.Lookup(net.ParseIP("10.0.0.2"), "other"); !ok || len(ips) != 1 || !ips[0].Equal(net.ParseIP("10.0.0.9")) {
		t.Errorf("peer on the asker's network: %v %v", ips, ok)
	}
	if ips, ok := tb.Lookup(net.ParseIP("10.0.1.2"), "other"); ok {
		t.Errorf("peer on a network the asker is not on: %v", ips)
	}
	if ips, ok := tb.Lookup(net.ParseIP("10.0.0.2"), "a"); !ok || !ips[0].Equal(net.ParseIP("10.0.0.2")) {
		t.Errorf("own record: %v %v", ips, ok)
	}
}
