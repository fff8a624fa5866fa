package portmap

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// FuzzPortSpec: a port spec from a compose file (short syntax, any text)
// either is refused by compose-go's parser or by the normalizer with an
// ErrBadPort, or becomes Specs with a real container port, a protocol
// berth can publish, an IPv4 host address or none, and a host range that
// does not end before it starts.
func FuzzPortSpec(f *testing.F) {
	for _, s := range []string{
		"80", "8080:80", "127.0.0.1:8080:80", "127.0.0.1::80", "8000-8010:80",
		"8000-8010:80-90/udp", "[::1]:80:80", "0.0.0.0:65535:65535/tcp", "1:1/sctp",
		"99999:80", "-1:80", "0", "8080:0", "80:70000", "a:b:c:d", "127.0.0.1:8080:80/tcp/udp", ":80",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ports, err := types.ParsePortConfig(spec)
		if err != nil {
			return
		}
		specs, err := NormalizeService(ports)
		if err != nil {
			return
		}
		for _, s := range specs {
			if s.ContainerPort == 0 {
				t.Fatalf("%q: %v has no container port", spec, s)
			}
			if s.Protocol != TCP && s.Protocol != UDP {
				t.Fatalf("%q: %v has protocol %q", spec, s, s.Protocol)
			}
			if s.HostIP.IsValid() && !s.HostIP.Is4() {
				t.Fatalf("%q: %v has a non-IPv4 host address", spec, s)
			}
			if s.HostTo < s.HostFrom || (s.HostFrom == 0) != (s.HostTo == 0) {
				t.Fatalf("%q: %v has a bad host range", spec, s)
			}
		}
	})
}
