// Package graph is berth's dependency graph: a generic directed acyclic graph
// of named nodes, built once, never mutated, and walked in parallel in
// dependency order.
//
// It knows nothing about Compose. The caller (package project or engine)
// turns services into node names and depends_on entries into edges:
// deps["web"] = []string{"db"} means web depends on db. [New] refuses a
// dependency on a node that does not exist ([UnknownDependencyError]) and any
// cycle ([CycleError], whose message names the cycle, e.g.
// "dependency cycle: a -> b -> a").
//
// [Graph.Walk] is the one walker that serves both `up` and `down`:
//
//   - [Forward]: a node runs only after all of its dependencies finished
//     successfully (start db before web).
//   - [Reverse]: a node runs only after all of its dependents finished
//     (stop web before db).
//
// Independent nodes run in parallel, at most limit at once. The walk is
// scheduled by a single coordinator that tracks, per node, how many of its
// prerequisites are still unfinished; among the nodes that are ready it
// always starts the lexically smallest first, so a walk with limit 1 visits
// the nodes exactly in [Graph.Order]. The first error stops the scheduling of
// new nodes, cancels the context of the running ones, waits for them and is
// returned as a [NodeError] naming the node. Cancelling the caller's context
// stops scheduling at once; Walk then waits for the running calls and returns
// an error wrapping ctx.Err().
//
// [Graph.Subgraph] narrows a graph to what a command touches: with Forward,
// the named roots and everything they depend on (`up web`); with Reverse, the
// roots and everything that depends on them (`stop db`).
//
// Example:
//
//	g, err := graph.New([]string{"web", "db", "cache"}, map[string][]string{
//		"web": {"db", "cache"},
//	})
//	if err != nil {
//		return err // e.g. service "web" depends on undefined service "db"
//	}
//	err = g.Walk(ctx, graph.Forward, 4, func(ctx context.Context, name string) error {
//		return start(ctx, name) // db and cache in parallel, then web
//	})
//
// The package imports the standard library only (a test enforces it) and
// does no I/O.
package graph
