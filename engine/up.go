package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/engine/supervisor"
	"github.com/berth-dev/berth/graph"
	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/project"
)

// UpOptions are `up`'s flags that shape the plan and its execution.
type UpOptions struct {
	Services      []string // only these (and, unless NoDeps, what they need)
	NoDeps        bool
	NoStart       bool
	Pull          string         // override pull_policy: always, missing, never
	Build         string         // BuildMissing, BuildAlways (--build) or BuildNever (--no-build)
	BuildOptions  BuildOptions   // of the builds up runs
	Scale         map[string]int // --scale svc=N
	ForceRecreate bool
	NoRecreate    bool
	RemoveOrphans bool
	// IgnoreOrphans keeps quiet about orphans (COMPOSE_IGNORE_ORPHANS).
	IgnoreOrphans bool
	// AlwaysRecreateDeps recreates the dependencies of the named services.
	AlwaysRecreateDeps bool
	// RenewAnonVolumes gives recreated containers new anonymous volumes
	// instead of their predecessors'.
	RenewAnonVolumes bool
	// Parallel bounds how many services are worked on at once (0: 8).
	Parallel int
	// RecreateVolumes recreates the project volumes whose definition
	// changed, and the containers using them (up -y; their data is lost).
	RecreateVolumes bool
	// AllResources makes every network and volume the project declares,
	// used by a service or not (Compose's --all-resources).
	AllResources bool
}

// Plan says what `up` would do, and does none of it: the images it
// would pull or build (Plan.Images) and the steps on containers. It reads
// the project's records and the local image store only (up --dry-run).
// A service whose image is still to be fetched is planned with the image
// unknown, so only a configuration change recreates it.
func (e *Engine) Plan(ctx context.Context, p *types.Project, o UpOptions) (Plan, error) {
	g, err := upGraph(p, o)
	if err != nil {
		return Plan{}, err
	}
	local, isteps, err := e.resolveImages(p, g.Nodes(), o.imagePolicy())
	if err != nil {
		return Plan{}, err
	}
	diverged, err := e.divergedNetworks(p, g.Nodes())
	if err != nil {
		return Plan{}, err
	}
	var vdiverged map[string]string
	if o.RecreateVolumes {
		vdiverged = e.divergedVolumes(ctx, p, g.Nodes())
	}
	plan, err := e.plan(p, g, o, local, diverged, vdiverged)
	plan.Images = isteps
	return plan, err
}

func (o UpOptions) imagePolicy() imagePolicy {
	return imagePolicy{pull: o.Pull, build: o.Build, opts: o.BuildOptions}
}

// upGraph is the graph of the services up works on: the named ones and,
// unless NoDeps, what they need; all of them when none is named.
func upGraph(p *types.Project, o UpOptions) (*graph.Graph, error) {
	g, err := projectGraph(p)
	if err != nil {
		return nil, err
	}
	if len(o.Services) > 0 {
		for _, s := range o.Services {
			if !g.Has(s) {
				return nil, fmt.Errorf("no such service: %s", s)
			}
		}
		if o.NoDeps {
			if g, err = graph.New(o.Services, nil); err != nil {
				return nil, err
			}
		} else {
			g = g.Subgraph(o.Services, graph.Forward)
		}
	}
	if err := project.CheckContainerNames(p, g.Nodes()); err != nil {
		return nil, err
	}
	if err := project.CheckHealthchecks(p, g.Nodes()); err != nil {
		return nil, err
	}
	for name, n := range o.Scale {
		if _, ok := p.Services[name]; !ok {
			return nil, fmt.Errorf("--scale %s=%d: no such service: %s", name, n, name)
		}
	}
	return g, nil
}

