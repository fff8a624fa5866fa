package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/archive"
	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/engine/watch"
	"github.com/berth-dev/berth/project"
)

// WatchOptions are `watch`'s (and `up --watch`'s) settings.
type WatchOptions struct {
	Services []string // only these services' rules; all when empty
	// Prune removes the image a rebuild replaced when nothing else uses it.
	Prune bool
	// Log receives each watch message (one line, no newline).
	Log func(msg string)
	// Warn receives each warning about the watch's configuration (one
	// line, no newline; Compose writes them to stderr); nil sends them to
	// Log, prefixed with "WARNING: ".
	Warn func(msg string)
	// Ready is called once the trees are watched.
	Ready func()
	// Batch tunes batching (watch.DefaultBatch when zero).
	Batch watch.BatchOptions
}

// ErrNoWatch: none of the selected services has a develop.watch section.
var ErrNoWatch = errors.New("none of the selected services is configured for watch, consider setting a 'develop' section")

// Watch watches the develop.watch paths of the project's services and
// applies each batch of changes to the running containers: files synced
// straight into their filesystems, restarts, exec hooks, rebuilds. It
// returns when ctx ends (nil) or the watch cannot go on.
func (e *Engine) Watch(ctx context.Context, p *types.Project, o WatchOptions) error {
	if o.Log == nil {
		o.Log = func(string) {}
	}
	if o.Warn == nil {
		o.Warn = func(msg string) { o.Log("WARNING: " + msg) }
	}
	if o.Batch == (watch.BatchOptions{}) {
		o.Batch = watch.DefaultBatch
	}
	services := watchServices(p, o.Services)
	rules, err := watchRules(p, services, o.Warn)
	if err != nil {
		return err
	}
	w := &watcher{e: e, p: p, o: o, rules: rules, users: map[string][2]int{}}
	w.initialSync(ctx, services)
	n, err := watch.Watch(watch.Roots(rules), watch.Skipper(rules))
	if err != nil {
		return err
	}
	defer n.Close()
	o.Log("Watch enabled")
	if o.Ready != nil {
		o.Ready()
	}
	return w.loop(ctx, n)
}

// watchServices are the services watched, sorted: those named, else all.
func watchServices(p *types.Project, named []string) []string {
	services := named
	if len(services) == 0 {
		for name := range p.Services {
			services = append(services, name)
		}
	}
	slices.Sort(services)
	return services
}

// watchRules are the services' develop.watch rules, compiled; their
// warnings (and Compose's about the legacy x-initialSync) go to warn.
// None at all is ErrNoWatch.
func watchRules(p *types.Project, services []string, warn func(string)) ([]watch.Rule, error) {
	legacy := project.LegacyInitialSync(p.ComposeFiles)
	var rules []watch.Rule
	for _, name := range services {
		svc, ok := p.Services[name]
		if !ok {
			return nil, fmt.Errorf("no such service: %s", name)
		}
		rs, warnings, err := watch.Compile(p, svc)
		if err != nil {
			return nil, err
		}
		for _, w := range warnings {
			warn(w)
		}
		for range legacy[name] {
			// Compose's words (pkg/compose/watch.go), once per rule.
			warn("x-initialSync is DEPRECATED, please use the official `initial_sync` attribute")
		}
		rules = append(rules, rs...)
	}
	if len(rules) == 0 {
		return nil, ErrNoWatch
	}
	return rules, nil
}

// initialSync copies what the rules with initial_sync say into each
// service's containers before watching; a failure is logged, not fatal.
func (w *watcher) initialSync(ctx context.Context, services []string) {
	for _, name := range services {
		df := ""
		if b := w.p.Services[name].Build; b != nil {
			df = b.Dockerfile
		}
		var mine []watch.Rule
		for _, r := range w.rules {
			if r.Service == name {
				mine = append(mine, r)
			}
		}
		for _, a := range watch.InitialSync(mine, df) {
			if err := w.sync(ctx, a.Service, a.Sync, "initial sync"); err != nil {
				w.o.Log(fmt.Sprintf("initial sync of service %q: %v", a.Service, err))
			}
		}
	}
}

