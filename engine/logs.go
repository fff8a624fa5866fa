package engine

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"sort"
	"sync"
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
		c := byName[l.Prefix]
		fn(LogLine{Container: c.Name, Service: c.Service, Number: c.Number, Entry: l.Entry})
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

// Attach follows the logs of containers and sends new lines to fn, until
// ctx is done or none of the watched containers runs any more.
func (e *Engine) Attach(ctx context.Context, cs []*state.Container, o AttachOptions, fn func(LogLine)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type entry struct {
		c *state.Container
		e logs.Entry
	}
	out := make(chan entry, 256)
	var wg sync.WaitGroup
	followCtx, stopFollow := context.WithCancel(context.Background())
	defer stopFollow()
	following := map[string]bool{}
	var followed []*state.Container
	follow := func(c *state.Container, offset int64) {
		following[c.ID] = true
		followed = append(followed, c)
		ch := make(chan logs.Entry, 64)
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer close(ch)
			logs.Follow(followCtx, e.store.LogPath(c.ID), offset, ch)
		}()
		go func() {
			defer wg.Done()
			for le := range ch {
				out <- entry{c, le}
			}
		}()
	}
	// what the logs hold already goes first, in the order it happened
	from := e.replay(cs, o.Offsets, o.Until, fn)
	for _, c := range cs {
		follow(c, from[c.ID])
	}
	// out closes once every follower is done; the hold keeps it open
	// while containers may still join.
	wg.Add(1)
	hold := sync.OnceFunc(wg.Done)
	defer hold()
	go func() { wg.Wait(); close(out) }()

	known := map[string]bool{} // records read once: followed or refused
	for _, c := range cs {
		known[c.ID] = true
	}
	join := func() {
		if o.Join == nil {
			return
		}
		ids, err := e.store.IDs()
		if err != nil {
			return
		}
		for _, id := range ids {
			if known[id] {
				continue
			}
			r, err := e.store.Get(id)
			if err != nil {
				continue // being created or removed: look again
			}
			known[id] = true
			if r.Project == o.Project && !following[id] && o.Join(r) {
				follow(r, 0)
			}
		}
	}
	watched := func(c *state.Container) bool { return o.Watched == nil || o.Watched(c) }
	stopped := map[string]bool{}        // stopped at the start, not run since
	startedAt := map[string]time.Time{} // their last start then
	if o.WaitForStopped {
		for _, c := range cs {
			if st, err := e.store.GetState(c.ID); err == nil && (st.Status == state.StatusExited || st.Status == state.StatusDead) {
				stopped[c.ID] = true
				startedAt[c.ID] = st.StartedAt
			}
		}
	}
	seenExit := map[string]bool{}
	lastExit := map[string]time.Time{}
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	var finishing <-chan time.Time
	for {
		select {
		case x, ok := <-out:
			if !ok {
				return nil
			}
			if !o.Until.IsZero() && !x.e.Time.Before(o.Until) {
				continue
			}
			fn(LogLine{Container: x.c.Name, Service: x.c.Service, Number: x.c.Number, Entry: x.e})
		case <-ticker.C:
			if finishing != nil {
				continue
			}
			join()
			active := 0
			for _, c := range followed {
				if !watched(c) {
					continue
				}
				st, err := e.store.GetState(c.ID)
				if err != nil {
					continue // removed
				}
				switch st.Status {
				case state.StatusRunning, state.StatusPaused, state.StatusRestarting:
					active++
					seenExit[c.ID] = false
					delete(stopped, c.ID)
					// An exit its restart policy restarted it from is an
					// exit too (Compose prints each one).
					if prev, ok := lastExit[c.ID]; !ok {
						lastExit[c.ID] = st.FinishedAt
					} else if !st.FinishedAt.Equal(prev) {
						lastExit[c.ID] = st.FinishedAt
						if o.Exited != nil {
							o.Exited(c, st)
						}
					}
				case state.StatusExited, state.StatusDead:
					if stopped[c.ID] && st.StartedAt.Equal(startedAt[c.ID]) {
						active++ // not started again yet
						continue
					}
					delete(stopped, c.ID)
					if !seenExit[c.ID] {
						seenExit[c.ID] = true
						lastExit[c.ID] = st.FinishedAt
						if o.Exited != nil {
							o.Exited(c, st)
						}
					}
				case state.StatusCreated:
					active++ // about to start
				}
			}
			if active == 0 {
				// let the last lines arrive, then stop
				finishing = time.After(300 * time.Millisecond)
			}
		case <-finishing:
			stopFollow()
			hold()
			for x := range out {
				fn(LogLine{Container: x.c.Name, Service: x.c.Service, Number: x.c.Number, Entry: x.e})
			}
			return nil
		case <-ctx.Done():
			stopFollow()
			hold()
			for range out {
			}
			return ctx.Err()
		}
	}
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
		c := byID[l.Prefix]
		fn(LogLine{Container: c.Name, Service: c.Service, Number: c.Number, Entry: l.Entry})
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
