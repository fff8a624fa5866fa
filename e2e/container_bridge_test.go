package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// Scenarios of the default `bridge` network (Docker's docker0) and of
// user networks for standalone containers, as Docker's networking
// tutorials walk through them: on a user network containers find each
// other by name and alias; on the default bridge only by address.

// cIP is the IPv4 address of a standalone container's eth0.
func cIP(t *testing.T, e *Env, name string) net.IP {
	t.Helper()
	r := e.MustBerth(t, "container", "exec", name, "ip", "-4", "-o", "addr", "show", "eth0")
	for _, f := range strings.Fields(r.Stdout) {
		if ip, _, err := net.ParseCIDR(f); err == nil {
			return ip
		}
	}
	t.Fatalf("container %s: no IPv4 address on eth0:\n%s", name, r.Stdout)
	return nil
}

// cFetch polls until container from fetches url (bounded, busybox wget)
// with want in the answer.
func cFetch(t *testing.T, e *Env, from, url, want string) {
	t.Helper()
	Eventually(t, 20*time.Second, func() error {
		r := e.Berth(t, "container", "exec", from, "timeout", "3", "wget", "-qO-", url)
		if r.Code != 0 || !strings.Contains(r.Stdout, want) {
			return fmt.Errorf("%s cannot fetch %s (want %q): %s", from, url, want, r)
		}
		return nil
	})
}

// networkLs is `network ls --format json` by name.
func networkLs(t *testing.T, e *Env) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	r := e.MustBerth(t, "network", "ls", "--format", "json")
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if line == "" {
			continue
		}
		var n map[string]any
		if err := json.Unmarshal([]byte(line), &n); err != nil {
			t.Fatalf("network ls --format json: %q: %v", line, err)
		}
		out[fmt.Sprint(n["Name"])] = n
	}
	return out
}

// hostNameservers are the IPv4, non-loopback nameservers of the host's
// resolv.conf: what Docker writes into a default-bridge container's.
func hostNameservers(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			if ip := net.ParseIP(f[1]); ip != nil && ip.To4() != nil && !ip.IsLoopback() {
				out = append(out, f[1])
			}
		}
	}
	return out
}

