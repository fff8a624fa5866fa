package supervisor

import (
	"fmt"
	"net"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/network/dns"
)

// DNSAddr is where each container finds the project's resolver, as with
// Docker's embedded DNS.
const DNSAddr = "127.0.0.11:53"

// serveDNS publishes a running container's names and makes sure the
// resolver listens inside its network namespace. Failures are logged, not
// fatal: the container runs, only name lookups of others would fail.
func (s *Server) serveDNS(m *managed) {
	rec := m.rec
	named := namedNetworks(rec.Networks)
	if rec.Netns == "" || len(named) == 0 {
		return // none, host, or only the default bridge: no resolver
	}
	s.mu.Lock()
	if s.dnsTable == nil {
		s.dnsTable = dns.NewTable()
		s.dnsTable.SetPeers(s.peerRecords)
		s.dnsServer = dns.NewServer(s.dnsTable)
	}
	for _, a := range named {
		s.dnsTable.Add(dns.Record{Network: a.Network, IP: net.ParseIP(a.IP), Names: a.Aliases, Container: rec.ID})
	}
	have := m.dns != nil
	srv := s.dnsServer
	s.mu.Unlock()
	if have {
		return
	}
	ln, err := srv.ListenInNetns(rec.Netns, DNSAddr, dns.AskerIP(net.ParseIP(named[0].IP)), dns.Forwarders(rec.DNS))
	if err != nil {
		s.cfg.Logf("container %s: DNS: %v", rec.Name, err)
		return
	}
	s.mu.Lock()
	m.dns = ln
	s.mu.Unlock()
}

// namedNetworks are the attachments whose names the resolver serves: all
// but the default bridge, where containers find each other by address
// only, as on Docker's.
func namedNetworks(all []state.Attachment) []state.Attachment {
	var out []state.Attachment
	for _, a := range all {
		if a.Network != state.DefaultBridge {
			out = append(out, a)
		}
	}
	return out
}

// unserveDNS drops a container served by serveDNS alone (one the CLI ran
// in the foreground): its names and resolver go, and it is forgotten
// without a state write, as its runner has recorded its exit.
func (s *Server) unserveDNS(id string) error {
	s.mu.Lock()
	m, ok := s.containers[id]
	if ok && m.pid != 0 {
		s.mu.Unlock()
		return fmt.Errorf("container %s is run by the supervisor, not served alone", m.rec.Name)
	}
	delete(s.containers, id)
	s.mu.Unlock()
	if !ok {
		return nil
	}
	s.unpublishDNS(m)
	s.closeDNS(m)
	return nil
}

// unpublishDNS removes an exited container's names.
func (s *Server) unpublishDNS(m *managed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dnsTable == nil {
		return
	}
	for _, a := range m.rec.Networks {
		s.dnsTable.Remove(net.ParseIP(a.IP))
	}
}

// closeDNS stops the resolver in a removed container's namespace.
func (s *Server) closeDNS(m *managed) {
	s.mu.Lock()
	ln := m.dns
	m.dns = nil
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
}

// peerRecords are the running containers of other projects (standalone
// ones included) on a network, from their records: a network shared by
// projects (external) resolves all of its containers' names, as Docker's.
func (s *Server) peerRecords(network string) []dns.Record {
	recs, err := s.store.List("")
	if err != nil {
		return nil
	}
	var out []dns.Record
	for _, r := range recs {
		if r.Project == s.cfg.Project {
			continue
		}
		for _, a := range r.Networks {
			if a.Network != network || a.Network == state.DefaultBridge {
				continue
			}
			if st, err := s.store.GetState(r.ID); err != nil || st.Status != state.StatusRunning {
				break
			}
			out = append(out, dns.Record{Network: a.Network, IP: net.ParseIP(a.IP), Names: a.Aliases, Container: r.ID})
		}
	}
	return out
}
