package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Published ports, scenarios ported from Docker Compose's pkg/e2e (each
// test names the one it comes from) plus berth's own for the port model
// (ranges with replicas, random ports, host_ip, stop/start). Projects use
// subnets of 10.213.0.0/16 and talk only to 127.0.0.x.

// portsEnv is a network test's Env whose subnets come from 10.213.0.0/16.
func portsEnv(t *testing.T) *Env {
	t.Helper()
	e := netEnv(t)
	e.WriteFile(t, "../root/config.yaml", "network:\n  pool: 10.213.0.0/16\n  size: 24\n")
	return e
}

// portsFreeRange returns the first port of n consecutive host ports that
// are free on every address (tcp), below the ephemeral range so that no
// random port lands there meanwhile.
func portsFreeRange(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		base := 20000 + rand.IntN(10000)
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp4", "0.0.0.0:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports found", n)
	return 0
}

type portsPublisher struct {
	URL           string
	TargetPort    int
	PublishedPort int
	Protocol      string
}

type portsPsEntry struct {
	Name, Service, State string
	Publishers           []portsPublisher
}

// portsPs runs `ps --format json` with args and returns its entries by
// container name.
func portsPs(t *testing.T, e *Env, args ...string) map[string]portsPsEntry {
	t.Helper()
	r := e.MustBerth(t, append([]string{"ps", "--format", "json"}, args...)...)
	out := map[string]portsPsEntry{}
	for _, l := range nonEmptyLines(r.Stdout) {
		var p portsPsEntry
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatalf("ps --format json: %v in %q", err, l)
		}
		if p.Publishers == nil {
			t.Errorf("ps --format json: %s has Publishers null, want [] (as docker compose)", p.Name)
		}
		out[p.Name] = p
	}
	return out
}

// portsHostname GETs url (retrying) and returns the answering container's
// hostname (httpecho's first line).
func portsHostname(t *testing.T, url string) string {
	t.Helper()
	body := netHostGet(t, url, "hostname: ")
	line, _, _ := strings.Cut(body, "\n")
	return strings.TrimPrefix(line, "hostname: ")
}

// TestParityPortsRange ports Compose's TestPortRange (pkg/e2e/
// compose_up_test.go): a service with `scale: 5` publishing a host port
// range, next to two services publishing a random port, all come up;
// berth also checks that each replica got its own port of the range, that
// each answers on it, that `port --index` agrees with `ps`, and that
// scaling up keeps the ports already assigned.
func TestParityPortsRange(t *testing.T) {
	e := portsEnv(t)
	base := portsFreeRange(t, 11)
	e.Compose(t, fmt.Sprintf(`services:
  a:
    image: httpecho
    scale: 5
    ports:
      - "%d-%d:8080"
  b:
    image: httpecho
    ports:
      - "8080"
  c:
    image: httpecho
    ports:
      - "8080"
`, base, base+10))
	e.MustBerth(t, "up", "-d")

	ps := portsPs(t, e)
	if len(ps) != 7 {
		t.Fatalf("ps: %d containers, want 7 (a ×5, b, c): %+v", len(ps), ps)
	}
	hosts := map[string]string{} // hostname → container
	ports := map[int]string{}
	for i := 1; i <= 5; i++ {
		name := fmt.Sprintf("%s-a-%d", e.Project, i)
		c := ps[name]
		if c.State != "running" || len(c.Publishers) != 1 {
			t.Errorf("%s: state %q, publishers %+v; want running with one port", name, c.State, c.Publishers)
			continue
		}
		p := c.Publishers[0].PublishedPort
		if p < base || p > base+10 {
			t.Errorf("%s publishes %d, outside the range %d-%d", name, p, base, base+10)
		}
		if other, dup := ports[p]; dup {
			t.Errorf("%s and %s both publish %d", name, other, p)
		}
		ports[p] = name
		r := e.MustBerth(t, "port", "--index", strconv.Itoa(i), "a", "8080")
		if got, want := strings.TrimSpace(r.Stdout), fmt.Sprintf("0.0.0.0:%d", p); got != want {
			t.Errorf("port --index %d a 8080 = %q, want %q (ps)", i, got, want)
		}
		h := portsHostname(t, fmt.Sprintf("http://127.0.0.1:%d/", p))
		if other, dup := hosts[h]; dup {
			t.Errorf("port %d of %s is answered by %s's container", p, name, other)
		}
		hosts[h] = name
	}
	for _, svc := range []string{"b", "c"} {
		name := e.Project + "-" + svc + "-1"
		c := ps[name]
		if c.State != "running" || len(c.Publishers) != 1 || c.Publishers[0].PublishedPort == 0 {
			t.Fatalf("%s: %+v, want running with a random port", name, c)
		}
		p := c.Publishers[0].PublishedPort
		if other, dup := ports[p]; dup {
			t.Errorf("%s's random port %d is %s's", name, p, other)
		}
		ports[p] = name
		portsHostname(t, fmt.Sprintf("http://127.0.0.1:%d/", p))
	}

	// Scaling up: the five keep their ports, the sixth takes a free one
	// of the range.
	e.MustBerth(t, "up", "-d", "--scale", "a=6")
	ps2 := portsPs(t, e)
	for p, name := range ports {
		if c := ps2[name]; len(c.Publishers) != 1 || c.Publishers[0].PublishedPort != p {
			t.Errorf("after scale up, %s publishes %+v, want port %d as before", name, c.Publishers, p)
		}
	}
	six := ps2[e.Project+"-a-6"]
	if len(six.Publishers) != 1 {
		t.Fatalf("a-6: %+v", six)
	}
	if p := six.Publishers[0].PublishedPort; p < base || p > base+10 || ports[p] != "" {
		t.Errorf("a-6 publishes %d: want a port of %d-%d that no other replica has", p, base, base+10)
	}
}

