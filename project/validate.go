package project

import (
	"fmt"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"
)

// Validate makes the checks Compose does before it creates anything that
// compose-go's loader leaves to the engine: names that would become paths
// (checkNames), a fixed container_name on a service with more than one
// replica, and dependencies that form a cycle or name a service that is not
// there. Two services claiming one container_name are refused when both
// are to be created (CheckContainerNames, by up and create), as Compose
// does: each still runs alone, and down works.
func Validate(p *types.Project) error {
	if err := checkNames(p); err != nil {
		return err
	}
	for _, name := range ServiceNames(p) {
		s := p.Services[name]
		if s.ContainerName != "" && Replicas(s) > 1 {
			return fmt.Errorf("service %q: container_name %q cannot be used with %d replicas: container names must be unique; remove container_name or set the scale to 1",
				name, s.ContainerName, Replicas(s))
		}
	}
	_, err := Dependencies(p)
	return err
}

// Replicas is the number of containers Compose runs for a service:
// deploy.replicas, else scale, else 1.
func Replicas(s types.ServiceConfig) int {
	if s.Deploy != nil && s.Deploy.Replicas != nil {
		return *s.Deploy.Replicas
	}
	if s.Scale != nil {
		return *s.Scale
	}
	return 1
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CheckContainerNames refuses two of the services given that claim the same
// container_name.
func CheckContainerNames(p *types.Project, services []string) error {
	owner := map[string]string{}
	sorted := append([]string(nil), services...)
	sort.Strings(sorted)
	for _, name := range sorted {
		s, ok := p.Services[name]
		if !ok || s.ContainerName == "" {
			continue
		}
		if other, ok := owner[s.ContainerName]; ok {
			return fmt.Errorf("services.%s: container name %q is already in use by service %s", name, s.ContainerName, other)
		}
		owner[s.ContainerName] = name
	}
	return nil
}

// CheckHealthchecks refuses, for the services given, a healthcheck whose
// start_interval has no start_period to apply to (as Compose does when it
// creates the container).
func CheckHealthchecks(p *types.Project, services []string) error {
	sorted := append([]string(nil), services...)
	sort.Strings(sorted)
	for _, name := range sorted {
		hc := p.Services[name].HealthCheck
		if hc != nil && hc.StartInterval != nil && hc.StartPeriod == nil {
			return fmt.Errorf("service %q: healthcheck.start_interval requires healthcheck.start_period to be set", name)
		}
	}
	return nil
}
