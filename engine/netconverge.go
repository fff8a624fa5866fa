package engine

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/state"
)

// A network whose configuration changed (its ipam subnet, say) is
// converged as Compose does: its containers are recreated and the network
// with them. networkChange finds the difference, the planner recreates
// the containers on such a network, and replaceNetworks removes them and
// the network before ensureNetworks makes it anew.

// networkChange says how an existing network differs from what the
// project asks, "" when it does not. Only what the project sets counts:
// a subnet berth chose is not a change when none is asked for.
func networkChange(rec *state.Network, spec NetworkSpec) string {
	var diffs []string
	if spec.Subnet != "" && !sameCIDR(spec.Subnet, rec.Subnet) {
		diffs = append(diffs, fmt.Sprintf("ipam subnet %s → %s", rec.Subnet, spec.Subnet))
	}
	if spec.Gateway != "" && !net.ParseIP(spec.Gateway).Equal(net.ParseIP(rec.Gateway)) {
		diffs = append(diffs, fmt.Sprintf("ipam gateway %s → %s", rec.Gateway, spec.Gateway))
	}
	if spec.IPRange != "" && !sameCIDR(spec.IPRange, rec.IPRange) {
		diffs = append(diffs, fmt.Sprintf("ipam ip_range %s → %s", rec.IPRange, spec.IPRange))
	}
	if spec.Internal != rec.Internal {
		diffs = append(diffs, fmt.Sprintf("internal %t → %t", rec.Internal, spec.Internal))
	}
	if v := spec.DriverOpts["com.docker.network.driver.mtu"]; v != "" {
		if mtu, err := strconv.Atoi(v); err == nil && mtu != rec.MTU {
			diffs = append(diffs, fmt.Sprintf("mtu %d → %d", rec.MTU, mtu))
		}
	}
	if v := spec.DriverOpts["com.docker.network.bridge.name"]; v != "" && v != rec.Bridge {
		diffs = append(diffs, fmt.Sprintf("bridge name %s → %s", rec.Bridge, v))
	}
	return strings.Join(diffs, ", ")
}

func sameCIDR(a, b string) bool {
	_, na, err1 := net.ParseCIDR(a)
	_, nb, err2 := net.ParseCIDR(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	return na.String() == nb.String()
}

// divergedNetworks maps the name of each network the services use that
// exists with another configuration than the project's to the change.
// External networks are the user's: never changed.
func (e *Engine) divergedNetworks(p *types.Project, services []string) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range services {
		for _, key := range serviceNetworks(p.Services[name]) {
			if cfg, ok := p.Networks[key]; ok && bool(cfg.External) {
				continue
			}
			spec := networkSpec(p, key)
			if _, done := out[spec.Name]; done {
				continue
			}
			rec, err := e.networks().Get(spec.Name)
			if err != nil {
				continue // not made yet (or unreadable: ensureNetwork says so)
			}
			if change := networkChange(rec, spec); change != "" {
				out[spec.Name] = change
			}
		}
	}
	return out, nil
}

// networkReasons gives, for each service joining a diverged network, the
// reason its containers are recreated.
func networkReasons(p *types.Project, services []string, diverged map[string]string) map[string]string {
	out := map[string]string{}
	for _, name := range services {
		for _, key := range serviceNetworks(p.Services[name]) {
			if change, ok := diverged[networkName(p, key)]; ok {
				out[name] = fmt.Sprintf("network %q changed: %s", key, change)
				break
			}
		}
	}
	return out
}

// replaceNetworks removes the diverged networks and, first, the
// containers attached to them, which the plan recreates; it returns those
// containers' records by ID, for their recreate steps to create the new
// ones (with the same anonymous volumes). A container attached to one of
// them that the plan does not recreate (a service not named, or
// --no-recreate) stops it: nothing is removed then.
func (e *Engine) replaceNetworks(ctx context.Context, p *types.Project, plan Plan, diverged map[string]string) (map[string]*state.Container, error) {
	if len(diverged) == 0 {
		return nil, nil
	}
	steps := map[string]Step{}
	for _, s := range plan.Steps {
		if s.ID != "" {
			steps[s.ID] = s
		}
	}
	recs, err := e.store.List("")
	if err != nil {
		return nil, err
	}
	var users []*state.Container
	var blockers []string
	for _, r := range recs {
		for _, a := range r.Networks {
			if _, ok := diverged[a.Network]; !ok {
				continue
			}
			if s, ok := steps[r.ID]; !ok || (s.Action != ActionRecreate && s.Action != ActionRemove) {
				blockers = append(blockers, fmt.Sprintf("%s (network %s)", r.Name, a.Network))
			} else {
				users = append(users, r)
			}
			break
		}
	}
	if len(blockers) > 0 {
		sort.Strings(blockers)
		return nil, fmt.Errorf("a network's configuration changed, but these containers on it would stay: %s; run `berth up` for all the services that use it (without --no-recreate), or `berth down` first",
			strings.Join(blockers, ", "))
	}
	early := map[string]*state.Container{}
	for _, r := range users {
		e.emit("Container", r.Name, "Recreate")
		if err := e.stopContainer(ctx, r, -1); err != nil {
			return nil, err
		}
		if err := e.remove(ctx, r, false); err != nil {
			return nil, err
		}
		early[r.ID] = r
	}
	for _, name := range sortedKeys(diverged) {
		if err := e.RemoveNetwork(ctx, name); err != nil {
			return nil, fmt.Errorf("network %s changed (%s): %w", name, diverged[name], err)
		}
		e.progress(Event{Kind: "Network", Name: name, Status: "Removed", Text: "configuration changed: " + diverged[name]})
	}
	return early, nil
}