// plan compares the project (with the images resolved so far: a service
// missing from images has its image unknown) with the observed
// containers. It does no I/O beyond reading the project's records.
func (e *Engine) plan(p *types.Project, g *graph.Graph, o UpOptions, images map[string]*image.Image, diverged, vdiverged map[string]string) (Plan, error) {
	// devices (GPUs, CDI names, nodes) must be on this host: engine/devices.go
	if err := e.checkDevices(p, g.Nodes()); err != nil {
		return Plan{}, err
	}
	desired, err := desiredServices(p, g.Nodes(), o.Scale, images)
	if err != nil {
		return Plan{}, err
	}
	observed, err := e.observe(p.Name)
	if err != nil {
		return Plan{}, err
	}
	if err := checkSharedMissing(p, g, observed); err != nil {
		return Plan{}, err
	}
	observed = plannedObserved(p, g, o, observed)
	return e.v1Names(p, NewPlan(p.Name, desired, observed, planOptions(p, g, o, diverged, vdiverged))), nil
}

// desiredServices is what the project asks of each named service
// (providers have no container), scaled by --scale; images holds the
// images resolved so far.
func desiredServices(p *types.Project, names []string, scale map[string]int, images map[string]*image.Image) ([]Desired, error) {
	var desired []Desired
	for _, name := range names {
		svc := p.Services[name]
		if isProvider(svc) {
			continue // no container: provider.go
		}
		hash, cfg, err := serviceHash(p, svc)
		if err != nil {
			return nil, err
		}
		n := project.Replicas(svc)
		if v, ok := scale[name]; ok {
			n = v
		}
		if svc.ContainerName != "" && n > 1 {
			return nil, fmt.Errorf("service %q: container_name %q cannot be used with %d replicas", name, svc.ContainerName, n)
		}
		imageID := ""
		if img := images[name]; img != nil {
			imageID = img.ID()
		}
		desired = append(desired, Desired{
			Service:       name,
			Replicas:      n,
			Hash:          hash,
			Config:        cfg,
			ImageID:       imageID,
			ContainerName: svc.ContainerName,
			SharesWith:    sharesWith(svc),
		})
	}
	return desired, nil
}

// plannedObserved are the observed containers the plan may touch: with
// named services only theirs (the others are neither changed nor
// orphans); else all but those of services a profile disabled, unless
// --remove-orphans. It reuses observed's array.
func plannedObserved(p *types.Project, g *graph.Graph, o UpOptions, observed []Observed) []Observed {
	if len(o.Services) > 0 {
		keep := observed[:0]
		for _, c := range observed {
			if g.Has(c.Service) {
				keep = append(keep, c)
			}
		}
		return keep
	}
	if o.RemoveOrphans {
		return observed
	}
	for i := 0; i < len(observed); i++ {
		if _, ok := p.DisabledServices[observed[i].Service]; ok {
			observed = append(observed[:i], observed[i+1:]...)
			i--
		}
	}
	return observed
}

// planOptions are up's flags as the planner takes them: a changed
// network's reason, else a changed volume's, recreates a service, and
// --always-recreate-deps forces the services others depend on (all but
// the named ones).
func planOptions(p *types.Project, g *graph.Graph, o UpOptions, diverged, vdiverged map[string]string) PlanOptions {
	po := PlanOptions{
		ForceRecreate:  o.ForceRecreate,
		NoRecreate:     o.NoRecreate,
		RemoveOrphans:  o.RemoveOrphans,
		NetworkChanged: networkReasons(p, g.Nodes(), diverged),
	}
	for svc, why := range volumeReasons(p, g.Nodes(), vdiverged) {
		if po.NetworkChanged[svc] == "" {
			po.NetworkChanged[svc] = why
		}
	}
	if !o.AlwaysRecreateDeps {
		return po
	}
	po.ForceServices = map[string]bool{}
	named := map[string]bool{}
	for _, s := range o.Services {
		named[s] = true
	}
	for _, n := range g.Nodes() {
		if (len(o.Services) == 0 || !named[n]) && len(g.Dependents(n)) > 0 {
			po.ForceServices[n] = true
		}
	}
	return po
}