// TestContainerDefaultBridge: without --network, standalone containers
// join one shared network named bridge (made on first use, shown by
// `network ls` with driver bridge): they reach each other by address but
// not by name (no embedded DNS; resolv.conf names the host's resolvers,
// as Docker's default bridge), a published port answers on 127.0.0.1 (the
// tutorial's `run -d -p 8080:80 --name web`), `network rm bridge` is
// refused with Docker's message, and the network stays after its last
// container, as docker0 does, until a prune finds it unused.
func TestContainerDefaultBridge(t *testing.T) {
	e := containerEnv(t, "br-a", "br-b", "web", "br-auto")
	if _, ok := networkLs(t, e)["bridge"]; ok {
		t.Fatalf("network ls lists bridge before any container: it is made on first use")
	}
	e.MustBerth(t, "container", "run", "-d", "--name", "br-a", "httpecho")
	e.MustBerth(t, "container", "run", "-d", "--name", "br-b", "--init", "busybox", "sleep", "300")

	nets := networkLs(t, e)
	br, ok := nets["bridge"]
	if !ok || br["Driver"] != "bridge" || len(nets) != 1 {
		t.Fatalf("network ls: %v, want one network, bridge, with driver bridge", nets)
	}
	var inspect []struct {
		IPAM    struct{ Config []struct{ Subnet string } }
		Options map[string]string
	}
	r := e.MustBerth(t, "network", "inspect", "bridge")
	if err := json.Unmarshal([]byte(r.Stdout), &inspect); err != nil || len(inspect) != 1 || len(inspect[0].IPAM.Config) == 0 {
		t.Fatalf("network inspect bridge: %v\n%s", err, r.Stdout)
	}
	if inspect[0].Options["com.docker.network.bridge.name"] == "" {
		t.Fatalf("network inspect bridge: no bridge device named:\n%s", r.Stdout)
	}
	_, subnet, err := net.ParseCIDR(inspect[0].IPAM.Config[0].Subnet)
	if err != nil {
		t.Fatalf("network inspect bridge: subnet %q: %v", inspect[0].IPAM.Config[0].Subnet, err)
	}
	ipA, ipB := cIP(t, e, "br-a"), cIP(t, e, "br-b")
	if !subnet.Contains(ipA) || !subnet.Contains(ipB) || ipA.Equal(ipB) {
		t.Fatalf("br-a %s and br-b %s: want two addresses in bridge's subnet %s", ipA, ipB, subnet)
	}

	// the tutorials' way to learn it: the legacy top-level field
	if r := e.MustBerth(t, "container", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "br-a"); strings.TrimSpace(r.Stdout) != ipA.String() {
		t.Errorf("container inspect -f {{.NetworkSettings.IPAddress}} br-a: %q, want %s", r.Stdout, ipA)
	}
	// by address: yes
	cFetch(t, e, "br-b", fmt.Sprintf("http://%s:8080/", ipA), "hostname:")
	// by name: no, as on Docker's default bridge
	if r := e.Berth(t, "container", "exec", "br-b", "timeout", "10", "ping", "-c1", "-W1", "br-a"); r.Code == 0 {
		t.Errorf("br-b resolved br-a on the default bridge (Docker's has no name resolution):\n%s", r)
	}
	if r := e.Berth(t, "container", "exec", "br-b", "timeout", "5", "nslookup", "br-a", "127.0.0.11"); r.Code == 0 && strings.Contains(r.Stdout, ipA.String()) {
		t.Errorf("a resolver at 127.0.0.11 answers br-a on the default bridge:\n%s", r)
	}
	resolv := e.MustBerth(t, "container", "exec", "br-b", "cat", "/etc/resolv.conf").Stdout
	if strings.Contains(resolv, "127.0.0.11") {
		t.Errorf("resolv.conf on the default bridge names berth's resolver:\n%s", resolv)
	}
	want := hostNameservers(t)
	if len(want) == 0 {
		want = []string{"8.8.8.8"} // Docker's fallback
	}
	if !strings.Contains(resolv, "nameserver "+want[0]+"\n") {
		t.Errorf("resolv.conf on the default bridge:\n%s\nwant the host's resolver %s", resolv, want[0])
	}
	// its own name is in its hosts file, as Docker's
	if r := e.MustBerth(t, "container", "exec", "br-a", "cat", "/etc/hosts"); !strings.Contains(r.Stdout, ipA.String()) {
		t.Errorf("br-a's /etc/hosts lacks its own address %s:\n%s", ipA, r.Stdout)
	}

	// the tutorial: run -d -p HOST:CONTAINER --name web, then curl 127.0.0.1
	port := netFreePort(t, "tcp")
	e.MustBerth(t, "container", "run", "-d", "-p", fmt.Sprintf("%d:8080", port), "--name", "web", "-e", "GREETING=tutorial", "httpecho")
	netHostGet(t, fmt.Sprintf("http://127.0.0.1:%d/env", port), "GREETING=tutorial")
	cFetch(t, e, "br-b", fmt.Sprintf("http://%s:8080/env", cIP(t, e, "web")), "GREETING=tutorial")

	// Docker's refusals
	if r := e.Berth(t, "network", "rm", "bridge"); r.Code == 0 || !strings.Contains(r.Stderr, "bridge is a pre-defined network and cannot be removed") {
		t.Errorf("network rm bridge: want Docker's refusal:\n%s", r)
	}
	if r := e.Berth(t, "network", "create", "bridge"); r.Code == 0 || !strings.Contains(r.Stderr, "operation is not permitted on predefined bridge network") {
		t.Errorf("network create bridge: want Docker's refusal:\n%s", r)
	}
	if r := e.Berth(t, "container", "run", "--rm", "--network-alias", "x", "busybox", "true"); r.Code == 0 || !strings.Contains(r.Stderr, "network-scoped alias is supported only for containers in user defined networks") {
		t.Errorf("--network-alias on the default bridge: want Docker's refusal:\n%s", r)
	}
	// a compose project never joins it
	e.Compose(t, "services:\n  s:\n    image: busybox\n    command: [sleep, \"300\"]\nnetworks:\n  default:\n    name: bridge\n    external: true\n")
	if r := e.Berth(t, "up", "-d"); r.Code == 0 || !strings.Contains(r.Stderr, "compose project cannot join it") {
		t.Errorf("up of a project on the external network bridge: want a refusal:\n%s", r)
	}
	e.Berth(t, "down", "-t", "0")

	// --network none / host, as Docker's
	if out := e.MustBerth(t, "container", "run", "--rm", "--network", "none", "busybox", "ip", "-o", "link").Stdout; strings.Contains(out, "eth0") {
		t.Errorf("--network none: has eth0:\n%s", out)
	}
	// a --rm run on the bridge goes and leaves the bridge to the others
	out := e.MustBerth(t, "container", "run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0").Stdout
	inSubnet := false
	for _, f := range strings.Fields(out) {
		if ip, _, err := net.ParseCIDR(f); err == nil && subnet.Contains(ip) {
			inSubnet = true
		}
	}
	if !inSubnet {
		t.Errorf("container run --rm without --network: eth0 %q not in bridge's subnet %s", out, subnet)
	}

	// the bridge stays with its last container gone, as docker0 does
	bridgeDev := inspect[0].Options["com.docker.network.bridge.name"]
	e.MustBerth(t, "container", "rm", "-f", "br-a", "web")
	if _, ok := networkLs(t, e)["bridge"]; !ok {
		t.Fatalf("bridge removed while br-b still uses it")
	}
	e.MustBerth(t, "network", "prune", "-f")
	if _, ok := networkLs(t, e)["bridge"]; !ok {
		t.Fatalf("network prune removed bridge while br-b still uses it")
	}
	e.MustBerth(t, "container", "rm", "-f", "br-b")
	if _, ok := networkLs(t, e)["bridge"]; !ok {
		t.Errorf("network ls: no bridge after its last container's rm; want it kept, as docker0")
	}
	if _, err := net.InterfaceByName(bridgeDev); err != nil {
		t.Errorf("bridge device %s gone after the last container's rm; want it kept: %v", bridgeDev, err)
	}
	// unused, a prune removes it, device and all
	e.MustBerth(t, "network", "prune", "-f")
	if _, ok := networkLs(t, e)["bridge"]; ok {
		t.Errorf("network ls lists bridge after network prune with no container on it")
	}
	if _, err := net.InterfaceByName(bridgeDev); err == nil {
		t.Errorf("bridge device %s still exists after network prune", bridgeDev)
	}

	// -d --rm: made again on first use, kept after the autoremove
	e.MustBerth(t, "container", "run", "-d", "--rm", "--name", "br-auto", "busybox", "sh", "-c", "sleep 1")
	if _, ok := networkLs(t, e)["bridge"]; !ok {
		t.Errorf("network ls: no bridge while br-auto runs on it")
	}
	Eventually(t, 30*time.Second, func() error {
		if ls := containerLs(t, e, "-a"); len(ls) > 0 {
			return fmt.Errorf("container ls -a: %v, want br-auto autoremoved", ls)
		}
		return nil
	})
	if _, ok := networkLs(t, e)["bridge"]; !ok {
		t.Errorf("network ls: no bridge after the autoremove of its last container; want it kept")
	}
	// system prune removes it too (the Env's cleanup would otherwise)
	e.MustBerth(t, "system", "prune", "-f")
	if _, ok := networkLs(t, e)["bridge"]; ok {
		t.Errorf("network ls lists bridge after system prune with no container on it")
	}
}

