package engine

import (
	"context"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/project"
)

// restartDependents does, before up executes its steps, what Compose does
// for `depends_on: {X: {restart: true}}` when X is recreated: the kept
// containers of the dependent are stopped now, before X goes, and their
// steps become starts, so they come back once X meets its condition again.
func (e *Engine) restartDependents(ctx context.Context, p *types.Project, steps map[string][]Step, o UpOptions) error {
	if o.NoStart {
		return nil
	}
	deps, err := project.Dependencies(p)
	if err != nil {
		return err
	}
	recreated := map[string]bool{}
	for svc, ss := range steps {
		for _, s := range ss {
			if s.Action == ActionRecreate {
				recreated[svc] = true
			}
		}
	}
	var restart []string
	for svc, ds := range deps {
		for _, d := range ds {
			if d.Restart && recreated[d.On] && !recreated[svc] {
				restart = append(restart, svc)
				break
			}
		}
	}
	sort.Strings(restart)
	for _, svc := range restart {
		for i, s := range steps[svc] {
			if s.Action != ActionKeep {
				continue
			}
			rec, err := e.store.Get(s.ID)
			if err != nil {
				return err
			}
			if err := e.stopContainer(ctx, rec, -1); err != nil {
				return err
			}
			steps[svc][i].Action = ActionStart
			steps[svc][i].Reason = "dependency recreated (depends_on restart: true)"
		}
	}
	return nil
}