// Up creates and starts the project's containers, converging what runs to
// what the project says. It returns once every container is started (the
// CLI attaches to logs itself).
func (e *Engine) Up(ctx context.Context, p *types.Project, o UpOptions) (Plan, error) {
	lock, err := fsutil.Acquire(ctx, e.layout.ProjectLock(p.Name))
	if err != nil {
		return Plan{}, err
	}
	defer lock.Release()

	if err := e.repairSupervisor(ctx, p.Name); err != nil {
		return Plan{}, err
	}
	g, err := upGraph(p, o)
	if err != nil {
		return Plan{}, err
	}
	plan, images, diverged, vdiverged, err := e.planUp(ctx, p, g, o)
	if err != nil {
		return plan, err
	}
	// Before anything is created: every container that will run gets its
	// host ports (free ones), and the networks exist before containers
	// join them in parallel.
	if err := e.assignPorts(p, &plan); err != nil {
		return plan, err
	}
	// A network whose configuration changed goes, with its containers
	// (recreated below), before ensureNetworks makes it anew.
	early, err := e.replaceNetworks(ctx, p, plan, diverged)
	if err != nil {
		return plan, err
	}
	// so does a volume whose definition changed, when up -y agreed
	if early, err = e.replaceVolumes(ctx, plan, vdiverged, early); err != nil {
		return plan, err
	}
	if err := e.ensureUpResources(ctx, p, g, o); err != nil {
		return plan, err
	}
	e.warnUp(p, g, plan, o)
	steps := stepsByService(plan)
	// Orphans (services no longer in the project) go first.
	if err := e.removeOrphanSteps(ctx, g, steps, early); err != nil {
		return plan, err
	}
	if err := e.restartDependents(ctx, p, steps, o); err != nil {
		return plan, err
	}
	w := &upWalk{e: e, p: p, o: o, images: images, steps: steps, early: early}
	var supOnce sync.Once
	var supErr error
	w.ensureSupervisor = func() error {
		supOnce.Do(func() { supErr = e.supervisor(p.Name).Ensure(ctx) })
		return supErr
	}
	limit := o.Parallel
	if limit <= 0 {
		limit = 8
	}
	err = g.Walk(ctx, graph.Forward, limit, w.service)
	var de *DependencyError
	if errors.As(err, &de) {
		return plan, de // it names the service already
	}
	return plan, plainNodeError(err)
}

// planUp resolves and fetches the images, finds the networks and volumes
// whose definition changed (vdiverged: nil unless up -y, the others kept
// with a warning), and plans. The plan comes back with its image steps
// even on error.
func (e *Engine) planUp(ctx context.Context, p *types.Project, g *graph.Graph, o UpOptions) (plan Plan, images map[string]*image.Image, diverged, vdiverged map[string]string, err error) {
	ip := o.imagePolicy()
	local, isteps, err := e.resolveImages(p, g.Nodes(), ip)
	if err != nil {
		return Plan{}, nil, nil, nil, err
	}
	if images, err = e.fetchImages(ctx, p, local, isteps, ip); err != nil {
		return Plan{}, nil, nil, nil, err
	}
	if diverged, err = e.divergedNetworks(p, g.Nodes()); err != nil {
		return Plan{}, nil, nil, nil, err
	}
	vdiverged = e.divergedVolumes(ctx, p, g.Nodes())
	if !o.RecreateVolumes {
		e.keepDivergedVolumes(vdiverged)
		vdiverged = nil
	}
	plan, err = e.plan(p, g, o, images, diverged, vdiverged)
	plan.Images = isteps
	return plan, images, diverged, vdiverged, err
}

// ensureUpResources makes the networks the services use (with
// --all-resources every network and volume the project declares).
func (e *Engine) ensureUpResources(ctx context.Context, p *types.Project, g *graph.Graph, o UpOptions) error {
	if err := e.ensureNetworks(ctx, p, g.Nodes()); err != nil {
		return err
	}
	if o.AllResources {
		return e.ensureAllResources(ctx, p)
	}
	return nil
}

