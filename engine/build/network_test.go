package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/layout"
	"github.com/berth-dev/berth/network/ipam"
)

// TestBridgeResolvConf: the host's resolvers minus loopback and IPv6 ones
// (unreachable from the build network), systemd-resolved's upstream list
// behind its stub, Docker's public fallback when nothing is left.
func TestBridgeResolvConf(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mixed := write("mixed", "nameserver 127.0.0.1\nnameserver 10.0.0.2\nnameserver fd00::1\nsearch corp.example\noptions ndots:2\n")
	stub := write("stub", "nameserver 127.0.0.53\nsearch lan\n")
	upstream := write("upstream", "nameserver 192.0.2.53\n")
	tests := []struct {
		paths []string
		want  string
	}{
		{[]string{mixed}, "nameserver 10.0.0.2\nsearch corp.example\noptions ndots:2\n"},
		{[]string{stub, upstream}, "nameserver 192.0.2.53\n"},
		{[]string{stub, filepath.Join(dir, "missing")}, "nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch lan\n"},
		{[]string{filepath.Join(dir, "missing")}, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
	}
	for _, tc := range tests {
		if got := string(bridgeResolvConf(tc.paths...)); got != tc.want {
			t.Errorf("%v:\n got %q\nwant %q", tc.paths, got, tc.want)
		}
	}
}

// TestRunOwnNetwork (root): RUN is in a network namespace of its own on
// the build's bridge, --network=host and none as asked, and nothing of
// the build network is left once the build is done.
func TestRunOwnNetwork(t *testing.T) {
	e := newEnv(t)
	img, _ := e.mustBuild(t, writeContext(t, nil), `FROM busybox
RUN ls /sys/class/net > /own && ip -4 route > /route
RUN --network=none ls /sys/class/net > /none
`, Options{})
	fs := flat(t, img)
	if got := fileOf(t, fs, "own"); got != "eth0\nlo\n" {
		t.Errorf("RUN interfaces %q, want eth0 and lo", got)
	}
	if got := fileOf(t, fs, "route"); !strings.HasPrefix(got, "default via ") {
		t.Errorf("RUN routes %q, want a default route via the build bridge", got)
	}
	if got := fileOf(t, fs, "none"); got != "lo\n" {
		t.Errorf("RUN --network=none interfaces %q, want lo", got)
	}
	alloc, err := ipam.New(layout.Layout{Root: filepath.Dir(e.cacheDir)}.IPAM())
	if err != nil {
		t.Fatal(err)
	}
	if nets, err := alloc.Networks(t.Context()); err != nil || len(nets) != 0 {
		t.Errorf("build networks left after the build: %v %v", nets, err)
	}
}
