package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
)

// Issue 11 item 11: the lesser differences from Docker — security_opt
// values that were silently ignored, and build RUN on the host's network.

// mountLine is the /proc/self/mountinfo line whose mount point is target
// ("" when there is none).
func mountLine(mountinfo, target string) string {
	for _, l := range strings.Split(mountinfo, "\n") {
		if f := strings.Fields(l); len(f) > 5 && f[4] == target {
			return l
		}
	}
	return ""
}

// cgroupReadOnly reports whether any mount at or under /sys/fs/cgroup is
// read-only (cgroup v2: the one cgroup2 mount; v1: each hierarchy).
func cgroupReadOnly(mountinfo string) bool {
	for _, l := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(l)
		if len(f) > 5 && (f[4] == "/sys/fs/cgroup" || strings.HasPrefix(f[4], "/sys/fs/cgroup/")) && strings.HasPrefix(f[5], "ro") {
			return true
		}
	}
	return false
}

// TestSecurityOptSystemPathsAndCgroups: systempaths=unconfined really
// unmasks /proc (no /dev/null over /proc/keys, no read-only /proc/sys),
// writable-cgroups makes /sys/fs/cgroup writable, and a default container
// keeps both; before, both options were accepted and ignored.
func TestSecurityOptSystemPathsAndCgroups(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  plain:
    image: busybox
    network_mode: none
    command: ["cat", "/proc/self/mountinfo"]
  unconfined:
    image: busybox
    network_mode: none
    security_opt: ["systempaths=unconfined", "label=type:container_t"]
    command: ["cat", "/proc/self/mountinfo"]
  cgroups:
    image: busybox
    network_mode: none
    security_opt: ["writable-cgroups=true"]
    command: ["cat", "/proc/self/mountinfo"]
`)
	_, plain := oneShot(t, e, "plain")
	if mountLine(plain, "/proc/keys") == "" || mountLine(plain, "/proc/sys") == "" {
		t.Fatalf("default container: /proc/keys masked and /proc/sys read-only expected:\n%s", plain)
	}
	if !cgroupReadOnly(plain) {
		t.Errorf("default container: cgroup mounts not read-only:\n%s", plain)
	}
	_, unconfined := oneShot(t, e, "unconfined")
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/sys", "/sys/firmware"} {
		if l := mountLine(unconfined, p); l != "" {
			t.Errorf("systempaths=unconfined: %s still masked or read-only: %s", p, l)
		}
	}
	_, cg := oneShot(t, e, "cgroups")
	if cgroupReadOnly(cg) {
		t.Errorf("writable-cgroups=true: a cgroup mount is read-only:\n%s", cg)
	}
}

// TestSecurityOptRefused: values berth cannot honour are errors naming the
// service and the entry, not silently dropped; an apparmor= profile on a
// host without AppArmor is ignored as Docker does, with a warning.
func TestSecurityOptRefused(t *testing.T) {
	e := NewEnv(t)
	for _, opt := range []string{"systempaths=confined", "apparmor=", "writable-cgroups=maybe", "selinux=on"} {
		e.Compose(t, fmt.Sprintf(`services:
  web:
    image: busybox
    network_mode: none
    security_opt: [%q]
    command: ["true"]
`, opt))
		r := e.Berth(t, "up", "-d")
		if r.Code == 0 {
			t.Errorf("security_opt %s accepted:\n%s", opt, r)
			continue
		}
		if !strings.Contains(r.Stderr, `service "web"`) || !strings.Contains(r.Stderr, opt) {
			t.Errorf("security_opt %s: error does not name the service and the entry:\n%s", opt, r)
		}
	}
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && len(b) > 0 && b[0] == 'Y' {
		t.Skip("the host has AppArmor: the warning for an ignored profile is not shown")
	}
	e.Compose(t, `services:
  web:
    image: busybox
    network_mode: none
    security_opt: ["apparmor=my-profile"]
    command: ["true"]
`)
	r := e.MustBerth(t, "up")
	if !strings.Contains(r.Stdout+r.Stderr, "apparmor=my-profile ignored") {
		t.Errorf("no warning about the ignored AppArmor profile:\n%s", r)
	}
}

// TestBuildRunNetwork: a RUN step has a network namespace of its own
// (eth0 and lo only), reaches an address outside it through the build
// bridge's routing and NAT, and has a resolv.conf without the host's
// loopback resolvers; RUN --network=none has only lo, and --network=host
// sees the host's interfaces. Before, every RUN ran on the host's network.
func TestBuildRunNetwork(t *testing.T) {
	e := NewEnv(t)
	ip := netHostAddr(t)
	hostIf := ""
	links, _ := net.Interfaces()
	for _, l := range links {
		if addrs, _ := l.Addrs(); len(addrs) > 0 && strings.HasPrefix(addrs[0].String(), ip.String()+"/") {
			hostIf = l.Name
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	token := "reached-" + netRandHex(4)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, token) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	e.WriteFile(t, "Dockerfile", fmt.Sprintf(`FROM busybox
RUN ls /sys/class/net > /ifaces-default && cat /etc/resolv.conf > /resolv
RUN timeout 5 wget -qO- http://%s/ > /fetched
RUN --network=none ls /sys/class/net > /ifaces-none
RUN --network=host ls /sys/class/net > /ifaces-host
`, ln.Addr()))
	e.MustBerth(t, "image", "build", "-t", "netcheck:dev", ".")
	files := map[string]string{}
	for _, l := range layerFiles(t, e, "netcheck:dev") {
		for k, v := range l {
			files[k] = v
		}
	}
	if got := files["ifaces-default"]; got != "eth0\nlo\n" {
		t.Errorf("RUN's interfaces = %q, want eth0 and lo only (a namespace of its own)", got)
	}
	if got := files["fetched"]; got != token {
		t.Errorf("RUN fetched %q from %s, want %q", got, ln.Addr(), token)
	}
	if strings.Contains(files["resolv"], "nameserver 127.") || !strings.Contains(files["resolv"], "nameserver ") {
		t.Errorf("RUN's resolv.conf has no nameserver it can reach:\n%s", files["resolv"])
	}
	if got := files["ifaces-none"]; got != "lo\n" {
		t.Errorf("RUN --network=none interfaces = %q, want lo only", got)
	}
	if hostIf == "" || !strings.Contains(files["ifaces-host"], hostIf+"\n") {
		t.Errorf("RUN --network=host interfaces = %q, want the host's (with %s)", files["ifaces-host"], hostIf)
	}
}
