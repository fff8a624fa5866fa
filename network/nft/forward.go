package nft

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/nftables"
)

// IPv4 forwarding is host-wide: berth turns it on with its first network
// (routing containers needs it, as Docker's daemon does at start) and, when
// it was the one that turned it on, turns it off again with its last
// network, so that a host is left as berth found it.
//
// The value before berth is kept in a file under /run (gone at reboot,
// like the setting itself), written only by the process that changes 0 to
// 1. It is put back when berth's table goes, unless another berth table
// (a test's, say) or Docker's iptables chains still need forwarding: a
// Docker daemon started after berth saw forwarding on and will not turn it
// on again. Callers hold the host network lock around AddNetwork and
// Cleanup, so the reads and writes here do not race.

// DefaultIPForwardRecord is where the value before berth is kept.
const DefaultIPForwardRecord = "/run/berth-ip_forward.prior"

// WithIPForward names the sysctl file and the record of its value before
// berth (tests use files of their own).
func WithIPForward(sysctl, record string) Opt {
	return func(f *Firewall) { f.ipForward, f.ipForwardRecord = sysctl, record }
}

// enableForwarding turns IPv4 forwarding on, recording that berth did.
func (f *Firewall) enableForwarding() error {
	cur, err := os.ReadFile(f.ipForward)
	if err != nil {
		return fmt.Errorf("read ip_forward: %w", err)
	}
	if strings.TrimSpace(string(cur)) == "1" {
		return nil
	}
	rec, err := os.OpenFile(f.ipForwardRecord, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	switch {
	case err == nil:
		_, err = rec.Write(cur)
		if cerr := rec.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("record ip_forward in %s: %w", f.ipForwardRecord, err)
		}
	case !errors.Is(err, os.ErrExist):
		return fmt.Errorf("record ip_forward in %s: %w", f.ipForwardRecord, err)
	}
	if err := os.WriteFile(f.ipForward, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enable ip_forward: %w", err)
	}
	return nil
}

// restoreForwarding puts back the value recorded by enableForwarding, once
// berth's table is gone and nothing berth knows of needs forwarding.
func (f *Firewall) restoreForwarding() error {
	prior, err := os.ReadFile(f.ipForwardRecord)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", f.ipForwardRecord, err)
	}
	if f.forwardingNeeded() {
		return nil
	}
	if err := os.WriteFile(f.ipForward, []byte(strings.TrimSpace(string(prior))), 0o644); err != nil {
		return fmt.Errorf("restore ip_forward: %w", err)
	}
	if err := os.Remove(f.ipForwardRecord); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// forwardingNeeded reports whether another berth table (one with the
// loopback guard chain) or Docker's iptables chains exist.
func (f *Firewall) forwardingNeeded() bool {
	chains, err := f.conn.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return true // unknown: leave forwarding on
	}
	for _, ch := range chains {
		switch {
		case ch.Name == chainLoopback && ch.Table.Name != f.table.Name:
			return true
		case ch.Table.Name == f.dockerTable && (ch.Name == "DOCKER" || ch.Name == "DOCKER-FORWARD"):
			return true
		}
	}
	return false
}
