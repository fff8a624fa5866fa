package engine

import (
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/graph"
)

// checkSharedMissing refuses, as Compose does, to bring up a service that
// shares the namespaces or volumes of a service left out of this up
// (--no-deps) whose container is gone: there is nothing to join.
func checkSharedMissing(p *types.Project, g *graph.Graph, observed []Observed) error {
	has := map[string]bool{}
	for _, c := range observed {
		if !c.Oneoff {
			has[c.Service] = true
		}
	}
	for _, name := range g.Nodes() {
		s := p.Services[name]
		check := func(on, what string) error {
			if g.Has(on) || has[on] {
				return nil
			}
			return fmt.Errorf("service %q: cannot share %s with service %s: container missing", name, what, on)
		}
		for _, m := range []struct{ mode, what string }{{s.NetworkMode, "network namespace"}, {s.Ipc, "IPC namespace"}, {s.Pid, "PID namespace"}} {
			if on, ok := strings.CutPrefix(m.mode, types.ServicePrefix); ok {
				if err := check(on, m.what); err != nil {
					return err
				}
			}
		}
		for _, v := range s.VolumesFrom {
			if strings.HasPrefix(v, types.ContainerPrefix) {
				continue
			}
			on, _, _ := strings.Cut(v, ":")
			if err := check(on, "volume"); err != nil {
				return err
			}
		}
	}
	return nil
}
