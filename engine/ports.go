package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/portmap"
)

// Published ports, the engine's part (see network/portmap for the model):
// a service's ports are normalized once (servicePortSpecs); the plan
// assigns each container that will run its concrete host ports against a
// claim table built from every record of the state root plus a host probe
// (assignPorts); the executor installs the DNAT rules (publishPorts at
// create, startPorts at start) and stop removes them (unpublish).

// composeFiles names the project's files for error messages.
func composeFiles(p *types.Project) string {
	if p == nil || len(p.ComposeFiles) == 0 {
		return ""
	}
	return strings.Join(p.ComposeFiles, ", ") + ": "
}

// publishes reports whether a service's containers get a network
// namespace of their own on at least one network: the only ones whose
// ports are published (host and none ignore ports, as Docker does).
func publishes(svc types.ServiceConfig) bool {
	return (svc.NetworkMode == "" || svc.NetworkMode == "bridge") && len(serviceNetworks(svc)) > 0
}

// servicePortSpecs normalizes a service's ports; errors name the file,
// the service and the port.
func servicePortSpecs(p *types.Project, svc types.ServiceConfig) ([]portmap.Spec, error) {
	if !publishes(svc) {
		return nil, nil
	}
	specs, err := portmap.NormalizeService(svc.Ports)
	if err != nil {
		return nil, fmt.Errorf("%sservice %q: %w", composeFiles(p), svc.Name, err)
	}
	return specs, nil
}

// exposedPorts are a container's exposed-only ports: the service's
// `expose:` and its image's EXPOSE; none on the host's network or none
// (Docker lists none there either).
func exposedPorts(p *types.Project, svc types.ServiceConfig, imageExposed map[string]struct{}) ([]portmap.Binding, error) {
	if !publishes(svc) {
		return nil, nil
	}
	out, err := portmap.NormalizeExpose(svc.Expose)
	if err != nil {
		return nil, fmt.Errorf("%sservice %q: %w", composeFiles(p), svc.Name, err)
	}
	for _, k := range sortedKeys(imageExposed) {
		if bs, err := portmap.NormalizeExpose([]string{k}); err == nil {
			out = append(out, bs...)
		}
	}
	return out, nil
}

// portAllocator builds the claim table from every container record of
// the state root (less those in leaving: containers the plan removes or
// restarts) and returns an allocator over it and the host.
func (e *Engine) portAllocator(leaving map[string]bool) (*portmap.Allocator, error) {
	a, _, err := e.portClaims(leaving)
	return a, err
}

// portClaims is portAllocator that also returns its claim table.
func (e *Engine) portClaims(leaving map[string]bool) (*portmap.Allocator, *portmap.Claims, error) {
	recs, err := e.store.List("")
	if err != nil {
		return nil, nil, err
	}
	claims := portmap.NewClaims()
	mine := map[string]bool{}
	for _, r := range recs {
		mine[r.ID] = true
		if leaving[r.ID] {
			continue
		}
		for _, b := range r.Ports {
			claims.Add(b, r.Name)
		}
	}
	if e.portHost != nil {
		return portmap.NewAllocator(claims, e.portHost, e.portOpts...), claims, nil
	}
	// Ports published by containers of other state roots on this host:
	// their records are not ours, but their rules are in the one table.
	if pub, err := e.firewall.Published(); err == nil {
		for _, p := range pub {
			if !mine[p.ContainerID] {
				claims.Add(p.Port, fmt.Sprintf("%.12s (of another berth state root)", p.ContainerID))
			}
		}
	}
	lo, hi := network.EphemeralRange()
	return portmap.NewAllocator(claims, network.HostProbe{}, append([]portmap.Opt{portmap.WithRandomRange(lo, hi)}, e.portOpts...)...), claims, nil
}

