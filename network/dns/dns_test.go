package dns

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func projectTable() *Table {
	t := NewTable()
	t.Add(Record{Network: "front", IP: net.ParseIP("10.1.0.2"), Names: []string{"web", "web-1", "www"}, Container: "web-1"})
	t.Add(Record{Network: "front", IP: net.ParseIP("10.1.0.3"), Names: []string{"web", "web-2"}})
	t.Add(Record{Network: "front", IP: net.ParseIP("10.1.0.4"), Names: []string{"web", "web-3"}})
	t.Add(Record{Network: "back", IP: net.ParseIP("10.2.0.2"), Names: []string{"db", "DB-1"}})
	t.Add(Record{Network: "back", IP: net.ParseIP("10.2.0.3"), Names: []string{"worker"}, Container: "worker-1"})
	t.Add(Record{Network: "front", IP: net.ParseIP("10.1.0.9"), Names: []string{"worker"}, Container: "worker-1"})
	return t
}

func TestTableFiltersByNetwork(t *testing.T) {
	tb := projectTable()
	// web-1 is only on front: it sees web, not db.
	if _, ok := tb.Lookup(net.ParseIP("10.1.0.2"), "db"); ok {
		t.Fatal("front container resolved db on back")
	}
	// worker is on both (two addresses, one container): it sees both.
	if got, ok := tb.Lookup(net.ParseIP("10.2.0.3"), "web-2."); !ok || !got[0].Equal(net.ParseIP("10.1.0.3")) {
		t.Fatalf("worker → web-2 = %v %v", got, ok)
	}
	if got, ok := tb.Lookup(net.ParseIP("10.1.0.9"), "db-1"); !ok || !got[0].Equal(net.ParseIP("10.2.0.2")) {
		t.Fatalf("worker via its front address → DB-1 (case-insensitive) = %v %v", got, ok)
	}
	// An unknown asker sees nothing.
	if _, ok := tb.Lookup(net.ParseIP("192.0.2.50"), "web"); ok {
		t.Fatal("stranger resolved web")
	}
}

func TestTableRotatesAndRemoves(t *testing.T) {
	tb := projectTable()
	asker := net.ParseIP("10.1.0.9")
	firsts := map[string]int{}
	for range 6 {
		got, ok := tb.Lookup(asker, "web")
		if !ok || len(got) != 3 {
			t.Fatalf("web = %v", got)
		}
		firsts[got[0].String()]++
	}
	if len(firsts) != 3 {
		t.Fatalf("first answers %v: order does not rotate", firsts)
	}
	tb.Remove(net.ParseIP("10.1.0.3"))
	got, _ := tb.Lookup(asker, "web")
	if len(got) != 2 {
		t.Fatalf("after removing a replica: %v", got)
	}
	for _, ip := range got {
		if ip.Equal(net.ParseIP("10.1.0.3")) {
			t.Fatal("removed replica still answered")
		}
	}
	// Add replaces a record of the same network and address.
	tb.Add(Record{Network: "front", IP: net.ParseIP("10.1.0.4"), Names: []string{"api"}})
	got, _ = tb.Lookup(asker, "web")
	if len(got) != 1 {
		t.Fatalf("after replacing web-3: %v", got)
	}
}

// fakeUpstream is a resolver on 127.0.0.1 answering every A query with
// 203.0.113.7; queries counts what it has answered.
func fakeUpstream(t testing.TB, queries *atomic.Int32) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		queries.Add(1) // before the answer leaves: the asker sees it counted
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5},
			A: net.ParseIP("203.0.113.7")})
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// blackhole is an upstream that never answers.
func blackhole(t testing.TB) string {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

func query(t testing.TB, addr, name string, qtype uint16, proto string) *dns.Msg {
	t.Helper()
	c := &dns.Client{Net: proto, Timeout: 3 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s: %v", name, err)
	}
	return resp
}

func TestServerAnswersAndForwards(t *testing.T) {
	var forwarded atomic.Int32
	up := fakeUpstream(t, &forwarded)
	s := NewServer(projectTable(), WithUpstreams([]string{blackhole(t), up}), WithTimeout(200*time.Millisecond))
	t.Cleanup(func() { s.Close() })
	l, err := s.Listen("127.0.0.1:0", AskerIP(net.ParseIP("10.1.0.2")))
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr.String()

	for _, proto := range []string{"udp", "tcp"} {
		r := query(t, addr, "web", dns.TypeA, proto)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 3 {
			t.Fatalf("%s: web = %v", proto, r)
		}
	}
	if r := query(t, addr, "www", dns.TypeAAAA, "udp"); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Fatalf("AAAA of a known name = %v", r)
	}
	// A single label that is no service is NXDOMAIN at once, never
	// forwarded (the fake upstream would answer it).
	if r := query(t, addr, "nosuchservice", dns.TypeA, "udp"); r.Rcode != dns.RcodeNameError {
		t.Fatalf("unknown single label = %v", r)
	}
	if r := query(t, addr, "db", dns.TypeA, "udp"); r.Rcode != dns.RcodeNameError {
		t.Fatalf("name on a network the asker is not on = %v", r)
	}
	if n := forwarded.Load(); n != 0 {
		t.Errorf("%d queries forwarded for project names; want none", n)
	}
	// Forwarded past the dead upstream to the fake one.
	r := query(t, addr, "example.com", dns.TypeA, "udp")
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.A).A.String() != "203.0.113.7" {
		t.Fatalf("forwarded = %v", r)
	}
	if n := forwarded.Load(); n != 1 {
		t.Errorf("upstream answered %d queries, want 1", n)
	}
	// A listener with its own forwarders (dns: in the compose file) that
	// are all dead answers SERVFAIL after the timeout.
	l2, err := s.Listen("127.0.0.1:0", Forwarders([]string{blackhole(t)}))
	if err != nil {
		t.Fatal(err)
	}
	if r := query(t, l2.Addr.String(), "example.com", dns.TypeA, "udp"); r.Rcode != dns.RcodeServerFailure {
		t.Fatalf("dead forwarders = %v", r)
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestHostUpstreams(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "resolv.conf")
	os.WriteFile(p, []byte("# c\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver fd00::53\nsearch a.example b.example\noptions edns0 ndots:3 timeout:1\n"), 0o644)
	ups, err := HostUpstreams(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ups, ",") != "192.0.2.53:53,[fd00::53]:53" {
		t.Fatalf("upstreams = %v", ups)
	}
	rc, _ := ParseResolvConf(p)
	if strings.Join(rc.Search, " ") != "a.example b.example" || strings.Join(rc.Options, " ") != "edns0 ndots:3 timeout:1" {
		t.Fatalf("parsed %+v", rc)
	}
	os.WriteFile(p, []byte("nameserver 127.0.0.53\n"), 0o644)
	if ups, _ := HostUpstreams(p); len(ups) != 1 || ups[0] != "127.0.0.53:53" {
		t.Fatalf("loopback only = %v", ups)
	}
}

