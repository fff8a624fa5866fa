package engine

import (
	"context"
	"sync"
	"time"

	"github.com/berth-dev/berth/engine/logs"
	"github.com/berth-dev/berth/engine/state"
)

// logLine is a container's log entry as Logs and Attach hand it out.
func logLine(c *state.Container, e logs.Entry) LogLine {
	return LogLine{Container: c.Name, Service: c.Service, Number: c.Number, Entry: e}
}

// followers tail the logs of several containers into one channel, out,
// which closes once stop was called and every follower is done. Containers
// may be added until then.
type followers struct {
	logPath  func(id string) string
	ctx      context.Context
	cancel   context.CancelFunc
	out      chan LogLine
	wg       sync.WaitGroup
	hold     func() // keeps out open while containers may still be added
	followed []*state.Container
}

func newFollowers(logPath func(id string) string) *followers {
	f := &followers{logPath: logPath, out: make(chan LogLine, 256)}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.wg.Add(1)
	f.hold = sync.OnceFunc(f.wg.Done)
	go func() { f.wg.Wait(); close(f.out) }()
	return f
}

// add follows c's log from offset.
func (f *followers) add(c *state.Container, offset int64) {
	f.followed = append(f.followed, c)
	ch := make(chan logs.Entry, 64)
	f.wg.Add(2)
	go func() {
		defer f.wg.Done()
		defer close(ch)
		logs.Follow(f.ctx, f.logPath(c.ID), offset, ch)
	}()
	go func() {
		defer f.wg.Done()
		for le := range ch {
			f.out <- logLine(c, le)
		}
	}()
}

// stop ends the following; the caller drains out until it closes. It may
// be called more than once.
func (f *followers) stop() {
	f.cancel()
	f.hold()
}

// exitWatch follows the runtime states of containers from look to look
// and tells each exit once: a container that stopped, and one its restart
// policy restarted since the last look (a new finish time), as Compose
// prints each one.
type exitWatch struct {
	stopped   map[string]bool      // stopped at the start, not run since
	startedAt map[string]time.Time // their last start then
	seenExit  map[string]bool
	lastExit  map[string]time.Time
}

func newExitWatch() *exitWatch {
	return &exitWatch{stopped: map[string]bool{}, startedAt: map[string]time.Time{},
		seenExit: map[string]bool{}, lastExit: map[string]time.Time{}}
}

// atStart notes a container's state when the watch begins: one stopped
// then counts as running until it has run again (a new start time) and
// stopped, or runs now; its old exit is not told.
func (w *exitWatch) atStart(id string, st *state.RuntimeState) {
	if st.Status == state.StatusExited || st.Status == state.StatusDead {
		w.stopped[id] = true
		w.startedAt[id] = st.StartedAt
	}
}

// observe takes a container's state at one look and says whether it runs
// (or is about to: created, restarting, stopped at the start and not run
// again) and whether it exited since the last look.
func (w *exitWatch) observe(id string, st *state.RuntimeState) (running, exited bool) {
	switch st.Status {
	case state.StatusRunning, state.StatusPaused, state.StatusRestarting:
		w.seenExit[id] = false
		delete(w.stopped, id)
		prev, ok := w.lastExit[id]
		w.lastExit[id] = st.FinishedAt
		return true, ok && !st.FinishedAt.Equal(prev)
	case state.StatusExited, state.StatusDead:
		if w.stopped[id] && st.StartedAt.Equal(w.startedAt[id]) {
			return true, false // not started again yet
		}
		delete(w.stopped, id)
		if w.seenExit[id] {
			return false, false
		}
		w.seenExit[id] = true
		w.lastExit[id] = st.FinishedAt
		return false, true
	case state.StatusCreated:
		return true, false
	}
	return false, false
}