// WithPortHost replaces the host side of port allocation: tests allocate
// against a fake host, with a predictable random range.
func WithPortHost(probe portmap.Probe, opts ...portmap.Opt) Opt {
	return func(e *Engine) { e.portHost, e.portOpts = probe, opts }
}

// recordPortSpecs are the specs of an existing container: its own, or for
// a record written before berth kept them, its bindings as fixed ports.
func recordPortSpecs(r *state.Container) []portmap.Spec {
	if r.PortSpecs != nil || len(r.Ports) == 0 {
		return r.PortSpecs
	}
	var out []portmap.Spec
	for _, b := range r.Ports {
		out = append(out, portmap.Spec{HostIP: b.HostIP, HostFrom: b.HostPort, HostTo: b.HostPort, ContainerPort: b.ContainerPort, Protocol: b.Protocol})
	}
	return out
}

// assignPorts gives every container the plan creates or starts its
// concrete host ports (Step.Ports), before anything is created: explicit
// ports must be free, a range gives each replica its next free port, a
// random port is one nothing claims. Kept containers keep theirs.
func (e *Engine) assignPorts(p *types.Project, plan *Plan) error {
	leaving, byService, err := e.leavingContainers(p, plan)
	if err != nil {
		return err
	}
	alloc, claims, err := e.portClaims(leaving)
	if err != nil {
		return err
	}
	replicas := createdReplicas(plan)
	turns := &portTurns{claims: claims, byService: byService}
	for i := range plan.Steps {
		s := &plan.Steps[i]
		turns.begin(s.Service)
		prefer, ok, err := e.stepPortSpecs(p, s)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if s.Ports, err = alloc.Assign(s.Name, s.PortSpecs, prefer); err != nil {
			return portError(p, s.Service, replicas[s.Service], err)
		}
	}
	return nil
}

// leavingContainers sorts the containers a plan removes, recreates or
// restarts. Orphans are removed before anything else runs: their ports
// are free for all (leaving). A container of a service of the project
// holds its rules until its own service's turn in the walk, so its ports
// are free only for its own service, which runs its removals first
// (byService).
func (e *Engine) leavingContainers(p *types.Project, plan *Plan) (leaving map[string]bool, byService map[string][]*state.Container, err error) {
	leaving = map[string]bool{}
	byService = map[string][]*state.Container{}
	for _, s := range plan.Steps {
		switch s.Action {
		case ActionRecreate, ActionRemove, ActionStart:
			if _, inProject := p.Services[s.Service]; !inProject {
				leaving[s.ID] = true
				continue
			}
			rec, err := e.store.Get(s.ID)
			if err != nil {
				return nil, nil, err
			}
			byService[s.Service] = append(byService[s.Service], rec)
		}
	}
	return leaving, byService, nil
}

// createdReplicas counts, by service, the containers a plan creates or
// recreates.
func createdReplicas(plan *Plan) map[string]int {
	replicas := map[string]int{}
	for _, s := range plan.Steps {
		if s.Action == ActionCreate || s.Action == ActionRecreate {
			replicas[s.Service]++
		}
	}
	return replicas
}

// portTurns hands the ports of a service's leaving containers to that
// service alone, for its turn in the plan's walk.
type portTurns struct {
	claims    *portmap.Claims
	byService map[string][]*state.Container
	current   string
}

// begin starts service's turn, unless it is already on: what the previous
// service did not take of its old containers' ports is claimed again by
// their old holders, and this service's old containers release theirs.
func (t *portTurns) begin(service string) {
	if service == t.current {
		return
	}
	for _, r := range t.byService[t.current] {
		for _, b := range r.Ports {
			if _, taken := t.claims.Holder(b.HostIP, b.HostPort, b.Protocol); !taken {
				t.claims.Add(b, r.Name)
			}
		}
	}
	t.current = service
	for _, r := range t.byService[service] {
		t.claims.Release(r.Name)
	}
}