// TestParityPortsRandom ports the `port` step of Compose's TestNetworks
// (pkg/e2e/networks_test.go: `port words 8080` prints 0.0.0.0:PORT for a
// service publishing "8080"), with replicas: each replica of a random
// port gets its own, no port another berth project publishes, and each
// answers on it.
func TestParityPortsRandom(t *testing.T) {
	e := portsEnv(t)
	e.Compose(t, "services:\n  words:\n    image: httpecho\n    scale: 3\n    ports: [\"8080\"]\n")
	e.MustBerth(t, "up", "-d")
	seen := map[int]bool{}
	for i := 1; i <= 3; i++ {
		r := e.MustBerth(t, "port", "--index", strconv.Itoa(i), "words", "8080")
		addr := strings.TrimSpace(r.Stdout)
		host, portText, err := net.SplitHostPort(addr)
		port, _ := strconv.Atoi(portText)
		if err != nil || host != "0.0.0.0" || port == 0 {
			t.Fatalf("port --index %d words 8080 = %q, want 0.0.0.0:PORT", i, addr)
		}
		if seen[port] {
			t.Errorf("replica %d got port %d, already another replica's", i, port)
		}
		seen[port] = true
		portsHostname(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
	}
	if r := e.Berth(t, "port", "words", "9999"); r.Code == 0 {
		t.Errorf("port words 9999 (not published): want an error, got %s", r)
	}
	// The table shows the mapping as docker compose does.
	r := e.MustBerth(t, "ps")
	for p := range seen {
		if !strings.Contains(r.Stdout, fmt.Sprintf("0.0.0.0:%d->8080/tcp", p)) {
			t.Errorf("ps does not show 0.0.0.0:%d->8080/tcp:\n%s", p, r.Stdout)
		}
	}
}

// TestParityPortsHostIP: the same host port published on two loopback
// addresses by two services is no conflict; each address reaches its own
// service. (berth's own scenario: claims are keyed by address.)
func TestParityPortsHostIP(t *testing.T) {
	e := portsEnv(t)
	port := portsFreeRange(t, 1)
	e.Compose(t, fmt.Sprintf(`services:
  one:
    image: httpecho
    hostname: hostip-one
    ports: ["127.0.0.1:%[1]d:8080"]
  two:
    image: httpecho
    hostname: hostip-two
    ports: ["127.0.0.2:%[1]d:8080"]
`, port))
	e.MustBerth(t, "up", "-d")
	if h := portsHostname(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); h != "hostip-one" {
		t.Errorf("127.0.0.1:%d is answered by %q, want hostip-one", port, h)
	}
	if h := portsHostname(t, fmt.Sprintf("http://127.0.0.2:%d/", port)); h != "hostip-two" {
		t.Errorf("127.0.0.2:%d is answered by %q, want hostip-two", port, h)
	}
	r := e.MustBerth(t, "ps")
	for _, w := range []string{fmt.Sprintf("127.0.0.1:%d->8080/tcp", port), fmt.Sprintf("127.0.0.2:%d->8080/tcp", port)} {
		if !strings.Contains(r.Stdout, w) {
			t.Errorf("ps does not show %s:\n%s", w, r.Stdout)
		}
	}
	// Every address conflicts with both.
	other := e.Project + "-all"
	e.WriteFile(t, "all.yaml", fmt.Sprintf("services:\n  all:\n    image: httpecho\n    ports: [\"%d:8080\"]\n", port))
	r = e.Berth(t, "-p", other, "-f", "all.yaml", "up", "-d")
	if r.Code == 0 || !strings.Contains(r.Stderr, strconv.Itoa(port)) || !strings.Contains(r.Stderr, `"all"`) {
		t.Errorf("publishing %d on every address while 127.0.0.1 has it: want an error naming the service and port, got %s", port, r)
	}
}

// TestParityPortsStopStart: a stopped container frees its host port, as
// with Docker and Compose: ps and port show none, another project can
// publish it; starting again takes it back when free and fails naming the
// port and the holder when not. A random port is kept across stop/start
// when still free. (berth's own scenario.)
func TestParityPortsStopStart(t *testing.T) {
	e := portsEnv(t)
	port := portsFreeRange(t, 1)
	e.Compose(t, fmt.Sprintf(`services:
  web:
    image: httpecho
    hostname: first-web
    ports: ["%d:8080"]
  rnd:
    image: httpecho
    ports: ["8080"]
`, port))
	e.MustBerth(t, "up", "-d")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	if h := portsHostname(t, url); h != "first-web" {
		t.Fatalf("%s answered by %q", url, h)
	}
	rndBefore := strings.TrimSpace(e.MustBerth(t, "port", "rnd", "8080").Stdout)

	e.MustBerth(t, "stop", "-t", "1")
	for name, c := range portsPs(t, e, "-a") {
		if c.State != "exited" || len(c.Publishers) != 0 {
			t.Errorf("stopped %s: state %q, publishers %+v; want exited with none", name, c.State, c.Publishers)
		}
	}
	if r := e.Berth(t, "port", "web", "8080"); r.Code == 0 {
		t.Errorf("port web 8080 of a stopped container: want an error, got %s", r)
	}

	// Another project takes the port meanwhile.
	second := e.Project + "-second"
	e.WriteFile(t, "second.yaml", fmt.Sprintf("services:\n  web2:\n    image: httpecho\n    hostname: second-web\n    ports: [\"%d:8080\"]\n", port))
	e.MustBerth(t, "-p", second, "-f", "second.yaml", "up", "-d")
	if h := portsHostname(t, url); h != "second-web" {
		t.Errorf("%s answered by %q, want second-web", url, h)
	}
	r := e.Berth(t, "start")
	if r.Code == 0 || !strings.Contains(r.Stderr, strconv.Itoa(port)) || !strings.Contains(r.Stderr, second+"-web2-1") {
		t.Errorf("start while the port is another project's: want an error naming the port and %s-web2-1, got %s", second, r)
	}
	if c := portsPs(t, e, "-a")[e.Project+"-web-1"]; c.State == "running" {
		t.Errorf("web is running after the failed start")
	}
	e.MustBerth(t, "-p", second, "-f", "second.yaml", "down", "-t", "0")

	e.MustBerth(t, "start")
	if h := portsHostname(t, url); h != "first-web" {
		t.Errorf("after start, %s answered by %q, want first-web", url, h)
	}
	if got := strings.TrimSpace(e.MustBerth(t, "port", "rnd", "8080").Stdout); got != rndBefore {
		t.Errorf("rnd's random port went from %s to %s across stop/start", rndBefore, got)
	}
	// restart is stop + start: the same ports again
	e.MustBerth(t, "restart", "-t", "1", "web")
	if h := portsHostname(t, url); h != "first-web" {
		t.Errorf("after restart, %s answered by %q", url, h)
	}
	// up starts stopped containers through its plan: the same again
	e.MustBerth(t, "stop", "-t", "1")
	e.MustBerth(t, "up", "-d")
	if h := portsHostname(t, url); h != "first-web" {
		t.Errorf("after stop and up, %s answered by %q", url, h)
	}
	if got := strings.TrimSpace(e.MustBerth(t, "port", "rnd", "8080").Stdout); got != rndBefore {
		t.Errorf("rnd's random port went from %s to %s across stop and up", rndBefore, got)
	}
}

// TestParityPortsPs ports Compose's TestPs (pkg/e2e/ps_test.go, its
// "table", "json" and "ps --all" parts): a port published on 127.0.0.1
// shows as 127.0.0.1:P->8000/tcp, exposed ports as 80/tcp, 443/tcp,
// 8080/tcp, in the table and as Publishers in JSON; after stop, ps lists
// nothing and ps --all both. berth also checks inspect's port maps.
func TestParityPortsPs(t *testing.T) {
	e := portsEnv(t)
	port := portsFreeRange(t, 1)
	e.Compose(t, fmt.Sprintf(`services:
  nginx:
    image: busybox
    init: true
    command: ["sleep", "1000"]
    expose:
    - '80'
    - '443'
    - '8080'
  busybox:
    image: busybox
    command: busybox httpd -f -p 8000
    init: true
    ports:
    - '127.0.0.1:%d:8000'
`, port))
	e.MustBerth(t, "up", "-d")
	bb, ng := e.Project+"-busybox-1", e.Project+"-nginx-1"

	r := e.MustBerth(t, "ps")
	lines := nonEmptyLines(r.Stdout)
	if len(lines) != 3 {
		t.Errorf("ps: %d lines, want a header and 2:\n%s", len(lines), r.Stdout)
	}
	count := 0
	for _, l := range lines[1:] {
		if strings.Contains(l, bb) {
			count++
			if !strings.Contains(l, fmt.Sprintf("127.0.0.1:%d->8000/tcp", port)) {
				t.Errorf("ps line of busybox lacks 127.0.0.1:%d->8000/tcp: %q", port, l)
			}
		}
		if strings.Contains(l, ng) {
			count++
			if !strings.Contains(l, "80/tcp, 443/tcp, 8080/tcp") {
				t.Errorf("ps line of nginx lacks 80/tcp, 443/tcp, 8080/tcp: %q", l)
			}
		}
	}
	if count != 2 {
		t.Errorf("ps did not list both services:\n%s", r.Stdout)
	}

	ps := portsPs(t, e)
	if got, want := fmt.Sprint(ps[bb].Publishers), fmt.Sprintf("[{127.0.0.1 8000 %d tcp}]", port); got != want {
		t.Errorf("busybox Publishers = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(ps[ng].Publishers), "[{ 80 0 tcp} { 443 0 tcp} { 8080 0 tcp}]"; got != want {
		t.Errorf("nginx Publishers = %s, want %s", got, want)
	}
	// busybox httpd answers (404: it has no index page) through the port
	Eventually(t, 20*time.Second, func() error {
		resp, err := netHTTP.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})

	// inspect: bound ports while running, exposed ones null.
	var ins []struct {
		Config     struct{ ExposedPorts map[string]struct{} }
		HostConfig struct {
			PortBindings map[string][]struct{ HostIp, HostPort string }
		}
		NetworkSettings struct {
			Ports map[string][]struct{ HostIp, HostPort string }
		}
	}
	if err := json.Unmarshal([]byte(e.MustBerth(t, "inspect", "busybox", "nginx").Stdout), &ins); err != nil || len(ins) != 2 {
		t.Fatalf("inspect busybox nginx: %v (%d)", err, len(ins))
	}
	bbPorts := fmt.Sprint(ins[0].NetworkSettings.Ports)
	if want := fmt.Sprintf("map[8000/tcp:[{127.0.0.1 %d}]]", port); bbPorts != want {
		t.Errorf("inspect busybox NetworkSettings.Ports = %s, want %s", bbPorts, want)
	}
	if got := fmt.Sprint(ins[0].HostConfig.PortBindings); got != fmt.Sprintf("map[8000/tcp:[{127.0.0.1 %d}]]", port) {
		t.Errorf("inspect busybox HostConfig.PortBindings = %s", got)
	}
	var exposed []string
	for k := range ins[1].Config.ExposedPorts {
		exposed = append(exposed, k)
	}
	sort.Strings(exposed)
	if got := strings.Join(exposed, " "); got != "443/tcp 80/tcp 8080/tcp" {
		t.Errorf("inspect nginx Config.ExposedPorts = %s", got)
	}

	e.MustBerth(t, "stop", "-t", "1")
	if lines := nonEmptyLines(e.MustBerth(t, "ps").Stdout); len(lines) != 1 {
		t.Errorf("ps after stop: %d lines, want the header only:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if lines := nonEmptyLines(e.MustBerth(t, "ps", "--all").Stdout); len(lines) != 3 {
		t.Errorf("ps --all after stop: %d lines, want 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// TestParityPortsExposeRange ports Compose's TestExposeRange (pkg/e2e/
// expose_test.go, a regression test for docker/compose#13378): a port
// range in expose is accepted; berth also checks that ps shows it as one
// range, as docker ps groups it.
func TestParityPortsExposeRange(t *testing.T) {
	e := portsEnv(t)
	e.Compose(t, "services:\n  test:\n"+netSleeper+"    expose:\n      - \"9091-9092\"\n")
	e.MustBerth(t, "up", "-d")
	if r := e.MustBerth(t, "ps"); !strings.Contains(r.Stdout, "9091-9092/tcp") {
		t.Errorf("ps does not show 9091-9092/tcp:\n%s", r.Stdout)
	}
}

// TestParityPortsRunPublish ports Compose's TestComposeRunPorts (pkg/e2e/
// compose_run_test.go): a one-off `run` publishes only what --publish
// asks, not the service's ports; with --service-ports it publishes the
// service's. berth also checks that the ad-hoc port answers and that the
// two flags together are refused.
func TestParityPortsRunPublish(t *testing.T) {
	e := portsEnv(t)
	base := portsFreeRange(t, 2)
	adhoc, model := base, base+1
	e.Compose(t, fmt.Sprintf("services:\n  back:\n    image: httpecho\n    ports:\n      - %d:8080\n", model))

	e.MustBerth(t, "run", "--publish", fmt.Sprintf("%d:8080", adhoc), "-d", "back")
	r := e.MustBerth(t, "ps", "-a")
	if !strings.Contains(r.Stdout, fmt.Sprintf("%d->8080/tcp", adhoc)) || strings.Contains(r.Stdout, fmt.Sprintf("%d->8080/tcp", model)) {
		t.Errorf("after run --publish %d:8080: want %d->8080/tcp and not %d->8080/tcp in ps:\n%s", adhoc, adhoc, model, r.Stdout)
	}
	netHostGet(t, fmt.Sprintf("http://127.0.0.1:%d/", adhoc), "hostname: ")

	e.MustBerth(t, "run", "--service-ports", "-d", "back")
	r = e.MustBerth(t, "ps", "-a")
	if !strings.Contains(r.Stdout, fmt.Sprintf("%d->8080/tcp", model)) {
		t.Errorf("after run --service-ports: want %d->8080/tcp in ps:\n%s", model, r.Stdout)
	}
	netHostGet(t, fmt.Sprintf("http://127.0.0.1:%d/", model), "hostname: ")

	if r := e.Berth(t, "run", "--service-ports", "-p", "1:8080", "back"); r.Code == 0 || !strings.Contains(r.Stderr, "incompatible") {
		t.Errorf("run --service-ports -p: want an error, got %s", r)
	}
}

// TestParityPortsRangeSkipsPublished: a port another berth state root
// already DNATs holds no socket, so no bind test sees it; a range must
// still skip it (the allocation reads the host's berth table) rather than
// install a second rule for the same port. (berth's own scenario.)
func TestParityPortsRangeSkipsPublished(t *testing.T) {
	first := portsEnv(t)
	port := portsFreeRange(t, 2)
	first.Compose(t, fmt.Sprintf("services:\n  web:\n    image: httpecho\n    hostname: first-root\n    ports: [\"%d:8080\"]\n", port))
	first.MustBerth(t, "up", "-d")
	if h := portsHostname(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); h != "first-root" {
		t.Fatalf("port %d answered by %q", port, h)
	}

	second := portsEnv(t) // another state root: its records know nothing of the first
	second.Compose(t, fmt.Sprintf("services:\n  web:\n    image: httpecho\n    hostname: second-root\n    ports: [\"%d-%d:8080\"]\n", port, port+1))
	second.MustBerth(t, "up", "-d")
	got := strings.TrimSpace(second.MustBerth(t, "port", "web", "8080").Stdout)
	if want := fmt.Sprintf("0.0.0.0:%d", port+1); got != want {
		t.Errorf("the second root's range took %s, want %s (%d is the first root's)", got, want, port)
	}
	if h := portsHostname(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); h != "first-root" {
		t.Errorf("port %d answered by %q, want first-root still", port, h)
	}
	if h := portsHostname(t, fmt.Sprintf("http://127.0.0.1:%d/", port+1)); h != "second-root" {
		t.Errorf("port %d answered by %q, want second-root", port+1, h)
	}
	// An explicit port another root publishes is refused, naming it.
	second.WriteFile(t, "fixed.yaml", fmt.Sprintf("services:\n  fixed:\n    image: httpecho\n    ports: [\"%d:8080\"]\n", port))
	r := second.Berth(t, "-p", second.Project+"-fixed", "-f", "fixed.yaml", "up", "-d")
	if r.Code == 0 || !strings.Contains(r.Stderr, strconv.Itoa(port)) || !strings.Contains(r.Stderr, "another berth state root") {
		t.Errorf("publishing %d, which another state root publishes: want an error naming it, got %s", port, r)
	}
}
