package ociruntime

import (
	"fmt"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// DeviceInjector applies the edits of CDI devices to a spec
// (engine/devices.Registry; the CNCF library's cdi.Cache has the same
// method). It returns the names it could not resolve.
type DeviceInjector interface {
	InjectDevices(s *specs.Spec, names ...string) ([]string, error)
}

// WithCDIDevices injects the named CDI devices' edits (device nodes and
// their cgroup rules, mounts, env, hooks) with inj. It goes last: the
// edits apply to the complete spec, as the CDI spec expects.
func WithCDIDevices(inj DeviceInjector, names ...string) SpecOpt {
	return func(s *specs.Spec) error {
		if inj == nil {
			return fmt.Errorf("CDI devices %s: no CDI registry", strings.Join(names, ", "))
		}
		if _, err := inj.InjectDevices(s, names...); err != nil {
			return fmt.Errorf("CDI: %w", err)
		}
		return nil
	}
}
