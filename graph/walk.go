package graph

import (
	"context"
	"fmt"
)

// Walk calls fn once for every node of g, in dependency order: with Forward
// a node's fn runs only after the fn of each of its dependencies returned
// nil; with Reverse only after the fn of each of its dependents did. Nodes
// that do not wait for each other run in parallel, at most limit at once
// (limit <= 0: no bound). Among ready nodes the lexically smallest starts
// first, so with limit 1 the calls follow [Graph.Order].
//
// On the first error Walk starts no more nodes, cancels the context given to
// the running calls (its cause is the returned error), waits for them and
// returns a *NodeError naming the node. When ctx is cancelled, Walk starts
// no more nodes, waits for the running calls (whose context is derived from
// ctx) and returns an error wrapping ctx.Err(), unless a node failed first.
// Walk returns only when no call of fn is running. It panics on an invalid
// Direction.
func (g *Graph) Walk(ctx context.Context, dir Direction, limit int, fn func(ctx context.Context, node string) error) error {
	before, after := g.edges(dir)
	if len(g.nodes) == 0 {
		return nil
	}
	if limit <= 0 || limit > len(g.nodes) {
		limit = len(g.nodes)
	}
	if err := ctx.Err(); err != nil {
		return interrupted(err)
	}

	walkCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := &walk{ctx: ctx, walkCtx: walkCtx, cancel: cancel, fn: fn, after: after, limit: limit,
		// Buffered for every node, so a call that ends never blocks on sending.
		results: make(chan walkResult, len(g.nodes))}
	w.pending, w.ready = readyNodes(g.nodes, before)

	callerDone := ctx.Done()
	for {
		w.startReady()
		if w.running == 0 {
			return w.failed
		}
		select {
		case r := <-w.results:
			w.finished(r)
		case <-callerDone:
			callerDone = nil // seen once; from now on only drain results
			w.fail(interrupted(ctx.Err()))
		}
	}
}

// walk is the state of one Walk, kept by its coordinator alone.
type walk struct {
	ctx     context.Context // the caller's
	walkCtx context.Context // given to fn; cancelled on the first error
	cancel  context.CancelCauseFunc
	fn      func(ctx context.Context, node string) error
	after   map[string][]string // node → the nodes that wait for it
	limit   int

	// pending counts, per node, the prerequisites that have not finished;
	// it is this walk's "done channel per node", kept by one coordinator
	// so that the start order is deterministic and the bound needs no
	// semaphore.
	pending map[string]int
	ready   []string // nodes that may start, sorted
	results chan walkResult
	running int
	failed  error // the walk's error; once set, no node starts
}

// walkResult is what one call of fn returned.
type walkResult struct {
	node string
	err  error
}

// readyNodes counts each node's prerequisites (before) and lists, in
// the order of nodes, those that have none.
func readyNodes(nodes []string, before map[string][]string) (pending map[string]int, ready []string) {
	pending = make(map[string]int, len(nodes))
	for _, n := range nodes {
		pending[n] = len(before[n])
		if pending[n] == 0 {
			ready = append(ready, n)
		}
	}
	return pending, ready
}

// startReady starts ready nodes, smallest first, while the bound allows
// and nothing failed.
func (w *walk) startReady() {
	for w.failed == nil && w.running < w.limit && len(w.ready) > 0 {
		// Checked before every start: once the caller's cancel has
		// returned, no new call begins.
		if err := w.ctx.Err(); err != nil {
			w.fail(interrupted(err))
			break
		}
		n := w.ready[0]
		w.ready = w.ready[1:]
		w.running++
		go func() {
			w.results <- walkResult{node: n, err: w.fn(w.walkCtx, n)}
		}()
	}
}

// finished records the end of a call: its error fails the walk, its
// success makes ready the nodes that were waiting for it alone.
func (w *walk) finished(r walkResult) {
	w.running--
	if r.err != nil {
		w.fail(&NodeError{Node: r.node, Err: r.err})
		return
	}
	for _, m := range w.after[r.node] {
		if w.pending[m]--; w.pending[m] == 0 {
			w.ready = insertSorted(w.ready, m)
		}
	}
}

// fail makes err the walk's error, unless it failed already, and cancels
// the running calls with it as the cause.
func (w *walk) fail(err error) {
	if w.failed == nil {
		w.failed = err
		w.cancel(err)
	}
}

func interrupted(err error) error {
	return fmt.Errorf("dependency walk interrupted: %w", err)
}
