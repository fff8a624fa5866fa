package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/events"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/engine/supervisor"
	"github.com/berth-dev/berth/graph"
	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/project"
)

// DownOptions are `down`'s flags.
type DownOptions struct {
	RemoveOrphans bool
	Volumes       bool           // also the project's named and anonymous volumes
	Timeout       *time.Duration // nil: each container's stop_grace_period
	// Services, when set, limits down to their containers and those of the
	// services that depend on them; networks and volumes then go only
	// when no container of the project is left.
	Services []string
}

// Down stops and removes the project's containers in reverse dependency
// order (and with Volumes its volumes). p may be nil when only the project
// name is known: then every container of the project goes, at once.
func (e *Engine) Down(ctx context.Context, projectName string, p *types.Project, o DownOptions) error {
	lock, err := fsutil.Acquire(ctx, e.layout.ProjectLock(projectName))
	if err != nil {
		return err
	}
	defer e.releaseProjectLock(lock, projectName)
	obs, err := e.observe(projectName)
	if err != nil {
		return err
	}
	byService, orphans := downContainers(p, obs, o.RemoveOrphans)
	for _, name := range orphans {
		e.progress(Event{Kind: "Container", Name: name, Status: "Orphan", Text: "found orphan container for a service not in the project; remove it with --remove-orphans"})
	}
	if len(o.Services) > 0 {
		if byService, err = downSelection(p, byService, o); err != nil {
			return err
		}
	}
	timeout := time.Duration(-1)
	if o.Timeout != nil {
		timeout = *o.Timeout
	}
	err = e.walkContainers(ctx, p, byService, graph.Reverse, func(ctx context.Context, c *state.Container) error {
		if err := e.stopContainer(ctx, c, timeout); err != nil {
			return err
		}
		e.emit("Container", c.Name, "Removing")
		return e.remove(ctx, c, o.Volumes)
	})
	if err != nil {
		return err
	}
	if err := e.providersDo(ctx, p, o.Services, "down"); err != nil {
		return err
	}
	return e.downResources(ctx, projectName, p, o)
}

// releaseProjectLock frees the project lock, deleting its file when no
// container of the project is left: every standalone container is a
// project of its own, and locks/ would otherwise keep a file per `run`.
// A command waiting on the removed file opens the path anew (fsutil.Lock).
func (e *Engine) releaseProjectLock(lock *fsutil.Lock, projectName string) {
	if left, err := e.store.List(projectName); err == nil && len(left) == 0 {
		_ = lock.Remove()
		return
	}
	_ = lock.Release()
}

// downContainers sorts the observed containers down removes by service
// and names the orphans it leaves: with a project known and without
// --remove-orphans, those of services neither in it nor disabled by a
// profile (one-offs always go).
func downContainers(p *types.Project, obs []Observed, removeOrphans bool) (byService map[string][]*state.Container, orphans []string) {
	byService = map[string][]*state.Container{}
	for _, c := range obs {
		if p != nil && !c.Oneoff && !removeOrphans {
			if _, ok := p.Services[c.Service]; !ok {
				if _, disabled := p.DisabledServices[c.Service]; !disabled {
					orphans = append(orphans, c.Name)
					continue
				}
			}
		}
		byService[c.Service] = append(byService[c.Service], c.Container)
	}
	return byService, orphans
}

// downResources removes, once no container of the project is left, its
// volumes (with Volumes), its networks and its supervisor.
func (e *Engine) downResources(ctx context.Context, projectName string, p *types.Project, o DownOptions) error {
	if len(o.Services) > 0 {
		if left, err := e.store.List(projectName); err != nil || len(left) > 0 {
			return err // the rest of the project still uses them
		}
	}
	if o.Volumes && p != nil {
		if err := e.removeProjectVolumes(ctx, p); err != nil {
			return err
		}
	}
	if err := e.removeProjectNetworks(ctx, projectName, p); err != nil {
		return err
	}
	return e.endSupervisor(ctx, projectName)
}