// warnUp says which optional dependencies are skipped and, unless
// ignored, which orphans are left.
func (e *Engine) warnUp(p *types.Project, g *graph.Graph, plan Plan, o UpOptions) {
	for _, name := range g.Nodes() {
		for _, dep := range sortedKeys(p.Services[name].DependsOn) {
			if _, ok := p.Services[dep]; !ok && !p.Services[name].DependsOn[dep].Required {
				e.progress(Event{Kind: "Service", Name: name, Status: "Warning",
					Text: fmt.Sprintf("optional dependency %q is not in the project (disabled or undefined): skipped", dep)})
			}
		}
	}
	if o.IgnoreOrphans {
		return
	}
	for _, orphan := range plan.Orphans {
		e.progress(Event{Kind: "Container", Name: orphan, Status: "Orphan", Text: "found orphan container for a service not in the project; remove it with --remove-orphans"})
	}
}

// stepsByService groups the plan's steps by service, in plan order.
func stepsByService(plan Plan) map[string][]Step {
	steps := map[string][]Step{}
	for _, s := range plan.Steps {
		steps[s.Service] = append(steps[s.Service], s)
	}
	return steps
}

// removeOrphanSteps removes the containers of services no longer in the
// graph (--remove-orphans), but those replaceNetworks removed already.
func (e *Engine) removeOrphanSteps(ctx context.Context, g *graph.Graph, steps map[string][]Step, early map[string]*state.Container) error {
	for svc, ss := range steps {
		if g.Has(svc) {
			continue
		}
		for _, s := range ss {
			if early[s.ID] != nil {
				continue // removed with its network
			}
			if err := e.removeStep(ctx, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// upWalk is what up's walk over the graph shares between services.
type upWalk struct {
	e      *Engine
	p      *types.Project
	o      UpOptions
	images map[string]*image.Image
	steps  map[string][]Step
	// early are the containers replaceNetworks/replaceVolumes removed.
	early map[string]*state.Container
	// ensureSupervisor starts the project's supervisor, once.
	ensureSupervisor func() error
	provEnv          providerEnv
}

// service runs one service's steps (a provider runs its provider): its
// scale-down removals first, then the others, each service's steps in
// parallel.
func (w *upWalk) service(ctx context.Context, name string) error {
	e, p := w.e, w.p
	svc := p.Services[name]
	if isProvider(svc) {
		return e.providerUp(ctx, p, svc, &w.provEnv)
	}
	hash, cfg, err := serviceHash(p, svc)
	if err != nil {
		return err
	}
	// what its providers reported goes into the container, not into
	// the config hash (a provider's fresh token recreates nothing)
	svc = e.withProviderEnv(p, svc, &w.provEnv)
	ready := w.ready(ctx, name)
	ss := w.steps[name]
	var pre *preStart
	if !w.o.NoStart {
		pre = e.newPreStart(p, svc, w.images[name], ss)
	}
	errs := make([]error, len(ss))
	// Scale-down removals first: the plan may have given their host
	// ports to the service's new containers.
	for _, removes := range []bool{true, false} {
		var wg sync.WaitGroup
		for i, s := range ss {
			if (s.Action == ActionRemove) != removes {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = e.execStep(ctx, p, svc, s, w.images[name], hash, cfg, w.o, ready, w.early[s.ID], pre)
			}()
		}
		wg.Wait()
	}
	return errors.Join(errs...)
}

// ready is the service's wait before its containers start. As Compose,
// containers are created first and started once the dependencies meet
// their conditions: a dependency that fails leaves its dependents
// created. The wait is done once, for all the service's containers.
func (w *upWalk) ready(ctx context.Context, name string) func() error {
	var waitOnce sync.Once
	var waitErr error
	return func() error {
		waitOnce.Do(func() { waitErr = w.e.waitDependencies(ctx, w.p, name) })
		if waitErr != nil {
			return waitErr
		}
		return w.ensureSupervisor()
	}
}

// plainNodeError drops the walker's `service "x": ` prefix when the error
// inside already starts with it.
func plainNodeError(err error) error {
	var ne *graph.NodeError
	if errors.As(err, &ne) && strings.HasPrefix(ne.Err.Error(), fmt.Sprintf("service %q", ne.Node)) {
		return ne.Err
	}
	return err
}

// repairSupervisor handles a project whose records say something runs but
// whose supervisor is gone (killed): a new supervisor stops what its
// predecessor left (it cannot see those exits) and marks it exited, so
// the plan starts it again.
func (e *Engine) repairSupervisor(ctx context.Context, projectName string) error {
	obs, err := e.observe(projectName)
	if err != nil {
		return err
	}
	for _, c := range obs {
		switch c.State.Status {
		case state.StatusRunning, state.StatusPaused, state.StatusRestarting:
			sup := e.supervisor(projectName)
			if sup.Alive(ctx) {
				return nil
			}
			e.progress(Event{Kind: "Container", Name: c.Name, Status: "Warning", Text: "the project's supervisor was gone; restarting its containers"})
			return sup.Ensure(ctx)
		}
	}
	return nil
}

// execStep does one step of the plan. ready blocks until the service may
// start (its dependencies meet their conditions, the supervisor runs);
// removed is the step's container when replaceNetworks removed it already;
// pre are the service's pre_start hooks to run before it starts (nil: none).
func (e *Engine) execStep(ctx context.Context, p *types.Project, svc types.ServiceConfig, s Step, img *image.Image, hash string, cfg []byte, o UpOptions, ready func() error, removed *state.Container, pre *preStart) error {
	cs := containerSpec{project: p, service: svc, number: s.Number, name: s.Name, image: img, hash: hash, config: cfg, portSpecs: s.PortSpecs, ports: s.Ports}
	switch s.Action {
	case ActionKeep:
		e.emit("Container", s.Name, "Running")
		return nil
	case ActionRemove:
		if removed != nil {
			return nil
		}
		return e.removeStep(ctx, s)
	case ActionRecreate:
		old, err := e.removeReplaced(ctx, s, removed)
		if err != nil {
			return err
		}
		if !o.RenewAnonVolumes {
			cs.keepAnon = old.AnonymousVolumes
		}
		cs.replaces = old.ID
	case ActionStart:
		if o.NoStart {
			return nil
		}
		return e.startStep(ctx, s, ready, pre)
	}
	// create (or the second half of recreate)
	rec, err := e.createStep(ctx, s, cs)
	if err != nil || o.NoStart {
		return err
	}
	if err := ready(); err != nil {
		return err
	}
	if err := pre.before(ctx, rec); err != nil {
		return err
	}
	return e.startContainer(ctx, rec.ID, rec.Name)
}

// removeReplaced stops and removes the container a recreate step
// replaces (unless replaceNetworks removed it already: removed) and
// returns its record.
func (e *Engine) removeReplaced(ctx context.Context, s Step, removed *state.Container) (*state.Container, error) {
	if removed != nil {
		return removed, nil
	}
	old, err := e.store.Get(s.ID)
	if err != nil {
		return nil, err
	}
	e.emit("Container", s.Name, "Recreate")
	if err := e.stopContainer(ctx, old, -1); err != nil {
		return nil, err
	}
	if err := e.remove(ctx, old, false); err != nil {
		return nil, err
	}
	return old, nil
}

// startStep starts an existing, stopped container once the service may
// start, its ports recorded as the plan assigned them and its pre_start
// hooks run.
func (e *Engine) startStep(ctx context.Context, s Step, ready func() error, pre *preStart) error {
	if err := ready(); err != nil {
		return err
	}
	if err := e.publishRecord(s.ID, s.Ports); err != nil {
		return err
	}
	if pre != nil {
		rec, err := e.store.Get(s.ID)
		if err != nil {
			return err
		}
		if err := pre.before(ctx, rec); err != nil {
			return err
		}
	}
	return e.startContainer(ctx, s.ID, s.Name)
}

// createStep creates the container of a create or recreate step, saying
// so as Compose does.
func (e *Engine) createStep(ctx context.Context, s Step, cs containerSpec) (*state.Container, error) {
	e.emit("Container", s.Name, "Creating")
	rec, err := e.create(ctx, cs)
	if err != nil {
		return nil, err
	}
	if s.Action == ActionRecreate {
		e.emit("Container", s.Name, "Recreated") // Compose's word for the done recreate
	} else {
		e.emit("Container", s.Name, "Created")
	}
	return rec, nil
}

func (e *Engine) removeStep(ctx context.Context, s Step) error {
	rec, err := e.store.Get(s.ID)
	if err != nil {
		return err
	}
	if err := e.stopContainer(ctx, rec, -1); err != nil {
		return err
	}
	return e.remove(ctx, rec, false)
}

func (e *Engine) startContainer(ctx context.Context, id, name string) error {
	e.emit("Container", name, "Starting")
	rec, err := e.store.Get(id)
	if err != nil {
		return err
	}
	if _, err := e.supervisor(rec.Project).Call(ctx, supervisor.Request{Op: supervisor.OpStart, ID: id}); err != nil {
		return fmt.Errorf("service %q: container %s: %w", rec.Service, name, err)
	}
	if err := e.runHooks(ctx, rec, "post_start"); err != nil {
		return err
	}
	e.emit("Container", name, "Started")
	return nil
}

// stopContainer stops one container through its supervisor; timeout < 0
// means the container's stop_grace_period.
func (e *Engine) stopContainer(ctx context.Context, rec *state.Container, timeout time.Duration) error {
	st, err := e.store.GetState(rec.ID)
	if err != nil {
		return err
	}
	if st.Status != state.StatusRunning && st.Status != state.StatusPaused && st.Status != state.StatusRestarting {
		return nil
	}
	e.emit("Container", rec.Name, "Stopping")
	var hookErr error
	if st.Status == state.StatusRunning {
		hookErr = e.runHooks(ctx, rec, "pre_stop")
	}
	sup := e.supervisor(rec.Project)
	if _, err := sup.Call(ctx, supervisor.Request{Op: supervisor.OpStop, ID: rec.ID, Timeout: timeout}); err != nil {
		if !errors.Is(err, supervisor.ErrNotRunning) {
			return fmt.Errorf("stop %s: %w", rec.Name, err)
		}
		// No supervisor: the container was orphaned; stop it directly.
		if rt, rerr := e.Runtime(ctx, rec.Runtime); rerr == nil {
			rt.Delete(ctx, rec.ID, true)
		}
		st.Status, st.Pid = state.StatusExited, 0
		e.store.PutState(rec.ID, st)
	}
	e.emit("Container", rec.Name, "Stopped")
	return hookErr
}

// observe lists a project's containers with their runtime state.
func (e *Engine) observe(projectName string) ([]Observed, error) {
	recs, err := e.store.List(projectName)
	if err != nil {
		return nil, err
	}
	out := make([]Observed, 0, len(recs))
	for _, r := range recs {
		st, err := e.store.GetState(r.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, Observed{Container: r, State: st})
	}
	return out, nil
}

// projectGraph is the project's service dependency graph.
func projectGraph(p *types.Project) (*graph.Graph, error) {
	deps, err := project.Dependencies(p)
	if err != nil {
		return nil, err
	}
	return graph.New(project.ServiceNames(p), project.Edges(deps))
}

// sharesWith lists the services whose containers this service joins.
func sharesWith(s types.ServiceConfig) []string {
	var out []string
	for _, m := range []string{s.NetworkMode, s.Ipc, s.Pid} {
		if on, ok := strings.CutPrefix(m, types.ServicePrefix); ok {
			out = append(out, on)
		}
	}
	for _, v := range s.VolumesFrom {
		if !strings.HasPrefix(v, types.ContainerPrefix) {
			on, _, _ := strings.Cut(v, ":")
			out = append(out, on)
		}
	}
	sort.Strings(out)
	return out
}