// loop applies each batch of changes n reports until ctx ends (nil) or
// n stops.
func (w *watcher) loop(ctx context.Context, n *watch.Notifier) error {
	batches := watch.Batch(ctx, n.Events(), w.o.Batch)
	for {
		select {
		case <-ctx.Done():
			w.o.Log("Watch disabled")
			return nil
		case err := <-n.Errors():
			w.o.Log("WARNING: " + err.Error())
		case batch, ok := <-batches:
			if !ok {
				if ctx.Err() != nil {
					w.o.Log("Watch disabled")
					return nil
				}
				return errors.New("watch: the file watcher stopped")
			}
			for _, a := range watch.Plan(batch, w.rules) {
				if err := w.apply(ctx, a); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					w.o.Log(fmt.Sprintf("service %q: %v", a.Service, err))
				}
			}
		}
	}
}

type watcher struct {
	e     *Engine
	p     *types.Project
	o     WatchOptions
	rules []watch.Rule
	users map[string][2]int // container ID → uid, gid of its process
}

// apply carries out one service's actions of a batch in Compose's order.
func (w *watcher) apply(ctx context.Context, a watch.Actions) error {
	if a.Rebuild {
		if err := w.rebuild(ctx, a.Service); err != nil {
			return err
		}
	}
	if len(a.Sync) > 0 {
		if err := w.sync(ctx, a.Service, a.Sync, ""); err != nil {
			return err
		}
	}
	if a.Restart && !a.Rebuild {
		sel := Selection{Project: w.p.Name, P: w.p, Services: []string{a.Service}}
		if err := w.e.Restart(ctx, sel, nil); err != nil {
			return fmt.Errorf("restart: %w", err)
		}
		w.o.Log(fmt.Sprintf("service(s) [%q] restarted", a.Service))
	}
	for _, r := range a.Exec {
		w.exec(ctx, a.Service, r.Exec)
	}
	return nil
}

// running are the service's running containers (one-offs left out).
func (w *watcher) running(service string) ([]*state.Container, []int, error) {
	recs, err := w.e.store.List(w.p.Name)
	if err != nil {
		return nil, nil, err
	}
	var cs []*state.Container
	var pids []int
	for _, r := range recs {
		if r.Service != service || r.Oneoff {
			continue
		}
		st, err := w.e.store.GetState(r.ID)
		if err != nil || st.Status != state.StatusRunning || st.Pid <= 0 {
			continue
		}
		cs, pids = append(cs, r), append(pids, st.Pid)
	}
	return cs, pids, nil
}

