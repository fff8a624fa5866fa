package engine

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"sort"
	"time"

	"github.com/berth-dev/berth/engine/logs"
	"github.com/berth-dev/berth/engine/state"
)

// LogsOptions are `logs`' flags.
type LogsOptions struct {
	Follow       bool
	Tail         int // < 0: all
	Since, Until time.Time
	Index        int // > 0: only this replica of the one selected service
}

// LogLine is one line of a container's output.
type LogLine struct {
	Container string // container name
	Service   string
	Number    int
	logs.Entry
}

// Logs sends the selected containers' log lines, merged by time, to fn;
// with Follow it goes on with new lines, also of containers of the
// selection that start later (scaled up, created by another command), until
// ctx is done or no selected container runs any more.
func (e *Engine) Logs(ctx context.Context, sel Selection, o LogsOptions, fn func(LogLine)) error {
	if o.Index > 0 && len(sel.Services) != 1 {
		return errors.New("--index requires one service to be selected")
	}
	byService, err := e.selected(sel)
	if err != nil {
		return err
	}
	var cs []*state.Container
	for _, list := range byService {
		for _, c := range list {
			if o.Index > 0 && (c.Oneoff || c.Number != o.Index) {
				continue
			}
			cs = append(cs, c)
		}
	}
	if o.Index > 0 && len(cs) == 0 {
		return fmt.Errorf("service %q has no container number %d", sel.Services[0], o.Index)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	srcs := make([]logs.Source, len(cs))
	byName := map[string]*state.Container{}
	offsets := map[string]int64{}
	for i, c := range cs {
		path := e.store.LogPath(c.ID)
		srcs[i] = logs.Source{Prefix: c.Name, Path: path}
		byName[c.Name] = c
		if st, err := os.Stat(path); err == nil {
			offsets[c.ID] = st.Size()
		}
	}
	lines, err := logs.Merge(srcs, logs.Filter{Since: o.Since, Until: o.Until, Tail: o.Tail})
	if err != nil {
		return err
	}
	for _, l := range lines {
		fn(logLine(byName[l.Prefix], l.Entry))
	}
	if !o.Follow {
		return nil
	}
	ao := AttachOptions{Offsets: offsets, Until: o.Until, Project: sel.Project, WaitForStopped: true}
	if o.Index == 0 {
		// containers that appear later join, as with docker compose logs -f
		want := map[string]bool{}
		for _, s := range sel.Services {
			want[s] = true
		}
		ao.Join = func(c *state.Container) bool {
			return (sel.All || !c.Oneoff) && (len(want) == 0 || want[c.Service])
		}
	}
	return e.Attach(ctx, cs, ao, fn)
}

// AttachOptions say what Attach follows and when it ends.
type AttachOptions struct {
	// Offsets is where each container's log is read from (0 when absent).
	Offsets map[string]int64
	// Until drops lines at or after it (zero: none).
	Until time.Time
	// Project and Join, when Join is set, make Attach follow the project's
	// containers that appear later and Join accepts, from the start of
	// their logs (replicas scaled up, containers another command creates).
	Project string
	Join    func(*state.Container) bool
	// Watched tells which containers' exits end the attach when none of
	// them runs any more; nil: all the followed ones.
	Watched func(*state.Container) bool
	// Exited, when set, is told of each exit of a watched container.
	Exited func(c *state.Container, st *state.RuntimeState)
	// WaitForStopped makes containers that are stopped when Attach begins
	// count as running until they run again (and stop) or are removed, so
	// that a later start or restart is followed: docker compose logs -f
	// waits for every container it found.
	WaitForStopped bool
}

// Attach follows the logs of containers and sends their lines to fn: first
// what each log holds past its offset, merged by time across the
// containers (replay), then new lines as they come, until ctx is done or
// none of the watched containers runs any more.
func (e *Engine) Attach(ctx context.Context, cs []*state.Container, o AttachOptions, fn func(LogLine)) error {
	fl := newFollowers(e.store.LogPath)
	defer fl.stop()
	from := e.replay(cs, o.Offsets, o.Until, fn)
	known := map[string]bool{} // records read once: followed or refused
	for _, c := range cs {
		fl.add(c, from[c.ID])
		known[c.ID] = true
	}
	w := newExitWatch()
	if o.WaitForStopped {
		e.stoppedAtStart(w, cs)
	}
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	var finishing <-chan time.Time
	for {
		select {
		case x, ok := <-fl.out:
			if !ok {
				return nil
			}
			if !o.Until.IsZero() && !x.Time.Before(o.Until) {
				continue
			}
			fn(x)
		case <-ticker.C:
			if finishing != nil {
				continue
			}
			if o.Join != nil {
				for _, c := range e.newcomers(known, o.Project, o.Join) {
					fl.add(c, 0)
				}
			}
			if e.activeWatched(w, fl.followed, o) == 0 {
				// let the last lines arrive, then stop
				finishing = time.After(300 * time.Millisecond)
			}
		case <-finishing:
			fl.stop()
			for x := range fl.out {
				fn(x)
			}
			return nil
		case <-ctx.Done():
			fl.stop()
			for range fl.out {
			}
			return ctx.Err()
		}
	}
}

// newcomers reads the records of the containers not known yet and returns
// those of project that join accepts, marking every one read as known. A
// record being created or removed is left for the next look.
func (e *Engine) newcomers(known map[string]bool, project string, join func(*state.Container) bool) []*state.Container {
	ids, err := e.store.IDs()
	if err != nil {
		return nil
	}
	var out []*state.Container
	for _, id := range ids {
		if known[id] {
			continue
		}
		r, err := e.store.Get(id)
		if err != nil {
			continue
		}
		known[id] = true
		if r.Project == project && join(r) {
			out = append(out, r)
		}
	}
	return out
}

// stoppedAtStart tells w which of cs are stopped when Attach begins.
func (e *Engine) stoppedAtStart(w *exitWatch, cs []*state.Container) {
	for _, c := range cs {
		if st, err := e.store.GetState(c.ID); err == nil {
			w.atStart(c.ID, st)
		}
	}
}

// activeWatched looks at the state of each followed container that o
// watches, tells o.Exited of the exits w has not seen, and returns how
// many still run or are about to.
func (e *Engine) activeWatched(w *exitWatch, followed []*state.Container, o AttachOptions) int {
	active := 0
	for _, c := range followed {
		if o.Watched != nil && !o.Watched(c) {
			continue
		}
		st, err := e.store.GetState(c.ID)
		if err != nil {
			continue // removed
		}
		running, exited := w.observe(c.ID, st)
		if running {
			active++
		}
		if exited && o.Exited != nil {
			o.Exited(c, st)
		}
	}
	return active
}

// replay sends fn the lines the containers' logs hold past their offsets,
// merged by time across the containers (an attached up that starts a
// dependency, waits for it to finish and starts the next finds both
// containers' lines there, and prints them in the order they were written),
// and returns where following each log goes on. A log it cannot open is
// left to its follower, from its offset.
func (e *Engine) replay(cs []*state.Container, offsets map[string]int64, until time.Time, fn func(LogLine)) map[string]int64 {
	from := map[string]int64{}
	byID := map[string]*state.Container{}
	backlogs := map[string]*logs.Backlog{}
	var seqs []iter.Seq[logs.Line]
	for _, c := range cs {
		from[c.ID] = offsets[c.ID]
		b, err := logs.OpenBacklog(e.store.LogPath(c.ID), offsets[c.ID])
		if err != nil {
			continue
		}
		defer b.Close()
		byID[c.ID], backlogs[c.ID] = c, b
		seqs = append(seqs, b.Lines(c.ID))
	}
	for l := range logs.Interleave(seqs...) {
		if !until.IsZero() && !l.Time.Before(until) {
			continue
		}
		fn(logLine(byID[l.Prefix], l.Entry))
	}
	for id, b := range backlogs {
		from[id] = b.Offset()
	}
	return from
}

// LogOffsets returns the current size of each container's log, so a
// following Attach shows only what comes after.
func (e *Engine) LogOffsets(cs []*state.Container) map[string]int64 {
	out := map[string]int64{}
	for _, c := range cs {
		if st, err := os.Stat(e.store.LogPath(c.ID)); err == nil {
			out[c.ID] = st.Size()
		}
	}
	return out
}
