package dns

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/vishvananda/netns"
)

// DefaultTimeout bounds one forwarded query to one upstream.
const DefaultTimeout = 2 * time.Second

// ttl of berth's own answers, in seconds (Docker's value).
const ttl = 600

// Server answers queries from containers. One Server serves every
// listener of a project; each listener may have its own asker identity
// and forwarders.
type Server struct {
	res       Resolver
	upstreams []string
	timeout   time.Duration

	mu      sync.Mutex
	servers []*dns.Server
	closed  bool
}

// Opt configures a Server.
type Opt func(*Server)

// WithUpstreams sets the default forwarders ("ip" or "ip:port"); the
// default is the host's from /etc/resolv.conf.
func WithUpstreams(addrs []string) Opt { return func(s *Server) { s.upstreams = withPorts(addrs) } }

// WithTimeout bounds each forwarded query to one upstream.
func WithTimeout(d time.Duration) Opt { return func(s *Server) { s.timeout = d } }

// NewServer returns a server answering from res.
func NewServer(res Resolver, opts ...Opt) *Server {
	s := &Server{res: res, timeout: DefaultTimeout, upstreams: nil}
	ups, _ := HostUpstreams("/etc/resolv.conf")
	s.upstreams = ups
	for _, o := range opts {
		o(s)
	}
	return s
}

// ListenOpt configures one listener.
type ListenOpt func(*handler)

// AskerIP makes every query on the listener count as asked by ip (the
// container's address): inside a netns queries to 127.0.0.11 come from a
// loopback address that says nothing about who asks.
func AskerIP(ip net.IP) ListenOpt { return func(h *handler) { h.asker = ip } }

// Forwarders replaces the server's upstreams for this listener (the
// container's `dns:` entries).
func Forwarders(addrs []string) ListenOpt {
	return func(h *handler) {
		if len(addrs) > 0 {
			h.upstreams = withPorts(addrs)
		}
	}
}

// Listener is one UDP+TCP pair being served.
type Listener struct {
	udp, tcp *dns.Server
	Addr     net.Addr // the UDP address
}

// Close stops serving and closes both sockets.
func (l *Listener) Close() error {
	return errors.Join(l.udp.Shutdown(), l.tcp.Shutdown())
}

// Listen serves UDP and TCP on addr in the caller's network namespace
// (tests use 127.0.0.1:0; the TCP port follows the UDP one).
func (s *Server) Listen(addr string, opts ...ListenOpt) (*Listener, error) {
	pc, ln, err := listenPair(addr)
	if err != nil {
		return nil, err
	}
	return s.serve(pc, ln, opts)
}

// ListenInNetns serves UDP and TCP on addr (e.g. "127.0.0.11:53") inside
// the network namespace bind-mounted at netnsPath.
func (s *Server) ListenInNetns(netnsPath, addr string, opts ...ListenOpt) (*Listener, error) {
	type result struct {
		pc  net.PacketConn
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		restored := false
		defer func() {
			if restored {
				runtime.UnlockOSThread()
			} // else the thread dies with the goroutine
		}()
		orig, err := netns.Get()
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(netnsPath)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			ch <- result{err: fmt.Errorf("enter netns: %w", err)}
			return
		}
		pc, ln, err := listenPair(addr)
		restored = netns.Set(orig) == nil
		ch <- result{pc, ln, err}
	}()
	r := <-ch
	if r.err != nil {
		return nil, fmt.Errorf("dns listen on %s in netns %s: %w", addr, netnsPath, r.err)
	}
	return s.serve(r.pc, r.ln, opts)
}

func listenPair(addr string) (net.PacketConn, net.Listener, error) {
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return nil, nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	tcpAddr := net.JoinHostPort(host, fmt.Sprint(pc.LocalAddr().(*net.UDPAddr).Port))
	ln, err := net.Listen("tcp4", tcpAddr)
	if err != nil {
		pc.Close()
		return nil, nil, err
	}
	return pc, ln, nil
}

