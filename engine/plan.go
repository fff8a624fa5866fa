package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/network/portmap"
)

// Action is what a plan does with one container.
type Action string

const (
	ActionCreate   Action = "create"
	ActionRecreate Action = "recreate"
	ActionStart    Action = "start"
	ActionKeep     Action = "keep"
	ActionRemove   Action = "remove"
)

// Desired is what the project asks of one service.
type Desired struct {
	Service       string
	Replicas      int
	Hash          string
	Config        []byte // canonical service config (see ServiceConfig)
	ImageID       string // resolved image config digest, "" when unknown
	ContainerName string // the service's container_name, if any
	// SharesWith lists services whose containers this one shares a
	// namespace or volumes with (network_mode/ipc/pid: service:x,
	// volumes_from): recreating one of them recreates this one.
	SharesWith []string
}

// Observed is one existing container and its runtime state.
type Observed struct {
	*state.Container
	State *state.RuntimeState
}

// PlanOptions are up's convergence flags.
type PlanOptions struct {
	ForceRecreate bool
	NoRecreate    bool
	RemoveOrphans bool
	// ForceServices are recreated even when unchanged
	// (--always-recreate-deps: the dependencies of the named services).
	ForceServices map[string]bool
	// NetworkChanged are the services on a network whose configuration
	// changed, with the reason: their containers are recreated with it.
	NetworkChanged map[string]string
}

// Step is one action on one container.
type Step struct {
	Service string
	Number  int
	Name    string // container name
	ID      string // existing container, "" for create
	Action  Action
	Reason  string   // why, for people
	Fields  []string // changed config fields, for recreate
	// PortSpecs and Ports are the container's published ports, as asked
	// and as assigned (concrete host ports) for create, recreate and
	// start steps; set by the engine's port allocation, not by NewPlan.
	PortSpecs []portmap.Spec
	Ports     []portmap.Binding
}

// Plan is the ordered list of steps that turns the observed state into the
// desired one, plus the orphans left alone.
type Plan struct {
	// Images are the pulls and builds that come first (resolveImages).
	Images  []ImageStep
	Steps   []Step
	Orphans []string // containers of services no longer in the project, kept
}

// NewPlan compares desired services with observed containers.
func NewPlan(project string, desired []Desired, observed []Observed, o PlanOptions) Plan {
	var p Plan
	byService := p.orphans(desired, observed, o)
	recreated := map[string]bool{}
	for _, d := range orderShared(desired) {
		p.Steps = append(p.Steps, planService(project, d, byService[d.Service], o, recreated)...)
	}
	sort.SliceStable(p.Steps, func(i, j int) bool {
		a, b := p.Steps[i], p.Steps[j]
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Number < b.Number
	})
	sort.Strings(p.Orphans)
	return p
}

// orphans plans the observed containers of services no longer desired
// (removed with RemoveOrphans, else listed as orphans) and returns the
// others by service; one-offs are left out.
func (p *Plan) orphans(desired []Desired, observed []Observed, o PlanOptions) map[string][]Observed {
	byService := map[string][]Observed{}
	wanted := map[string]bool{}
	for _, d := range desired {
		wanted[d.Service] = true
	}
	for _, c := range observed {
		if c.Oneoff {
			continue
		}
		if !wanted[c.Service] {
			if o.RemoveOrphans {
				p.Steps = append(p.Steps, Step{Service: c.Service, Number: c.Number, Name: c.Name, ID: c.ID, Action: ActionRemove, Reason: "orphan: service no longer in the project"})
			} else {
				p.Orphans = append(p.Orphans, c.Name)
			}
			continue
		}
		byService[c.Service] = append(byService[c.Service], c)
	}
	return byService
}

// planService plans one service's containers cs: the surplus removed
// (scale down), the rest kept, started or recreated (keptStep), the
// missing replicas created. recreated notes the services that get a new
// container, for the services sharing with them, planned after.
func planService(project string, d Desired, cs []Observed, o PlanOptions, recreated map[string]bool) []Step {
	var steps []Step
	// As Compose: a scale down keeps the up-to-date replicas and the
	// lowest numbers, so obsolete ones go first.
	obsolete := map[string]bool{}
	for _, c := range cs {
		obsolete[c.ID] = !o.NoRecreate && (o.ForceRecreate || o.ForceServices[d.Service] || c.Hash != d.Hash ||
			(d.ImageID != "" && c.ImageID != "" && c.ImageID != d.ImageID))
	}
	sort.Slice(cs, func(i, j int) bool {
		if oi, oj := obsolete[cs[i].ID], obsolete[cs[j].ID]; oi != oj {
			return oj
		}
		return cs[i].Number < cs[j].Number
	})
	keep := cs
	if len(cs) > d.Replicas {
		keep = cs[:d.Replicas]
		for _, c := range cs[d.Replicas:] {
			steps = append(steps, Step{Service: d.Service, Number: c.Number, Name: c.Name, ID: c.ID, Action: ActionRemove, Reason: fmt.Sprintf("scale down to %d", d.Replicas)})
		}
	}
	used := map[int]bool{}
	for _, c := range keep {
		used[c.Number] = true
		s := keptStep(d, c, o, recreated)
		if s.Action == ActionRecreate {
			recreated[d.Service] = true
		}
		steps = append(steps, s)
	}
	for n, missing := 1, d.Replicas-len(keep); missing > 0; n++ {
		if used[n] {
			continue
		}
		steps = append(steps, Step{Service: d.Service, Number: n, Name: ContainerName(project, d.Service, n, d.ContainerName), Action: ActionCreate, Reason: "not created yet"})
		recreated[d.Service] = true
		missing--
	}
	return steps
}