// sync writes the mappings into every running container of the service,
// beneath its root as its process sees it (/proc/PID/root, so volumes
// mounted there are written too).
func (w *watcher) sync(ctx context.Context, service string, ms []watch.Mapping, what string) error {
	cs, pids, err := w.running(service)
	if err != nil {
		return err
	}
	if len(cs) == 0 {
		w.o.Log(fmt.Sprintf("service %q has no running container: %d changes not synced", service, len(ms)))
		return nil
	}
	entries := make([]archive.SyncEntry, len(ms))
	for i, m := range ms {
		entries[i] = archive.SyncEntry{Host: m.Host, Target: m.Target, Rel: m.Rel}
	}
	if what == "" {
		w.o.Log(fmt.Sprintf("Syncing service %q after %d changes were detected", service, len(ms)))
	} else {
		w.o.Log(fmt.Sprintf("Syncing service %q: %s of %d entries", service, what, len(ms)))
	}
	var errs []error
	for i, c := range cs {
		root, err := openProcessRoot(pids[i], c.Rootfs)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
			continue
		}
		uid, gid := w.user(c)
		_, err = archive.Sync(ctx, root, entries, archive.SyncOptions{UID: uid, GID: gid})
		root.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

// user is the uid and gid of the container's process, who owns what sync
// creates (as Compose's sync, through Docker's CopyUIDGID).
func (w *watcher) user(c *state.Container) (int, int) {
	if u, ok := w.users[c.ID]; ok {
		return u[0], u[1]
	}
	uid, gid := -1, -1
	if spec, err := ociruntime.ReadBundle(c.Bundle); err == nil && spec.Process != nil {
		uid, gid = int(spec.Process.User.UID), int(spec.Process.User.GID)
	}
	w.users[c.ID] = [2]int{uid, gid}
	return uid, gid
}

// exec runs a sync+exec hook in each running container of the service;
// its output and failure go to the watch log.
func (w *watcher) exec(ctx context.Context, service string, h types.ServiceHook) {
	cs, _, err := w.running(service)
	if err != nil {
		w.o.Log(fmt.Sprintf("service %q: exec: %v", service, err))
		return
	}
	var env []string
	for k, v := range h.Environment {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	slices.Sort(env)
	for _, c := range cs {
		var out bytes.Buffer
		code, err := w.e.execIn(ctx, c, ExecOptions{
			Command: h.Command, Env: env, Workdir: h.WorkingDir, User: h.User, Privileged: h.Privileged,
		}, &out)
		for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
			if l != "" {
				w.o.Log(c.Name + " | " + l)
			}
		}
		switch {
		case err != nil:
			w.o.Log(fmt.Sprintf("%s: exec %s: %v", c.Name, strings.Join(h.Command, " "), err))
		case code != 0:
			w.o.Log(fmt.Sprintf("%s: exec %s: exit code %d", c.Name, strings.Join(h.Command, " "), code))
		}
	}
}

// rebuild builds the service's image (with the layer cache) and, when
// that succeeds, recreates the service's containers alone; dependents
// that asked for it (depends_on restart: true) are restarted. A failed
// build leaves the running containers as they are.
func (w *watcher) rebuild(ctx context.Context, service string) error {
	w.o.Log(fmt.Sprintf("Rebuilding service(s) [%q] after changes were detected...", service))
	old := map[string]bool{}
	if recs, err := w.e.store.List(w.p.Name); err == nil {
		for _, r := range recs {
			if r.Service == service && !r.Oneoff {
				old[r.ImageID] = true
			}
		}
	}
	start := time.Now()
	if _, err := w.e.Build(ctx, w.p, []string{service}, BuildOptions{}); err != nil {
		return fmt.Errorf("build failed, the running containers are kept: %w", err)
	}
	w.o.Log(fmt.Sprintf("service(s) [%q] successfully built in %s", service, time.Since(start).Round(time.Millisecond)))
	if _, err := w.e.Up(ctx, w.p, UpOptions{Services: []string{service}, NoDeps: true, Build: BuildNever, ForceRecreate: true}); err != nil {
		return fmt.Errorf("failed to recreate services after update: %w", err)
	}
	if deps := withRestartDependents(w.p, []string{service}); len(deps) > 1 {
		deps = slices.DeleteFunc(deps, func(s string) bool { return s == service })
		if err := w.e.Restart(ctx, Selection{Project: w.p.Name, P: w.p, Services: deps}, nil); err != nil {
			w.o.Log(fmt.Sprintf("restart of the dependents of %q: %v", service, err))
		}
	}
	if w.o.Prune {
		w.prune(ctx, old)
	}
	return nil
}

// prune removes the images a rebuild replaced, when no container uses
// them any more and no tag names them.
func (w *watcher) prune(ctx context.Context, ids map[string]bool) {
	all, err := w.e.store.List("")
	if err != nil {
		return
	}
	used := map[string]bool{}
	for _, c := range all {
		used[c.ImageID] = true
	}
	for id := range ids {
		if id == "" || used[id] {
			continue
		}
		if _, err := w.e.images.Remove(ctx, id, false, func(i string) bool { return used[i] }); err == nil {
			w.o.Log("Deleted image " + id)
		}
	}
}

// CheckWatch fails unless one of the services (all when none is named)
// has a valid develop.watch section: `up --watch` says so before
// starting anything.
func CheckWatch(p *types.Project, services []string) error {
	if len(services) == 0 {
		for name := range p.Services {
			services = append(services, name)
		}
	}
	n := 0
	for _, name := range services {
		svc, ok := p.Services[name]
		if !ok {
			return fmt.Errorf("no such service: %s", name)
		}
		rs, _, err := watch.Compile(p, svc)
		if err != nil {
			return err
		}
		n += len(rs)
	}
	if n == 0 {
		return ErrNoWatch
	}
	return nil
}
