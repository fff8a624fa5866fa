package portmap

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Sort orders bindings as Docker lists a container's ports: by container
// port, host address, host port, protocol.
func Sort(bs []Binding) {
	slices.SortStableFunc(bs, func(a, b Binding) int {
		return cmp.Or(
			cmp.Compare(a.ContainerPort, b.ContainerPort),
			cmp.Compare(displayIP(a), displayIP(b)),
			cmp.Compare(a.HostPort, b.HostPort),
			cmp.Compare(a.Protocol, b.Protocol),
		)
	})
}

// displayIP is the address docker ps shows: "" for an exposed-only port.
func displayIP(b Binding) string {
	if !b.Published() {
		return ""
	}
	return b.HostAddr()
}

// Display renders a container's ports as the PORTS column of `docker ps`
// and `docker compose ps`: "0.0.0.0:8080->80/tcp, 443/tcp". Runs of
// consecutive ports (exposed ones, or ones published on the same port
// number) become ranges ("9091-9092/tcp"); ports published on another
// host port come last, one each.
func Display(bs []Binding) string {
	bs = slices.Clone(bs)
	Sort(bs)
	type group struct{ first, last uint16 }
	groups := map[string]*group{}
	var order, out, mappings []string
	for _, b := range bs {
		key := string(b.Protocol)
		if b.Published() {
			if b.HostPort != b.ContainerPort {
				mappings = append(mappings, b.String())
				continue
			}
			key = b.HostAddr() + "/" + key
		}
		g := groups[key]
		switch {
		case g == nil:
			groups[key] = &group{b.ContainerPort, b.ContainerPort}
			order = append(order, key)
		case b.ContainerPort == g.last+1:
			g.last = b.ContainerPort
		case b.ContainerPort == g.last:
			// the same port twice (exposed and published): once
		default:
			out = append(out, formGroup(key, g.first, g.last))
			groups[key] = &group{b.ContainerPort, b.ContainerPort}
		}
	}
	for _, k := range order {
		out = append(out, formGroup(k, groups[k].first, groups[k].last))
	}
	return strings.Join(append(out, mappings...), ", ")
}

func formGroup(key string, first, last uint16) string {
	ip, proto, hasIP := strings.Cut(key, "/")
	if !hasIP {
		ip, proto = "", key
	}
	ports := fmt.Sprint(first)
	if last != first {
		ports = fmt.Sprintf("%d-%d", first, last)
	}
	if ip != "" {
		ports = fmt.Sprintf("%s:%s->%s", ip, ports, ports)
	}
	return ports + "/" + proto
}

// Merge adds to published the exposed-only ports whose container port
// and protocol no published binding covers: what a running container
// shows.
func Merge(published, exposed []Binding) []Binding {
	out := slices.Clone(published)
	seen := map[string]bool{}
	for _, b := range published {
		seen[b.Key()] = true
	}
	for _, b := range exposed {
		if !seen[b.Key()] {
			seen[b.Key()] = true
			out = append(out, Binding{ContainerPort: b.ContainerPort, Protocol: b.Protocol})
		}
	}
	Sort(out)
	return out
}