// stepPortSpecs sets the port specs of a step that creates or starts a
// container and returns the host ports it prefers (a started or
// recreated container's old ones); ok is false for a step that assigns
// none.
func (e *Engine) stepPortSpecs(p *types.Project, s *Step) (prefer []portmap.Binding, ok bool, err error) {
	switch s.Action {
	case ActionCreate, ActionRecreate:
		svc, ok := p.Services[s.Service]
		if !ok {
			return nil, false, nil
		}
		if s.PortSpecs, err = servicePortSpecs(p, svc); err != nil {
			return nil, false, err
		}
	case ActionStart:
		rec, err := e.store.Get(s.ID)
		if err != nil {
			return nil, false, err
		}
		s.PortSpecs, prefer = recordPortSpecs(rec), append(rec.Ports, rec.Released...)
	default:
		return nil, false, nil
	}
	if s.Action == ActionRecreate {
		if old, err := e.store.Get(s.ID); err == nil {
			prefer = old.Ports
		}
	}
	return prefer, true, nil
}

// portError names the file and service of an allocation error, with a
// hint when replicas of one service ask for one fixed host port.
func portError(p *types.Project, service string, replicas int, err error) error {
	var ce *portmap.ConflictError
	if errors.As(err, &ce) && ce.By != "" && replicas > 1 && ce.Spec.Fixed() && p != nil && strings.HasPrefix(ce.By, p.Name+"-"+service+"-") {
		return fmt.Errorf("%sservice %q: %w: %d replicas cannot all publish host port %d; publish a range (\"%d-%d:%d\") or no host port",
			composeFiles(p), service, err, replicas, ce.Port, ce.Port, int(ce.Port)+replicas-1, ce.Spec.ContainerPort)
	}
	return fmt.Errorf("%sservice %q: %w", composeFiles(p), service, err)
}

// startPorts assigns the ports of stopped containers about to be started
// outside a plan (`start`, `restart`), all before any starts.
func (e *Engine) startPorts(recs []*state.Container) (map[string][]portmap.Binding, error) {
	leaving := map[string]bool{}
	for _, r := range recs {
		leaving[r.ID] = true
	}
	alloc, err := e.portAllocator(leaving)
	if err != nil {
		return nil, err
	}
	out := map[string][]portmap.Binding{}
	for _, r := range recs {
		bs, err := alloc.Assign(r.Name, recordPortSpecs(r), append(r.Ports, r.Released...))
		if err != nil {
			return nil, fmt.Errorf("service %q: container %s: %w", r.Service, r.Name, err)
		}
		out[r.ID] = bs
	}
	return out, nil
}

// publishRecord installs a stopped container's newly assigned ports and
// records them, before it starts.
func (e *Engine) publishRecord(id string, ports []portmap.Binding) error {
	rec, err := e.store.Get(id)
	if err != nil {
		return err
	}
	if len(ports) > 0 && len(rec.Networks) > 0 {
		if err := e.installPorts(rec.ID, rec.Networks[0], ports); err != nil {
			return fmt.Errorf("service %q: container %s: %w", rec.Service, rec.Name, err)
		}
	}
	if len(ports) == 0 && len(rec.Ports) == 0 && len(rec.Released) == 0 {
		return nil
	}
	rec.Ports, rec.Released = ports, nil
	return e.store.Put(rec)
}

// unpublish frees a stopped container's host ports, as Docker does on
// stop: its rules go and its record holds no port until it starts again.
func (e *Engine) unpublish(rec *state.Container) error {
	if len(rec.Ports) == 0 {
		return nil
	}
	if err := e.firewall.RemovePorts(rec.ID); err != nil {
		return fmt.Errorf("container %s: unpublish ports: %w", rec.Name, err)
	}
	cur, err := e.store.Get(rec.ID)
	if err != nil {
		return err
	}
	cur.Released, cur.Ports = cur.Ports, nil
	rec.Released, rec.Ports = cur.Released, nil
	return e.store.Put(cur)
}
