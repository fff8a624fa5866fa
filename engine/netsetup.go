package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/state"
)

// prepareNetwork gives a container its network: for network_mode none a
// new empty namespace (made by the runtime), for host the host's. It
// writes the container's /etc/hosts, /etc/resolv.conf and /etc/hostname
// into its directory and points c at them. It returns the netns path berth
// made ("" when the runtime makes it) and how to undo its work.
func (e *Engine) prepareNetwork(ctx context.Context, p *types.Project, svc types.ServiceConfig, id, dir string, c *runtime.Container) (string, func(), error) {
	mode := svc.NetworkMode
	hostname := svc.Hostname
	if hostname == "" {
		hostname = runtime.ShortID(id)
	}
	switch {
	case mode == "host":
		h, _ := os.Hostname()
		hosts, err := os.ReadFile("/etc/hosts")
		if err != nil {
			hosts = []byte("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
		}
		hosts = append(hosts, extraHosts(svc.ExtraHosts)...)
		resolv, err := os.ReadFile("/etc/resolv.conf")
		if err != nil {
			resolv = nil
		}
		return "", nil, writeNetFiles(dir, c, hosts, resolv, h)
	case mode == "none":
		hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n", hostname)
		return "", nil, writeNetFiles(dir, c, append([]byte(hosts), extraHosts(svc.ExtraHosts)...), nil, hostname)
	case strings.HasPrefix(mode, types.ServicePrefix), strings.HasPrefix(mode, types.ContainerPrefix):
		return "", nil, fmt.Errorf("service %q: network_mode %q is not supported yet (use none or host)", svc.Name, mode)
	default:
		return "", nil, fmt.Errorf("service %q: bridge networks are not supported yet: set network_mode: none or host", svc.Name)
	}
}

func writeNetFiles(dir string, c *runtime.Container, hosts, resolv []byte, hostname string) error {
	files := map[string][]byte{"hosts": hosts, "resolv.conf": resolv, "hostname": []byte(hostname + "\n")}
	for name, data := range files {
		if err := state.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	c.HostsFile = filepath.Join(dir, "hosts")
	c.ResolvConf = filepath.Join(dir, "resolv.conf")
	c.HostnameFile = filepath.Join(dir, "hostname")
	return nil
}

// extraHosts renders extra_hosts as /etc/hosts lines.
func extraHosts(h types.HostsList) []byte {
	var b strings.Builder
	for _, name := range sortedKeys(h) {
		for _, ip := range h[name] {
			fmt.Fprintf(&b, "%s\t%s\n", ip, name)
		}
	}
	return []byte(b.String())
}

// teardownNetwork undoes prepareNetwork.
func (e *Engine) teardownNetwork(ctx context.Context, rec *state.Container) {}