// TestContainerUserNetworkNames: two standalone containers on a user
// network (its subnet from the pool) reach each other by name and by
// --network-alias, through berth's resolver, as on Docker's user-defined
// networks.
func TestContainerUserNetworkNames(t *testing.T) {
	e := containerEnv(t, "un-a", "un-b")
	netName := "unet-" + e.Project[len(e.Project)-6:]
	t.Cleanup(func() { e.run(context.Background(), nil, "network", "rm", netName) })
	e.MustBerth(t, "network", "create", netName)
	e.MustBerth(t, "container", "run", "-d", "--name", "un-a", "--network", netName, "--network-alias", "api", "httpecho")
	e.MustBerth(t, "container", "run", "-d", "--name", "un-b", "--init", "--network", netName, "busybox", "sleep", "300")
	cFetch(t, e, "un-b", "http://un-a:8080/", "hostname:")
	cFetch(t, e, "un-b", "http://api:8080/", "hostname:")
	if r := e.MustBerth(t, "container", "exec", "un-b", "cat", "/etc/resolv.conf"); !strings.Contains(r.Stdout, "nameserver 127.0.0.11") {
		t.Errorf("resolv.conf on a user network: want berth's resolver:\n%s", r.Stdout)
	}
	if _, ok := networkLs(t, e)["bridge"]; ok {
		t.Errorf("network ls lists bridge though no container is on it")
	}
	e.MustBerth(t, "container", "rm", "-f", "un-a", "un-b")
	if r := e.Berth(t, "network", "rm", netName); r.Code != 0 {
		t.Errorf("network rm %s after its containers: %s", netName, r)
	}
}