func (s *Server) serve(pc net.PacketConn, ln net.Listener, opts []ListenOpt) (*Listener, error) {
	h := &handler{s: s, upstreams: s.upstreams}
	for _, o := range opts {
		o(h)
	}
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	l := &Listener{
		udp:  &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: notify},
		tcp:  &dns.Server{Listener: ln, Handler: h, NotifyStartedFunc: notify},
		Addr: pc.LocalAddr(),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		pc.Close()
		ln.Close()
		return nil, errors.New("dns server is closed")
	}
	s.servers = append(s.servers, l.udp, l.tcp)
	s.mu.Unlock()
	go l.udp.ActivateAndServe()
	go l.tcp.ActivateAndServe()
	<-started
	<-started
	return l, nil
}

// Close stops every listener of the server.
func (s *Server) Close() error {
	s.mu.Lock()
	srvs := s.servers
	s.servers, s.closed = nil, true
	s.mu.Unlock()
	var errs []error
	for _, srv := range srvs {
		if err := srv.Shutdown(); err != nil && !strings.Contains(err.Error(), "not started") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type handler struct {
	s         *Server
	asker     net.IP
	upstreams []string
}

func (h *handler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := h.answer(w, req)
	_ = w.WriteMsg(resp)
}

func (h *handler) answer(w dns.ResponseWriter, req *dns.Msg) *dns.Msg {
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeNotImplemented)
		return m
	}
	q := req.Question[0]
	asker := h.asker
	if asker == nil {
		asker = addrIP(w.RemoteAddr())
	}
	name := strings.TrimSuffix(q.Name, ".")
	if q.Qclass == dns.ClassINET {
		lookup := h.s.res.Lookup
		if k, ok := h.s.res.(interface {
			Known(net.IP, string) bool
		}); ok && q.Qtype != dns.TypeA && q.Qtype != dns.TypeANY {
			// only address queries move a name's rotation on
			lookup = func(a net.IP, n string) ([]net.IP, bool) { return nil, k.Known(a, n) }
		}
		if ips, ok := lookup(asker, name); ok {
			m := new(dns.Msg)
			m.SetReply(req)
			m.Authoritative = true
			m.RecursionAvailable = true
			if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
				for _, ip := range ips {
					m.Answer = append(m.Answer, &dns.A{
						Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl},
						A:   ip.To4(),
					})
				}
			}
			return m
		}
		if !strings.Contains(name, ".") {
			m := new(dns.Msg)
			m.SetRcode(req, dns.RcodeNameError)
			m.RecursionAvailable = true
			return m
		}
	}
	return h.forward(w, req)
}

// forward asks each upstream in turn, over the transport the question came
// on (and over TCP again when a UDP answer is truncated).
func (h *handler) forward(w dns.ResponseWriter, req *dns.Msg) *dns.Msg {
	proto := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		proto = "tcp"
	}
	for _, up := range h.upstreams {
		c := &dns.Client{Net: proto, Timeout: h.s.timeout}
		resp, _, err := c.Exchange(req, up)
		if err == nil && resp.Truncated && proto == "udp" {
			c.Net = "tcp"
			if r2, _, err2 := c.Exchange(req, up); err2 == nil {
				resp = r2
			}
		}
		if err == nil && resp != nil {
			resp.Id = req.Id
			return resp
		}
	}
	m := new(dns.Msg)
	m.SetRcode(req, dns.RcodeServerFailure)
	m.RecursionAvailable = true
	return m
}

func addrIP(a net.Addr) net.IP {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.IP
	case *net.TCPAddr:
		return a.IP
	}
	return nil
}

func withPorts(addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err == nil {
			out = append(out, a)
		} else {
			out = append(out, net.JoinHostPort(strings.Trim(a, "[]"), "53"))
		}
	}
	return out
}
