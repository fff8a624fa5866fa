package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/volumes"
)

// A project volume whose definition changed (driver, driver_opts, labels:
// its config-hash label differs) is, as Compose does, recreated only when
// the user agrees, since its data goes with it: `up -y` (Compose's yes to
// "Volume X exists but doesn't match configuration in compose file.
// Recreate (data will be lost)?"). Then its containers are recreated, and
// replaceVolumes removes them and the volume before they are made anew;
// without -y the volume is kept, with a warning. A volume made before
// berth labelled definitions has no hash and is never taken as changed.

// divergedVolumes maps the name of each project volume the services mount
// that exists with another definition than the project's to its key.
func (e *Engine) divergedVolumes(ctx context.Context, p *types.Project, services []string) map[string]string {
	out := map[string]string{}
	vm := e.volumeManager()
	for _, name := range services {
		for _, v := range p.Services[name].Volumes {
			cfg, ok := p.Volumes[v.Source]
			if v.Type != types.VolumeTypeVolume || v.Source == "" || !ok || bool(cfg.External) {
				continue
			}
			spec := volumes.ProjectSpec(p.Name, v.Source, cfg, nil)
			if _, done := out[spec.Name]; done {
				continue
			}
			vol, err := vm.Get(ctx, spec.Name)
			if err != nil {
				continue // not made yet
			}
			if h := vol.Labels[volumes.LabelConfigHash]; h != "" && h != spec.Labels[volumes.LabelConfigHash] {
				out[spec.Name] = v.Source
			}
		}
	}
	return out
}

// volumeReasons gives, for each service mounting a diverged volume, the
// reason its containers are recreated.
func volumeReasons(p *types.Project, services []string, diverged map[string]string) map[string]string {
	out := map[string]string{}
	for _, name := range services {
		for _, v := range p.Services[name].Volumes {
			if v.Type != types.VolumeTypeVolume || v.Source == "" {
				continue
			}
			cfg := p.Volumes[v.Source]
			if _, ok := diverged[volumes.ProjectSpec(p.Name, v.Source, cfg, nil).Name]; ok {
				out[name] = fmt.Sprintf("volume %q changed: recreated (up -y)", v.Source)
				break
			}
		}
	}
	return out
}

// keepDivergedVolumes warns about each diverged volume up keeps (no -y).
func (e *Engine) keepDivergedVolumes(diverged map[string]string) {
	for _, name := range sortedKeys(diverged) {
		e.progress(Event{Kind: "Volume", Name: name, Status: "Warning",
			Text: fmt.Sprintf("Volume %q exists but doesn't match configuration in compose file; kept: `up -y` recreates it (data will be lost)", name)})
	}
}

// replaceVolumes removes the diverged volumes and, first, the containers
// mounting them, which the plan recreates; it adds those containers'
// records to early (by ID) for their recreate steps. A container mounting
// one that the plan does not recreate stops it: nothing is removed then.
func (e *Engine) replaceVolumes(ctx context.Context, plan Plan, diverged map[string]string, early map[string]*state.Container) (map[string]*state.Container, error) {
	if len(diverged) == 0 {
		return early, nil
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
		for _, name := range r.Volumes {
			if _, ok := diverged[name]; !ok {
				continue
			}
			if s, ok := steps[r.ID]; !ok || (s.Action != ActionRecreate && s.Action != ActionRemove) {
				blockers = append(blockers, fmt.Sprintf("%s (volume %s)", r.Name, name))
			} else if early[r.ID] == nil {
				users = append(users, r)
			}
			break
		}
	}
	if len(blockers) > 0 {
		sort.Strings(blockers)
		return nil, fmt.Errorf("a volume's definition changed, but these containers using it would stay: %s; run `berth up -y` for all the services that use it, or `berth down` first",
			strings.Join(blockers, ", "))
	}
	if early == nil {
		early = map[string]*state.Container{}
	}
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
	vm := e.volumeManager()
	for _, name := range sortedKeys(diverged) {
		if err := vm.Remove(ctx, name, false, e.volumeInUse("")); err != nil {
			return nil, fmt.Errorf("volume %s changed: %w", name, err)
		}
		e.progress(Event{Kind: "Volume", Name: name, Status: "Removed", Text: "definition changed (up -y)"})
	}
	return early, nil
}
