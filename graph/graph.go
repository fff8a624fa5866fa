package graph

import (
	"fmt"
	"slices"
)

// Direction says which way a graph is traversed.
type Direction int

const (
	// Forward puts dependencies before the nodes that depend on them
	// (the order of `up`).
	Forward Direction = iota
	// Reverse puts dependents before the nodes they depend on
	// (the order of `down` and `stop`).
	Reverse
)

func (d Direction) String() string {
	switch d {
	case Forward:
		return "forward"
	case Reverse:
		return "reverse"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Graph is an immutable directed acyclic graph of named nodes. Its methods
// are safe for concurrent use.
type Graph struct {
	nodes      []string            // sorted, unique
	deps       map[string][]string // node -> what it depends on, sorted
	dependents map[string][]string // node -> what depends on it, sorted
}

// New builds a graph of nodes where deps[n] lists the nodes n depends on.
// Duplicate names are merged. It returns an *UnknownNodeError if deps has a
// key that is not a node, an *UnknownDependencyError if a node depends on a
// name that is not a node, and a *CycleError if the dependencies form a
// cycle. New keeps no reference to its arguments.
func New(nodes []string, deps map[string][]string) (*Graph, error) {
	g := &Graph{
		nodes:      slices.Compact(slices.Sorted(slices.Values(nodes))),
		deps:       make(map[string][]string, len(nodes)),
		dependents: make(map[string][]string, len(nodes)),
	}
	known := make(map[string]bool, len(g.nodes))
	for _, n := range g.nodes {
		known[n] = true
	}
	for _, k := range sortedKeys(deps) {
		if !known[k] {
			return nil, &UnknownNodeError{Node: k}
		}
	}
	for _, n := range g.nodes {
		ds := slices.Compact(slices.Sorted(slices.Values(deps[n])))
		for _, d := range ds {
			if !known[d] {
				return nil, &UnknownDependencyError{Node: n, Dependency: d}
			}
		}
		if len(ds) > 0 {
			g.deps[n] = ds
		}
		// n grows in sorted order, so each dependents list stays sorted.
		for _, d := range ds {
			g.dependents[d] = append(g.dependents[d], n)
		}
	}
	if order := g.order(Forward); len(order) < len(g.nodes) {
		return nil, &CycleError{Path: g.findCycle(order)}
	}
	return g, nil
}

// Nodes returns the names of all nodes, sorted.
func (g *Graph) Nodes() []string { return slices.Clone(g.nodes) }

// Has reports whether n is a node of the graph.
func (g *Graph) Has(n string) bool {
	_, ok := slices.BinarySearch(g.nodes, n)
	return ok
}

// Dependencies returns the nodes n directly depends on, sorted.
func (g *Graph) Dependencies(n string) []string { return slices.Clone(g.deps[n]) }

// Dependents returns the nodes that directly depend on n, sorted.
func (g *Graph) Dependents(n string) []string { return slices.Clone(g.dependents[n]) }

// Order returns all nodes in a topological order: with Forward every node
// comes after its dependencies, with Reverse after its dependents. Among
// nodes whose turn has come, the lexically smallest goes first, so the
// order is deterministic. It panics on an invalid Direction.
func (g *Graph) Order(dir Direction) []string { return g.order(dir) }

// Subgraph returns the graph made of roots and, with Forward, every node
// they transitively depend on, or, with Reverse, every node that
// transitively depends on them. It keeps the edges between the nodes it
// holds. Roots that are not nodes of g are ignored. It panics on an invalid
// Direction.
func (g *Graph) Subgraph(roots []string, dir Direction) *Graph {
	before, _ := g.edges(dir)
	keep := make(map[string]bool)
	var queue []string
	for _, r := range roots {
		if g.Has(r) && !keep[r] {
			keep[r] = true
			queue = append(queue, r)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range before[n] {
			if !keep[m] {
				keep[m] = true
				queue = append(queue, m)
			}
		}
	}
	sub := &Graph{
		deps:       make(map[string][]string, len(keep)),
		dependents: make(map[string][]string, len(keep)),
	}
	for _, n := range g.nodes {
		if !keep[n] {
			continue
		}
		sub.nodes = append(sub.nodes, n)
		for _, d := range g.deps[n] {
			if keep[d] {
				sub.deps[n] = append(sub.deps[n], d)
				sub.dependents[d] = append(sub.dependents[d], n)
			}
		}
	}
	return sub
}

// edges returns, for dir, the nodes that must finish before a node and the
// nodes that wait for it.
func (g *Graph) edges(dir Direction) (before, after map[string][]string) {
	switch dir {
	case Forward:
		return g.deps, g.dependents
	case Reverse:
		return g.dependents, g.deps
	}
	panic(fmt.Sprintf("graph: invalid %v", dir))
}

// order is Kahn's algorithm with the ready set kept sorted. On a graph with
// a cycle it returns only the nodes outside and not behind the cycle.
func (g *Graph) order(dir Direction) []string {
	before, after := g.edges(dir)
	pending := make(map[string]int, len(g.nodes))
	var ready []string
	for _, n := range g.nodes {
		pending[n] = len(before[n])
		if pending[n] == 0 {
			ready = append(ready, n)
		}
	}
	out := make([]string, 0, len(g.nodes))
	for len(ready) > 0 {
		n := ready[0]
		ready = ready[1:]
		out = append(out, n)
		for _, m := range after[n] {
			if pending[m]--; pending[m] == 0 {
				ready = insertSorted(ready, m)
			}
		}
	}
	return out
}

// findCycle returns a cycle of a graph whose forward order stopped short at
// sorted. The cycle goes through the lexically smallest node that lies on
// any cycle and is the shortest one through it, edges taken in sorted order.
func (g *Graph) findCycle(sorted []string) []string {
	done := make(map[string]bool, len(sorted))
	for _, n := range sorted {
		done[n] = true // nodes Kahn could order lie on no cycle
	}
	for _, s := range g.nodes {
		if done[s] {
			continue
		}
		if path := g.shortestCycle(s, done); path != nil {
			return path
		}
	}
	panic("graph: no cycle found in a graph that has one")
}

// shortestCycle searches breadth-first from s for a path back to s,
// skipping nodes in skip, and returns it as s, ..., s or nil.
func (g *Graph) shortestCycle(s string, skip map[string]bool) []string {
	parent := map[string]string{s: s}
	queue := []string{s}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range g.deps[u] {
			if v == s {
				path := []string{s}
				for n := u; n != s; n = parent[n] {
					path = append(path, n)
				}
				path = append(path, s)
				slices.Reverse(path[1 : len(path)-1])
				return path
			}
			if _, seen := parent[v]; !seen && !skip[v] {
				parent[v] = u
				queue = append(queue, v)
			}
		}
	}
	return nil
}

func insertSorted(s []string, v string) []string {
	i, _ := slices.BinarySearch(s, v)
	return slices.Insert(s, i, v)
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
