package watch

import (
	"context"
	"time"
)

// Batching: a lone save is synced after a short quiet period, so an edit
// is visible in the container within tens of milliseconds; once a burst
// shows (several paths at once: a git checkout, a formatter, a build
// writing files), the batch waits for a longer quiet period so the burst
// becomes one batch, but never longer than the ceiling after its first
// event, so a writer that never stops still gets synced.
type BatchOptions struct {
	Quiet      time.Duration // quiet period of a batch of few paths
	BurstQuiet time.Duration // quiet period once the batch holds BurstSize paths
	BurstSize  int
	Ceiling    time.Duration // a batch is flushed at most this long after its first event
}

// DefaultBatch are berth's batching figures (Compose: one 500 ms quiet
// period, no ceiling).
var DefaultBatch = BatchOptions{Quiet: 15 * time.Millisecond, BurstQuiet: 150 * time.Millisecond, BurstSize: 3, Ceiling: 3 * time.Second}

// Batch groups the paths read from in into batches of distinct paths,
// in the order they first changed. The returned channel is closed when
// in is closed (after a last flush) or ctx ends.
func Batch(ctx context.Context, in <-chan string, o BatchOptions) <-chan []string {
	out := make(chan []string)
	go func() {
		defer close(out)
		var (
			batch []string
			seen  = map[string]bool{}
			first time.Time
			timer = time.NewTimer(time.Hour)
			ready bool // the quiet period has passed: hand the batch out
		)
		timer.Stop()
		for {
			// while the consumer is busy with the last batch, changes keep
			// adding to this one
			var send chan<- []string
			if ready {
				send = out
			}
			select {
			case <-ctx.Done():
				return
			case send <- batch:
				batch, seen, ready = nil, map[string]bool{}, false
			case p, ok := <-in:
				if !ok {
					if len(batch) > 0 {
						select {
						case out <- batch:
						case <-ctx.Done():
						}
					}
					return
				}
				if len(batch) == 0 {
					first = time.Now()
				}
				if !seen[p] {
					seen[p] = true
					batch = append(batch, p)
				}
				if ready {
					continue
				}
				wait := o.Quiet
				if len(batch) >= o.BurstSize {
					wait = o.BurstQuiet
				}
				if left := o.Ceiling - time.Since(first); left < wait {
					wait = max(left, 0)
				}
				timer.Reset(wait)
			case <-timer.C:
				ready = len(batch) > 0
			}
		}
	}()
	return out
}
