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

	// pending counts, per node, the prerequisites that have not finished;
	// it is this walk's "done channel per node", kept by one coordinator
	// so that the start order is deterministic and the bound needs no
	// semaphore.
	pending := make(map[string]int, len(g.nodes))
	var ready []string
	for _, n := range g.nodes {
		pending[n] = len(before[n])
		if pending[n] == 0 {
			ready = append(ready, n)
		}
	}

	type result struct {
		node string
		err  error
	}
	// Buffered for every node, so a call that ends never blocks on sending.
	results := make(chan result, len(g.nodes))
	callerDone := ctx.Done()
	running := 0
	var failed error

	for {
		for failed == nil && running < limit && len(ready) > 0 {
			// Checked before every start: once the caller's cancel has
			// returned, no new call begins.
			if err := ctx.Err(); err != nil {
				failed = interrupted(err)
				cancel(failed)
				break
			}
			n := ready[0]
			ready = ready[1:]
			running++
			go func() {
				results <- result{node: n, err: fn(walkCtx, n)}
			}()
		}
		if running == 0 {
			return failed
		}
		select {
		case r := <-results:
			running--
			if r.err != nil {
				if failed == nil {
					failed = &NodeError{Node: r.node, Err: r.err}
					cancel(failed)
				}
				continue
			}
			for _, m := range after[r.node] {
				if pending[m]--; pending[m] == 0 {
					ready = insertSorted(ready, m)
				}
			}
		case <-callerDone:
			callerDone = nil // seen once; from now on only drain results
			if failed == nil {
				failed = interrupted(ctx.Err())
				cancel(failed)
			}
		}
	}
}

func interrupted(err error) error {
	return fmt.Errorf("dependency walk interrupted: %w", err)
}
