package engine

import (
	"context"
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
}

// LogLine is one line of a container's output.
type LogLine struct {
	Container string // container name
	Service   string
	Number    int
	logs.Entry
}

// Logs sends the selected containers' log lines, merged by time, to fn;
// with Follow it goes on with new lines until ctx is done or no selected
// container runs any more.
func (e *Engine) Logs(ctx context.Context, sel Selection, o LogsOptions, fn func(LogLine)) error {
	byService, err := e.selected(sel)
	if err != nil {
		return err
	}
	var cs []*state.Container
	for _, list := range byService {
		cs = append(cs, list...)
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
	return e.Attach(ctx, cs, offsets, o.Until, fn, nil)
}

// Attach follows the logs of containers from the given offsets (0 when
// absent) and sends new lines to fn, until ctx is done or none of the
// containers runs any more. exited, when set, is told of each exit.
func (e *Engine) Attach(ctx context.Context, cs []*state.Container, offsets map[string]int64, until time.Time, fn func(LogLine), exited func(c *state.Container, st *state.RuntimeState)) error {
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
	for _, c := range cs {
		ch := make(chan logs.Entry, 64)
		wg.Add(2)
		go func() {
			defer wg.Done()
			defer close(ch)
			logs.Follow(followCtx, e.store.LogPath(c.ID), offsets[c.ID], ch)
		}()
		go func() {
			defer wg.Done()
			for le := range ch {
				out <- entry{c, le}
			}
		}()
	}
	go func() { wg.Wait(); close(out) }()

	seenExit := map[string]bool{}
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	var finishing <-chan time.Time
	for {
		select {
		case x, ok := <-out:
			if !ok {
				return nil
			}
			if !until.IsZero() && !x.e.Time.Before(until) {
				continue
			}
			fn(LogLine{Container: x.c.Name, Service: x.c.Service, Number: x.c.Number, Entry: x.e})
		case <-ticker.C:
			if finishing != nil {
				continue
			}
			active := 0
			for _, c := range cs {
				st, err := e.store.GetState(c.ID)
				if err != nil {
					continue // removed
				}
				switch st.Status {
				case state.StatusRunning, state.StatusPaused, state.StatusRestarting:
					active++
					seenExit[c.ID] = false
				case state.StatusExited, state.StatusDead:
					if !seenExit[c.ID] {
						seenExit[c.ID] = true
						if exited != nil {
							exited(c, st)
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
			for x := range out {
				fn(LogLine{Container: x.c.Name, Service: x.c.Service, Number: x.c.Number, Entry: x.e})
			}
			return nil
		case <-ctx.Done():
			stopFollow()
			for range out {
			}
			return ctx.Err()
		}
	}
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
