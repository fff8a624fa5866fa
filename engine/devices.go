package engine

import (
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/devices"
	"github.com/berth-dev/berth/engine/ociruntime"
)

// deviceRegistry is the host's CDI registry, read once per command and
// only when a service asks for a CDI device (a GPU, a CDI name): a
// project without one never reads /etc/cdi. A generated NVIDIA spec goes
// under the run dir.
func (e *Engine) deviceRegistry() (*devices.Registry, error) {
	e.devMu.Lock()
	defer e.devMu.Unlock()
	if e.devReg == nil {
		r, err := devices.New(devices.Options{
			GenDir: e.layout.CDI(),
			Root:   os.Getenv(devices.DriverRootEnv),
		})
		if err != nil {
			return nil, err
		}
		e.devReg = r
	}
	return e.devReg, nil
}

// serviceDevices checks the service's device requests and resolves its
// CDI devices: plain `devices:` nodes exist and are valid, cgroup rules
// parse, every CDI name, GPU count or ID is on this host. It returns the
// CDI names to inject and the registry that injects them (nil when none).
func (e *Engine) serviceDevices(svc *types.ServiceConfig) ([]string, ociruntime.DeviceInjector, error) {
	if err := ociruntime.CheckDevices(svc); err != nil {
		return nil, nil, err
	}
	wants, err := devices.Wants(svc)
	if err != nil || !wants {
		return nil, nil, err
	}
	reg, err := e.deviceRegistry()
	if err != nil {
		return nil, nil, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	names, err := reg.Resolve(svc)
	if err != nil {
		return nil, nil, err
	}
	return names, reg, nil
}

// checkDevices runs serviceDevices for every service up works on, before
// anything is created.
func (e *Engine) checkDevices(p *types.Project, services []string) error {
	for _, name := range services {
		svc, ok := p.Services[name]
		if !ok {
			continue
		}
		if _, _, err := e.serviceDevices(&svc); err != nil {
			return err
		}
	}
	return nil
}
