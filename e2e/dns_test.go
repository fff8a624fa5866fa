package e2e

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// Scenarios of names (issue 6, docs/design.md decision 6): the resolver at
// 127.0.0.11 inside each container answers service names with every
// replica, rotated, container names, hostnames and aliases, and forgets a
// removed replica.

var nsAddrRE = regexp.MustCompile(`(?m)^Address:?\s+(\d+\.\d+\.\d+\.\d+)\s*$`)

// lookup runs busybox nslookup name inside svc's container and returns
// the IPv4 addresses of the answer, in the order given (the server's own
// address line, "127.0.0.11:53", is not one of them), and whether the
// name was found.
func lookup(t *testing.T, e *Env, svc, name string) ([]string, Result) {
	t.Helper()
	r := netExec(t, e, svc, "timeout", "5", "nslookup", name)
	var out []string
	for _, m := range nsAddrRE.FindAllStringSubmatch(r.Stdout, -1) {
		if m[1] != "127.0.0.11" {
			out = append(out, m[1])
		}
	}
	return out, r
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// waitLookup polls until name, looked up from svc, answers exactly the
// addresses want (in any order).
func waitLookup(t *testing.T, e *Env, svc, name string, want []string) {
	t.Helper()
	w := strings.Join(sortedCopy(want), " ")
	Eventually(t, 20*time.Second, func() error {
		got, r := lookup(t, e, svc, name)
		if strings.Join(sortedCopy(got), " ") != w {
			return fmt.Errorf("nslookup %s in %s: addresses %q, want %q\n%s", name, svc, got, want, r)
		}
		return nil
	})
}

// TestDNSScaleRotation: with web scaled to 3, `web` resolves to the three
// replicas' addresses, in an order that rotates between lookups; scaled
// back to 1, the removed replicas' addresses and names are gone from the
// answers.
func TestDNSScaleRotation(t *testing.T) {
	e := netEnv(t)
	e.Compose(t, `services:
  web:
    image: httpecho
  worker:
`+netSleeper)
	e.MustBerth(t, "up", "-d", "--scale", "web=3")

	var ips []string
	for i := 1; i <= 3; i++ {
		ips = append(ips, netContainerIP(t, e, fmt.Sprintf("--index %d web", i), "eth0").IP.String())
	}
	if len(sortedCopy(ips)) != 3 || ips[0] == ips[1] || ips[1] == ips[2] || ips[0] == ips[2] {
		t.Fatalf("replicas' addresses %q: want 3 different ones", ips)
	}
	waitLookup(t, e, "worker", "web", ips)

	// Rotation: each lookup's order differs from the one before. (A
	// client's own pick among the answers is its business: glibc sorts
	// them by prefix, so wget alone would always reach the same one.)
	var orders []string
	var outs []string
	for i := 0; i < 3; i++ {
		got, r := lookup(t, e, "worker", "web")
		if len(got) != 3 {
			t.Fatalf("nslookup web: want 3 addresses each time, got %q:\n%s", got, r)
		}
		orders = append(orders, strings.Join(got, " "))
		outs = append(outs, r.Stdout)
	}
	for i := 1; i < len(orders); i++ {
		if orders[i] == orders[i-1] {
			t.Errorf("lookups %d and %d of web answered the same order %q: want the replicas rotated between successive lookups (orders: %q)\n%s",
				i, i+1, orders[i], orders, strings.Join(outs, "\n"))
			break
		}
	}

	// Container names resolve to their replica.
	for i, ip := range ips {
		name := fmt.Sprintf("%s-web-%d", e.Project, i+1)
		waitLookup(t, e, "worker", name, []string{ip})
	}

	// Scale back to 1: the removed replicas leave the answers.
	e.MustBerth(t, "up", "-d", "--scale", "web=1")
	if ps := mustPs(t, e); len(ps) != 2 {
		t.Errorf("after --scale web=1, ps = %+v; want web-1 and worker", ps)
	}
	left := netContainerIP(t, e, "web", "eth0").IP.String()
	waitLookup(t, e, "worker", "web", []string{left})
	for i := 2; i <= 3; i++ {
		name := fmt.Sprintf("%s-web-%d", e.Project, i)
		got, r := lookup(t, e, "worker", name)
		if len(got) != 0 {
			t.Errorf("removed replica %s still resolves to %q:\n%s", name, got, r)
		}
	}
	for _, ip := range ips {
		if ip == left {
			continue
		}
		for i := 0; i < 3; i++ {
			got, _ := lookup(t, e, "worker", "web")
			for _, g := range got {
				if g == ip {
					t.Errorf("removed replica's address %s is still in the answer for web: %q", ip, got)
				}
			}
		}
	}
}

// TestDNSNames: hostnames, aliases and container names resolve; an unknown
// name is not found quickly; a service on another network is not
// answered; a one-off `run` container resolves names too.
func TestDNSNames(t *testing.T) {
	e := netEnv(t)
	e.Compose(t, `services:
  db:
`+netSleeper+`    hostname: dbhost
    networks:
      inner:
        aliases: [database, primary-db]
  app:
`+netSleeper+`    networks: [inner, outer]
  edge:
`+netSleeper+`    networks: [outer]
networks:
  inner: {}
  outer: {}
`)
	e.MustBerth(t, "up", "-d")
	dbIP := netContainerIP(t, e, "db", "eth0").IP.String()
	for _, name := range []string{"db", "dbhost", "database", "primary-db", e.Project + "-db-1"} {
		waitLookup(t, e, "app", name, []string{dbIP})
	}
	// /etc/resolv.conf points at the embedded resolver.
	if r := netExec(t, e, "app", "cat", "/etc/resolv.conf"); !strings.Contains(r.Stdout, "nameserver 127.0.0.11") {
		t.Errorf("app's /etc/resolv.conf does not name 127.0.0.11:\n%s", r)
	}
	// Its own hostname is in /etc/hosts.
	if r := netExec(t, e, "db", "cat", "/etc/hosts"); !strings.Contains(r.Stdout, dbIP) || !strings.Contains(r.Stdout, "dbhost") {
		t.Errorf("db's /etc/hosts lacks %s dbhost:\n%s", dbIP, r)
	}

	// edge shares no network with db: none of db's names answer there.
	for _, name := range []string{"db", "database", "dbhost"} {
		if got, r := lookup(t, e, "edge", name); len(got) != 0 {
			t.Errorf("edge (network outer only) resolves %s to %q although db is on inner only:\n%s", name, got, r)
		}
	}
	// app is on both networks: edge answers it with app's outer address.
	appOuter := netContainerIP(t, e, "app", "eth1").IP.String()
	appInner := netContainerIP(t, e, "app", "eth0").IP.String()
	got, r := lookup(t, e, "edge", "app")
	if len(got) == 0 {
		t.Errorf("edge cannot resolve app (they share network outer):\n%s", r)
	}
	for _, g := range got {
		if g == appInner {
			t.Errorf("edge got app's address %s on network inner, which edge is not on (want %s):\n%s", g, appOuter, r)
		}
	}

	// An unknown name: not found, and quickly (no long forwarding wait for
	// a name of the project's own kind).
	start := time.Now()
	got, r = lookup(t, e, "app", "nosuchservice")
	if len(got) != 0 {
		t.Errorf("nosuchservice resolved to %q:\n%s", got, r)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("nslookup nosuchservice took %s: want a quick NXDOMAIN", d)
	}

	// A one-off container of the project resolves names too.
	rr := e.Berth(t, "run", "--rm", "-T", "app", "timeout", "5", "nslookup", "database")
	if rr.Code != 0 || !strings.Contains(rr.Stdout, dbIP) {
		t.Errorf("run --rm app nslookup database: want %s, got %s", dbIP, rr)
	}
	if ip := net.ParseIP(dbIP); ip == nil {
		t.Errorf("db's address %q is not an IP", dbIP)
	}
}

// TestDNSFirstLookup: a container's very first command resolves a name:
// the resolver listens in its netns before its process starts.
func TestDNSFirstLookup(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  target:
    image: busybox
    command: ["sleep", "300"]
  asker:
    image: busybox
    command: ["sh", "-c", "if nslookup target >/dev/null 2>&1; then echo first-lookup-ok; else echo first-lookup-failed; nslookup target; fi"]
    scale: 4
    depends_on: [target]
`)
	e.MustBerth(t, "up", "-d")
	var r Result
	Eventually(t, 20*time.Second, func() error {
		r = e.MustBerth(t, "logs", "--no-log-prefix", "asker")
		if n := strings.Count(r.Stdout, "first-lookup-"); n < 4 {
			return fmt.Errorf("%d of 4 askers answered:\n%s", n, r.Stdout)
		}
		return nil
	})
	if n := strings.Count(r.Stdout, "first-lookup-ok"); n != 4 {
		t.Errorf("%d of 4 containers resolved a name with their first command:\n%s", n, r.Stdout)
	}
}