// keptStep is what becomes of a container the service keeps, in order
// of precedence: the flags, a changed network, config, image, or a
// recreated service it shares with; else it is started or left running.
func keptStep(d Desired, c Observed, o PlanOptions, recreated map[string]bool) Step {
	s := Step{Service: d.Service, Number: c.Number, Name: c.Name, ID: c.ID}
	running := c.State != nil && (c.State.Status == state.StatusRunning || c.State.Status == state.StatusRestarting)
	var sharedChanged string
	for _, dep := range d.SharesWith {
		if recreated[dep] {
			sharedChanged = dep
			break
		}
	}
	switch {
	case o.NoRecreate:
		s.Action, s.Reason = startOrKeep(running)
	case o.ForceRecreate:
		s.Action, s.Reason = ActionRecreate, "--force-recreate"
	case o.ForceServices[d.Service]:
		s.Action, s.Reason = ActionRecreate, "--always-recreate-deps"
	case o.NetworkChanged[d.Service] != "":
		s.Action, s.Reason = ActionRecreate, o.NetworkChanged[d.Service]
		s.Fields = []string{"networks"}
	case c.Hash != d.Hash:
		s.Action, s.Reason = ActionRecreate, "configuration changed"
		s.Fields = ChangedFields(c.Config, d.Config)
	case d.ImageID != "" && c.ImageID != "" && c.ImageID != d.ImageID:
		s.Action, s.Reason = ActionRecreate, "image changed"
		s.Fields = []string{"image"}
	case sharedChanged != "":
		s.Action, s.Reason = ActionRecreate, fmt.Sprintf("shares namespaces or volumes with recreated service %q", sharedChanged)
	default:
		s.Action, s.Reason = startOrKeep(running)
	}
	return s
}

func startOrKeep(running bool) (Action, string) {
	if running {
		return ActionKeep, "up to date"
	}
	return ActionStart, "up to date, not running"
}

// orderShared puts services before the ones that share their namespaces,
// so a recreated provider is known when its sharers are planned.
func orderShared(ds []Desired) []Desired {
	idx := map[string]int{}
	for i, d := range ds {
		idx[d.Service] = i
	}
	var out []Desired
	done := map[string]bool{}
	var visit func(d Desired, depth int)
	visit = func(d Desired, depth int) {
		if done[d.Service] || depth > len(ds) {
			return
		}
		for _, dep := range d.SharesWith {
			if i, ok := idx[dep]; ok {
				visit(ds[i], depth+1)
			}
		}
		if !done[d.Service] {
			done[d.Service] = true
			out = append(out, d)
		}
	}
	sorted := append([]Desired(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Service < sorted[j].Service })
	for _, d := range sorted {
		visit(d, 0)
	}
	return out
}

// ContainerName is Compose's container name: container_name when set,
// else <project>-<service>-<n>.
func ContainerName(project, service string, n int, containerName string) string {
	if containerName != "" {
		return containerName
	}
	return fmt.Sprintf("%s-%s-%d", project, service, n)
}

// String renders the plan one step a line, for tests and `up --dry-run`.
func (p Plan) String() string {
	var b strings.Builder
	for _, s := range p.Images {
		b.WriteString(s.String() + "\n")
	}
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "%-8s %s", s.Action, s.Name)
		if s.Reason != "" {
			fmt.Fprintf(&b, " (%s", s.Reason)
			if len(s.Fields) > 0 {
				fmt.Fprintf(&b, ": %s", strings.Join(s.Fields, ", "))
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
	}
	for _, o := range p.Orphans {
		fmt.Fprintf(&b, "orphan   %s (kept; remove with --remove-orphans)\n", o)
	}
	return b.String()
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool {
	if len(p.Images) > 0 {
		return false
	}
	for _, s := range p.Steps {
		if s.Action != ActionKeep {
			return false
		}
	}
	return true
}
