package portmap

import (
	"errors"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func shortSyntax(t *testing.T, specs ...string) []types.ServicePortConfig {
	t.Helper()
	var out []types.ServicePortConfig
	for _, s := range specs {
		ps, err := types.ParsePortConfig(s)
		if err != nil {
			t.Fatalf("compose-go refuses %q: %v", s, err)
		}
		out = append(out, ps...)
	}
	return out
}

func TestNormalizeService(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // Spec.String of each, joined by " "
	}{
		{"80", "80/tcp"},
		{"0:80", "80/tcp"},
		{"8080:80", "8080:80/tcp"},
		{"127.0.0.1:8080:80", "127.0.0.1:8080:80/tcp"},
		{"127.0.0.1::80", "127.0.0.1::80/tcp"},
		{"0.0.0.0:8080:80", "8080:80/tcp"},
		{"8000-8010:80", "8000-8010:80/tcp"},
		{"8000-8001:80-81", "8000:80/tcp 8001:81/tcp"},
		{"53:53/udp", "53:53/udp"},
		{"53:53/UDP", "53:53/udp"},
		{"[::1]:8080:80", ""}, // IPv6 host address: left out
	} {
		specs, err := NormalizeService(shortSyntax(t, tc.in))
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var got []string
		for _, s := range specs {
			got = append(got, s.String())
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, strings.Join(got, " "), tc.want)
		}
	}
	// long syntax, as compose-go loads it
	specs, err := NormalizeService([]types.ServicePortConfig{{Target: 80, Published: "6005-6015", HostIP: "127.0.0.2"}})
	if err != nil || len(specs) != 1 || specs[0] != (Spec{HostIP: netip.MustParseAddr("127.0.0.2"), HostFrom: 6005, HostTo: 6015, ContainerPort: 80, Protocol: TCP}) {
		t.Errorf("long syntax range: %+v %v", specs, err)
	}
}

func TestNormalizeServiceErrors(t *testing.T) {
	for _, tc := range []struct {
		in   types.ServicePortConfig
		want string
	}{
		{types.ServicePortConfig{Target: 80, Protocol: "sctp"}, `ports[0] "80/sctp": protocol "sctp"`},
		{types.ServicePortConfig{Target: 0}, "container port 0"},
		{types.ServicePortConfig{Target: 70000}, "container port 70000"},
		{types.ServicePortConfig{Target: 80, Published: "8010-8000"}, "ends before it starts"},
		{types.ServicePortConfig{Target: 80, Published: "0-10"}, "port 0"},
		{types.ServicePortConfig{Target: 80, Published: "http"}, `"http" is not a port number`},
		{types.ServicePortConfig{Target: 80, HostIP: "localhost"}, `host_ip "localhost"`},
	} {
		_, err := NormalizeService([]types.ServicePortConfig{tc.in})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBadPort) {
			t.Errorf("%+v: got %v, want an ErrBadPort containing %q", tc.in, err, tc.want)
		}
	}
}

func TestNormalizeExpose(t *testing.T) {
	got, err := NormalizeExpose([]string{"80", "9091-9092", "53/udp", "443/tcp"})
	if err != nil {
		t.Fatal(err)
	}
	// docker ps closes a group only when a later port breaks it, so the
	// open groups (53/udp, 9091-9092/tcp) come after the closed ones
	if s := Display(got); s != "80/tcp, 443/tcp, 53/udp, 9091-9092/tcp" {
		t.Errorf("exposed ports display as %q", s)
	}
	for _, bad := range []string{"", "0", "http", "80/sctp", "90-80"} {
		if _, err := NormalizeExpose([]string{bad}); err == nil {
			t.Errorf("expose %q: no error", bad)
		}
	}
}

func TestDisplay(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	for _, tc := range []struct {
		in   []Binding
		want string
	}{
		{nil, ""},
		{[]Binding{{HostPort: 8080, ContainerPort: 80, Protocol: TCP}}, "0.0.0.0:8080->80/tcp"},
		{[]Binding{{HostIP: ip, HostPort: 8001, ContainerPort: 8000, Protocol: TCP}}, "127.0.0.1:8001->8000/tcp"},
		{[]Binding{{ContainerPort: 8080, Protocol: TCP}, {ContainerPort: 80, Protocol: TCP}, {ContainerPort: 443, Protocol: TCP}}, "80/tcp, 443/tcp, 8080/tcp"},
		{[]Binding{{HostPort: 8000, ContainerPort: 8000, Protocol: TCP}, {HostPort: 8001, ContainerPort: 8001, Protocol: TCP}}, "0.0.0.0:8000-8001->8000-8001/tcp"},
		{[]Binding{{HostPort: 9000, ContainerPort: 80, Protocol: TCP}, {ContainerPort: 53, Protocol: UDP}}, "53/udp, 0.0.0.0:9000->80/tcp"},
	} {
		if got := Display(tc.in); got != tc.want {
			t.Errorf("Display(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// exposed and published on the same container port: shown published
	m := Merge([]Binding{{HostPort: 9000, ContainerPort: 80, Protocol: TCP}}, []Binding{{ContainerPort: 80, Protocol: TCP}, {ContainerPort: 81, Protocol: TCP}})
	if got := Display(m); got != "81/tcp, 0.0.0.0:9000->80/tcp" {
		t.Errorf("merged: %q", got)
	}
	b := Binding{HostIP: ip, HostPort: 8001, ContainerPort: 8000, Protocol: UDP}
	if b.HostPortString() != "127.0.0.1:8001" || b.Key() != "8000/udp" || (Binding{HostPort: 1, ContainerPort: 2, Protocol: TCP}).HostPortString() != "0.0.0.0:1" {
		t.Errorf("HostPortString/Key: %q %q", b.HostPortString(), b.Key())
	}
}

// TestImportsNothingOfBerth: the value type is a leaf (compose-go and the
// standard library), so that every layer can share it.
func TestImportsNothingOfBerth(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/berth-dev/berth/") && dep != "github.com/berth-dev/berth/network/portmap" {
			t.Errorf("portmap imports %s; it must stay a leaf", dep)
		}
	}
}
