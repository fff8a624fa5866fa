package engine

import (
	"fmt"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/nft"
)

// PortConflictError is a published port that is already taken.
type PortConflictError struct {
	Service string
	Port    nft.PortMapping
	By      string // container that publishes it, or "" for a host process
	Err     error
}

func (e *PortConflictError) Error() string {
	if e.By != "" {
		return fmt.Sprintf("service %q: cannot publish %s: it is already published by container %s", e.Service, e.Port, e.By)
	}
	return fmt.Sprintf("service %q: cannot publish %s: %v", e.Service, e.Port, e.Err)
}

func (e *PortConflictError) Unwrap() error { return e.Err }

// checkPorts fails, before anything is created, when a container the plan
// creates would publish a host port that a host process holds or another
// container publishes.
func (e *Engine) checkPorts(p *types.Project, plan Plan) error {
	leaving := map[string]bool{}
	creating := map[string]int{}
	for _, s := range plan.Steps {
		switch s.Action {
		case ActionRecreate, ActionRemove:
			leaving[s.ID] = true
		}
		if s.Action == ActionRecreate || s.Action == ActionCreate {
			creating[s.Service]++
		}
	}
	recs, err := e.store.List("")
	if err != nil {
		return err
	}
	type key struct {
		port  uint16
		proto string
	}
	claimed := map[key]string{}
	for _, r := range recs {
		if leaving[r.ID] {
			continue
		}
		for _, pt := range r.Ports {
			claimed[key{pt.HostPort, pt.Protocol}] = r.Name
		}
	}
	for _, name := range sortedKeys(creating) {
		svc := p.Services[name]
		ms, err := portMappings(svc)
		if err != nil {
			return err
		}
		var fixed []nft.PortMapping
		for _, m := range ms {
			if m.HostPort == 0 {
				continue
			}
			k := key{m.HostPort, m.Proto}
			if by, ok := claimed[k]; ok {
				return &PortConflictError{Service: name, Port: m, By: by}
			}
			if creating[name] > 1 {
				return &PortConflictError{Service: name, Port: m, Err: fmt.Errorf("%d replicas cannot all publish the same host port; publish a range or no host port", creating[name])}
			}
			claimed[k] = name
			fixed = append(fixed, m)
		}
		if err := network.CheckPortsFree(fixed); err != nil {
			return &PortConflictError{Service: name, Port: firstPort(fixed), Err: err}
		}
	}
	return nil
}

func firstPort(ms []nft.PortMapping) nft.PortMapping {
	if len(ms) > 0 {
		return ms[0]
	}
	return nft.PortMapping{}
}