// endSupervisor makes `down` return only when nothing of the project is
// left, its supervisor and keeper included: with no container record
// left, they are told to exit now (not after their idle delay) and waited
// for. A supervisor that still serves something (a one-off another
// command runs in the foreground) refuses, and stays.
func (e *Engine) endSupervisor(ctx context.Context, projectName string) error {
	recs, err := e.store.List(projectName)
	if err != nil || len(recs) > 0 {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = e.supervisor(projectName).Exit(ctx)
	if err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}

// downSelection keeps, of byService, the services `down SERVICE...` names,
// the services that depend on them and (with RemoveOrphans) the orphans.
func downSelection(p *types.Project, byService map[string][]*state.Container, o DownOptions) (map[string][]*state.Container, error) {
	keep := map[string]bool{}
	for _, s := range o.Services {
		keep[s] = true
	}
	if p != nil {
		for _, s := range o.Services {
			_, enabled := p.Services[s]
			_, disabled := p.DisabledServices[s]
			if !enabled && !disabled {
				return nil, fmt.Errorf("no such service: %s", s)
			}
		}
		g, err := projectGraph(p)
		if err != nil {
			return nil, err
		}
		for _, s := range g.Subgraph(o.Services, graph.Reverse).Nodes() {
			keep[s] = true
		}
	}
	out := map[string][]*state.Container{}
	for svc, cs := range byService {
		orphan := false
		if p != nil {
			_, enabled := p.Services[svc]
			_, disabled := p.DisabledServices[svc]
			orphan = !enabled && !disabled
		}
		if keep[svc] || (orphan && o.RemoveOrphans) {
			out[svc] = cs
		}
	}
	return out, nil
}

// walkContainers applies fn to containers grouped by service, services in
// the graph's order (forward or reverse), the replicas of one service in
// parallel. Services not in the graph (orphans, or p nil) go first
// (reverse) or last (forward), all at once.
func (e *Engine) walkContainers(ctx context.Context, p *types.Project, byService map[string][]*state.Container, dir graph.Direction, fn func(context.Context, *state.Container) error) error {
	each := func(ctx context.Context, cs []*state.Container) error {
		errs := make([]error, len(cs))
		var wg sync.WaitGroup
		for i, c := range cs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = fn(ctx, c) }()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	var g *graph.Graph
	if p != nil {
		var err error
		if g, err = projectGraph(p); err != nil {
			return err
		}
	}
	var outside []*state.Container
	for svc, cs := range byService {
		if g == nil || !g.Has(svc) {
			outside = append(outside, cs...)
		}
	}
	if dir == graph.Reverse {
		if err := each(ctx, outside); err != nil {
			return err
		}
	}
	if g != nil {
		if err := g.Walk(ctx, dir, 8, func(ctx context.Context, svc string) error {
			return each(ctx, byService[svc])
		}); err != nil {
			return err
		}
	}
	if dir == graph.Forward {
		return each(ctx, outside)
	}
	return nil
}

// Selection names containers of a project: all of them, or those of some
// services.
type Selection struct {
	Project  string
	P        *types.Project // may be nil
	Services []string
	All      bool // include one-off containers
}

func (e *Engine) selected(sel Selection) (map[string][]*state.Container, error) {
	obs, err := e.observe(sel.Project)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, s := range sel.Services {
		want[s] = true
		if sel.P != nil {
			if _, ok := sel.P.Services[s]; !ok {
				return nil, fmt.Errorf("no such service: %s", s)
			}
		}
	}
	out := map[string][]*state.Container{}
	for _, c := range obs {
		if c.Oneoff && !sel.All {
			continue
		}
		if len(want) > 0 && !want[c.Service] {
			continue
		}
		out[c.Service] = append(out[c.Service], c.Container)
	}
	return out, nil
}

// Stop stops containers in reverse dependency order. Without services
// named, it stops those of the services the compose file declares (as
// Compose: containers of services of another file are left alone).
func (e *Engine) Stop(ctx context.Context, sel Selection, timeout *time.Duration) error {
	cs, err := e.selected(sel)
	if err != nil {
		return err
	}
	cs = inModel(sel, cs)
	t := time.Duration(-1)
	if timeout != nil {
		t = *timeout
	}
	err = e.walkContainers(ctx, sel.P, cs, graph.Reverse, func(ctx context.Context, c *state.Container) error {
		if st, err := e.store.GetState(c.ID); err == nil && st.Status != state.StatusRunning &&
			st.Status != state.StatusPaused && st.Status != state.StatusRestarting {
			// As Compose, a stop reports the container stopped even when
			// it already was.
			e.emit("Container", c.Name, "Stopped")
			return e.unpublish(c)
		}
		if err := e.stopContainer(ctx, c, t); err != nil {
			return err
		}
		return e.unpublish(c)
	})
	if err != nil {
		return err
	}
	return e.providersDo(ctx, sel.P, sel.Services, "stop")
}

// inModel keeps, when no service is named and the compose file is loaded,
// the containers of the services it declares.
func inModel(sel Selection, cs map[string][]*state.Container) map[string][]*state.Container {
	if sel.P == nil || len(sel.Services) > 0 {
		return cs
	}
	out := map[string][]*state.Container{}
	for svc, list := range cs {
		if _, ok := sel.P.Services[svc]; ok {
			out[svc] = list
		}
	}
	return out
}

// Start starts existing containers in dependency order. The services
// named are started with their dependencies, as Compose does.
func (e *Engine) Start(ctx context.Context, sel Selection) error {
	if sel.P != nil && len(sel.Services) > 0 {
		with, err := withDependencies(sel.P, sel.Services)
		if err != nil {
			return err
		}
		sel.Services = with
	}
	cs, err := e.selected(sel)
	if err != nil {
		return err
	}
	cs = inModel(sel, cs)
	if len(cs) == 0 {
		return fmt.Errorf("project %s: no containers to start (run `berth up`)", sel.Project)
	}
	// Host ports are taken again (stop freed them) for every container
	// that will start, before any starts.
	var stopped []*state.Container
	for _, list := range cs {
		for _, c := range list {
			if st, err := e.store.GetState(c.ID); err == nil && st.Status != state.StatusRunning {
				stopped = append(stopped, c)
			}
		}
	}
	ports, err := e.startPorts(stopped)
	if err != nil {
		return err
	}
	if err := e.supervisor(sel.Project).Ensure(ctx); err != nil {
		return err
	}
	return e.walkContainers(ctx, sel.P, cs, graph.Forward, func(ctx context.Context, c *state.Container) error {
		st, err := e.store.GetState(c.ID)
		if err != nil {
			return err
		}
		if st.Status == state.StatusRunning {
			return nil
		}
		if err := e.publishRecord(c.ID, ports[c.ID]); err != nil {
			return err
		}
		return e.startContainer(ctx, c.ID, c.Name)
	})
}

// Restart restarts containers in dependency order, as Compose does: each
// service once the dependencies it waits on (depends_on conditions) are met
// again, each container reported Restarting then Started. Services that
// depend on a restarted one with `restart: true` are restarted after it.
func (e *Engine) Restart(ctx context.Context, sel Selection, timeout *time.Duration) error {
	if sel.P != nil && len(sel.Services) > 0 {
		sel.Services = withRestartDependents(sel.P, sel.Services)
	}
	cs, err := e.selected(sel)
	if err != nil {
		return err
	}
	cs = inModel(sel, cs)
	if len(cs) == 0 {
		return nil
	}
	if err := e.supervisor(sel.Project).Ensure(ctx); err != nil {
		return err
	}
	t := time.Duration(-1)
	if timeout != nil {
		t = *timeout
	}
	waited := map[string]bool{}
	var mu sync.Mutex
	return e.walkContainers(ctx, sel.P, cs, graph.Forward, func(ctx context.Context, c *state.Container) error {
		mu.Lock()
		wait := sel.P != nil && !waited[c.Service]
		waited[c.Service] = true
		mu.Unlock()
		if wait {
			if err := e.waitDependencies(ctx, sel.P, c.Service); err != nil {
				return err
			}
		}
		e.emit("Container", c.Name, "Restarting")
		if err := e.stopContainer(ctx, c, t); err != nil {
			return err
		}
		if err := e.startContainer(ctx, c.ID, c.Name); err != nil {
			return err
		}
		e.record(events.ActionRestart, c)
		return nil
	})
}

// withDependencies adds, transitively, the services that services depend
// on.
func withDependencies(p *types.Project, services []string) ([]string, error) {
	deps, err := project.Dependencies(p)
	if err != nil {
		return nil, err
	}
	in := map[string]bool{}
	var add func(string)
	add = func(s string) {
		if in[s] {
			return
		}
		in[s] = true
		for _, d := range deps[s] {
			add(d.On)
		}
	}
	for _, s := range services {
		add(s)
	}
	return sortedKeys(in), nil
}

// withRestartDependents adds, transitively, the services that depend on
// one of services with depends_on restart: true.
func withRestartDependents(p *types.Project, services []string) []string {
	deps, err := project.Dependencies(p)
	if err != nil {
		return services
	}
	in := map[string]bool{}
	for _, s := range services {
		in[s] = true
	}
	for changed := true; changed; {
		changed = false
		for svc, ds := range deps {
			for _, d := range ds {
				if d.Restart && in[d.On] && !in[svc] {
					in[svc] = true
					changed = true
				}
			}
		}
	}
	return sortedKeys(in)
}

// Kill sends a signal to the running containers.
func (e *Engine) Kill(ctx context.Context, sel Selection, signal string) error {
	cs, err := e.selected(sel)
	if err != nil {
		return err
	}
	if _, err := supervisor.ParseSignal(signal); err != nil {
		return err
	}
	return e.walkContainers(ctx, sel.P, cs, graph.Reverse, func(ctx context.Context, c *state.Container) error {
		st, err := e.store.GetState(c.ID)
		if err != nil || st.Status != state.StatusRunning {
			return err
		}
		if _, err := e.supervisor(c.Project).Call(ctx, supervisor.Request{Op: supervisor.OpKill, ID: c.ID, Signal: signal}); err != nil {
			return fmt.Errorf("kill %s: %w", c.Name, err)
		}
		e.emit("Container", c.Name, "Killed")
		return nil
	})
}

// Pause pauses (or unpauses) running containers.
func (e *Engine) Pause(ctx context.Context, sel Selection, pause bool) error {
	cs, err := e.selected(sel)
	if err != nil {
		return err
	}
	op, status := supervisor.OpResume, "Unpaused"
	if pause {
		op, status = supervisor.OpPause, "Paused"
	}
	return e.walkContainers(ctx, sel.P, cs, graph.Forward, func(ctx context.Context, c *state.Container) error {
		// Docker's words, which Compose passes on.
		if st, err := e.store.GetState(c.ID); err == nil {
			if st.Status != state.StatusRunning && st.Status != state.StatusPaused && st.Status != state.StatusRestarting {
				return nil // as Compose: only running containers are (un)paused
			}
			if pause && st.Status == state.StatusPaused {
				return fmt.Errorf("container %s is already paused", c.Name)
			}
			if !pause && st.Status != state.StatusPaused {
				return fmt.Errorf("container %s is not paused", c.Name)
			}
		}
		if _, err := e.supervisor(c.Project).Call(ctx, supervisor.Request{Op: op, ID: c.ID}); err != nil {
			return fmt.Errorf("%s %s: %w", op, c.Name, err)
		}
		e.emit("Container", c.Name, status)
		return nil
	})
}

// Remove removes stopped containers (running ones too with stop first).
func (e *Engine) Remove(ctx context.Context, sel Selection, stopFirst, volumes bool) ([]string, error) {
	cs, err := e.selected(sel)
	if err != nil {
		return nil, err
	}
	var removed []string
	var mu sync.Mutex
	err = e.walkContainers(ctx, sel.P, cs, graph.Reverse, func(ctx context.Context, c *state.Container) error {
		st, err := e.store.GetState(c.ID)
		if err != nil {
			return err
		}
		if st.Status == state.StatusRunning || st.Status == state.StatusPaused || st.Status == state.StatusRestarting {
			if !stopFirst {
				return nil // rm leaves running containers alone, as Compose
			}
			if err := e.stopContainer(ctx, c, -1); err != nil {
				return err
			}
		}
		if err := e.remove(ctx, c, volumes); err != nil {
			return err
		}
		mu.Lock()
		removed = append(removed, c.Name)
		mu.Unlock()
		return nil
	})
	return removed, err
}