func TestResolvConf(t *testing.T) {
	got := string(ResolvConf([]string{"1.1.1.1"}, []string{"corp.example"}, []string{"timeout:2"}))
	for _, want := range []string{"nameserver 127.0.0.11\n", "search corp.example\n", "options ndots:0 timeout:2\n", "# Forwarders: [1.1.1.1]"} {
		if !strings.Contains(got, want) {
			t.Errorf("resolv.conf lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "nameserver") != 1 {
		t.Errorf("more than one nameserver:\n%s", got)
	}
	if got := string(ResolvConf(nil, nil, []string{"ndots:2"})); !strings.Contains(got, "options ndots:2\n") {
		t.Errorf("ndots override:\n%s", got)
	}
}

func TestHostsFile(t *testing.T) {
	got := string(HostsFile(
		[]HostEntry{{IP: "10.1.0.2", Names: []string{"abc123", "web-1"}}},
		[]HostEntry{{IP: "host-gateway", Names: []string{"host.docker.internal"}}, {IP: "192.0.2.9", Names: []string{"db.example"}}},
		net.ParseIP("10.1.0.1")))
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "::1\tlocalhost", "10.1.0.1\thost.docker.internal\n", "192.0.2.9\tdb.example\n", "10.1.0.2\tabc123 web-1\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("hosts lacks %q:\n%s", want, got)
		}
	}
}

func BenchmarkDNSLookup(b *testing.B) {
	s := NewServer(projectTable(), WithUpstreams(nil))
	b.Cleanup(func() { s.Close() })
	l, err := s.Listen("127.0.0.1:0", AskerIP(net.ParseIP("10.1.0.2")))
	if err != nil {
		b.Fatal(err)
	}
	conn, err := net.Dial("udp4", l.Addr.String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	c := &dns.Conn{Conn: conn}
	m := new(dns.Msg)
	m.SetQuestion("web.", dns.TypeA)
	b.ResetTimer()
	for b.Loop() {
		if err := c.WriteMsg(m); err != nil {
			b.Fatal(err)
		}
		r, err := c.ReadMsg()
		if err != nil || len(r.Answer) != 3 {
			b.Fatal(r, err)
		}
	}
}

func TestBridgeResolvConf(t *testing.T) {
	dir := t.TempDir()
	stub := filepath.Join(dir, "stub.conf")
	up := filepath.Join(dir, "upstream.conf")
	os.WriteFile(stub, []byte("nameserver 127.0.0.53\nsearch lan.example\noptions edns0\n"), 0o644)
	os.WriteFile(up, []byte("nameserver 192.0.2.53\nnameserver fd00::53\nsearch up.example\n"), 0o644)
	for _, tc := range []struct {
		name              string
		dns, search, opts []string
		paths             []string
		want              string
	}{
		{"loopback only: Google's", nil, nil, nil, []string{stub}, "nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch lan.example\noptions edns0\n"},
		{"systemd's upstream file after the stub", nil, nil, nil, []string{stub, up}, "nameserver 192.0.2.53\nsearch up.example\n"},
		{"missing file", nil, nil, nil, []string{filepath.Join(dir, "none")}, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{"flags replace their part", []string{"192.0.2.1"}, []string{"corp.example"}, []string{"ndots:2"}, []string{up}, "nameserver 192.0.2.1\nsearch corp.example\noptions ndots:2\n"},
	} {
		if got := string(BridgeResolvConf(tc.dns, tc.search, tc.opts, tc.paths...)); got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.name, got, tc.want)
		}
		if got := string(BridgeResolvConf(tc.dns, tc.search, tc.opts, tc.paths...)); strings.Contains(got, EmbeddedAddr) {
			t.Errorf("%s: names the embedded resolver:\n%s", tc.name, got)
		}
	}
}
