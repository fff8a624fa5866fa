package project

import (
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Dependency is one edge of the service graph: Service needs On.
type Dependency struct {
	Service string
	On      string
	// Kind is what makes the edge: depends_on, links, volumes_from,
	// network_mode, ipc or pid.
	Kind string
	// Condition is depends_on's condition (service_started when implied).
	Condition string
	// Restart is depends_on's restart: true.
	Restart bool
	// Required is false only for depends_on with required: false: a
	// condition it cannot meet is a warning, not an error (Compose).
	Required bool
}

// Dependencies returns, for each enabled service, the services it needs
// (from depends_on with any condition, links, volumes_from and
// network_mode/ipc/pid "service:x"), sorted and without duplicates. A
// dependency on a service that does not exist or is disabled by a profile
// is an error unless it is depends_on with required: false, which is
// dropped. Cycles are left to the graph package to find and name.
func Dependencies(p *types.Project) (map[string][]Dependency, error) {
	out := make(map[string][]Dependency, len(p.Services))
	for _, name := range ServiceNames(p) {
		s := p.Services[name]
		seen := map[string]int{}
		add := func(d Dependency, required bool) error {
			if _, ok := p.Services[d.On]; !ok {
				if !required {
					return nil
				}
				return missingDependency(p, d)
			}
			if _, dup := seen[d.On]; dup {
				return nil
			}
			d.Required = required
			seen[d.On] = len(out[name])
			out[name] = append(out[name], d)
			return nil
		}
		// compose-go's normalization already turned links, volumes_from
		// and service: modes into depends_on entries; the kind records
		// the most specific source.
		for _, l := range s.Links {
			on, _, _ := strings.Cut(l, ":")
			if err := add(Dependency{Service: name, On: on, Kind: "links", Condition: types.ServiceConditionStarted}, true); err != nil {
				return nil, err
			}
		}
		for _, v := range s.VolumesFrom {
			if on, ok := serviceRef(v); ok {
				on, _, _ = strings.Cut(on, ":")
				if err := add(Dependency{Service: name, On: on, Kind: "volumes_from", Condition: types.ServiceConditionStarted}, true); err != nil {
					return nil, err
				}
			}
		}
		for _, m := range []struct{ kind, mode string }{{"network_mode", s.NetworkMode}, {"ipc", s.Ipc}, {"pid", s.Pid}} {
			if on, ok := strings.CutPrefix(m.mode, types.ServicePrefix); ok {
				if err := add(Dependency{Service: name, On: on, Kind: m.kind, Condition: types.ServiceConditionStarted}, true); err != nil {
					return nil, err
				}
			}
		}
		for _, on := range sortedKeys(s.DependsOn) {
			dc := s.DependsOn[on]
			cond := dc.Condition
			if cond == "" {
				cond = types.ServiceConditionStarted
			}
			d := Dependency{Service: name, On: on, Kind: "depends_on", Condition: cond, Restart: dc.Restart}
			if i, dup := seen[on]; dup {
				// keep the specific kind (which is required), take
				// depends_on's condition
				d.Kind = out[name][i].Kind
				d.Required = true
				out[name][i] = d
				continue
			}
			if err := add(d, dc.Required); err != nil {
				return nil, err
			}
		}
		sort.Slice(out[name], func(i, j int) bool { return out[name][i].On < out[name][j].On })
	}
	return out, nil
}

// serviceRef tells a volumes_from entry naming a service ("svc", "svc:ro")
// from one naming a container ("container:name").
func serviceRef(v string) (string, bool) {
	if strings.HasPrefix(v, types.ContainerPrefix) {
		return "", false
	}
	return v, true
}

// MissingDependencyError is a dependency on a service that is not in the
// project or is disabled by a profile.
type MissingDependencyError struct {
	Dependency
	Profiles []string // non-empty when the service exists but is disabled
}

func (e *MissingDependencyError) Error() string {
	if len(e.Profiles) > 0 {
		return fmt.Sprintf("service %q depends on service %q (%s), which is disabled: enable it with --profile %s",
			e.Service, e.On, e.Kind, e.Profiles[0])
	}
	return fmt.Sprintf("service %q depends on undefined service %q (%s): define it or remove the dependency",
		e.Service, e.On, e.Kind)
}

func missingDependency(p *types.Project, d Dependency) error {
	if ds, ok := p.DisabledServices[d.On]; ok {
		return &MissingDependencyError{Dependency: d, Profiles: ds.Profiles}
	}
	return &MissingDependencyError{Dependency: d}
}

// Edges flattens Dependencies into the plain node → dependencies form the
// graph package takes.
func Edges(deps map[string][]Dependency) map[string][]string {
	out := make(map[string][]string, len(deps))
	for n, ds := range deps {
		for _, d := range ds {
			out[n] = append(out[n], d.On)
		}
	}
	return out
}
