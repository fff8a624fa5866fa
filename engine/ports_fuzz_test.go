package engine

import (
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// FuzzPortSpec: a port spec from a compose file (short syntax, any text)
// either is refused by the parser or by berth with an error naming the
// service, or becomes mappings with a real container port, a protocol
// berth can publish and, if any, an IPv4 host address.
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
		svc := types.ServiceConfig{Name: "web"}
		svc.Ports = ports
		ms, err := portMappings(svc)
		if err != nil {
			if !strings.Contains(err.Error(), `"web"`) {
				t.Fatalf("%q: error %q does not name the service", spec, err)
			}
			return
		}
		for _, m := range ms {
			if m.ContainerPort == 0 {
				t.Fatalf("%q: mapping %v has no container port", spec, m)
			}
			if m.Proto != "tcp" && m.Proto != "udp" {
				t.Fatalf("%q: mapping %v has protocol %q", spec, m, m.Proto)
			}
			if m.HostIP != nil && m.HostIP.To4() == nil {
				t.Fatalf("%q: mapping %v has a non-IPv4 host address", spec, m)
			}
		}
	})
}
