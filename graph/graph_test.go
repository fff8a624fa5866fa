package graph_test

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/berth-dev/berth/graph"
)

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name  string
		nodes []string
		deps  map[string][]string
		want  string
		check func(t *testing.T, err error)
	}{
		{
			name:  "unknown dependency",
			nodes: []string{"web"},
			deps:  map[string][]string{"web": {"db"}},
			want:  `service "web" depends on undefined service "db"`,
			check: func(t *testing.T, err error) {
				var ue *graph.UnknownDependencyError
				if !errors.As(err, &ue) || ue.Node != "web" || ue.Dependency != "db" {
					t.Errorf("error %#v is not UnknownDependencyError{web, db}", err)
				}
			},
		},
		{
			name:  "first unknown dependency in sorted order",
			nodes: []string{"web", "api"},
			deps:  map[string][]string{"web": {"zz", "db"}, "api": {"queue"}},
			want:  `service "api" depends on undefined service "queue"`,
		},
		{
			name:  "dependencies for an unknown node",
			nodes: []string{"web"},
			deps:  map[string][]string{"worker": {"web"}},
			want:  `dependencies given for undefined service "worker"`,
			check: func(t *testing.T, err error) {
				var ue *graph.UnknownNodeError
				if !errors.As(err, &ue) || ue.Node != "worker" {
					t.Errorf("error %#v is not UnknownNodeError{worker}", err)
				}
			},
		},
		{
			name:  "unknown dependency wins over a cycle",
			nodes: []string{"a", "b"},
			deps:  map[string][]string{"a": {"a"}, "b": {"x"}},
			want:  `service "b" depends on undefined service "x"`,
		},
		{
			name:  "self dependency",
			nodes: []string{"a"},
			deps:  map[string][]string{"a": {"a"}},
			want:  "dependency cycle: a -> a",
			check: wantPath("a", "a"),
		},
		{
			name:  "cycle of two",
			nodes: []string{"b", "a"},
			deps:  map[string][]string{"b": {"a"}, "a": {"b"}},
			want:  "dependency cycle: a -> b -> a",
			check: wantPath("a", "b", "a"),
		},
		{
			name:  "cycle of three starts at smallest node",
			nodes: []string{"c", "b", "a"},
			deps:  map[string][]string{"b": {"c"}, "c": {"a"}, "a": {"b"}},
			want:  "dependency cycle: a -> b -> c -> a",
			check: wantPath("a", "b", "c", "a"),
		},
		{
			name:  "cycle of three against name order",
			nodes: []string{"a", "b", "c"},
			deps:  map[string][]string{"a": {"c"}, "c": {"b"}, "b": {"a"}},
			want:  "dependency cycle: a -> c -> b -> a",
		},
		{
			name:  "cycle reachable only from a non-cycle node",
			nodes: []string{"app", "x", "y", "z"},
			deps:  map[string][]string{"app": {"x"}, "x": {"y"}, "y": {"x"}, "z": {"app"}},
			want:  "dependency cycle: x -> y -> x",
		},
		{
			name:  "shortest cycle through the smallest node, edges in sorted order",
			nodes: []string{"a", "b", "c", "d"},
			deps:  map[string][]string{"a": {"b", "c"}, "b": {"c"}, "c": {"a"}, "d": {"d"}},
			want:  "dependency cycle: a -> c -> a",
		},
		{
			name:  "tie between equally short cycles takes the smaller edge",
			nodes: []string{"a", "b", "c"},
			deps:  map[string][]string{"a": {"c", "b"}, "b": {"a"}, "c": {"a"}},
			want:  "dependency cycle: a -> b -> a",
		},
		{
			name:  "self dependency inside a larger cycle",
			nodes: []string{"a", "b"},
			deps:  map[string][]string{"a": {"b"}, "b": {"a", "b"}},
			want:  "dependency cycle: a -> b -> a",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := graph.New(tt.nodes, tt.deps)
			if err == nil {
				t.Fatalf("New succeeded with nodes %v", g.Nodes())
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func wantPath(path ...string) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var ce *graph.CycleError
		if !errors.As(err, &ce) {
			t.Fatalf("error %#v is not a CycleError", err)
		}
		if !slices.Equal(ce.Path, path) {
			t.Errorf("Path = %q, want %q", ce.Path, path)
		}
	}
}

func TestNewDoesNotMutateInput(t *testing.T) {
	nodes := []string{"web", "db", "web", "cache"}
	deps := map[string][]string{"web": {"db", "cache", "db"}}
	nodesCopy := slices.Clone(nodes)
	depsCopy := map[string][]string{"web": slices.Clone(deps["web"])}

	g := mustNew(t, nodes, deps)
	if !slices.Equal(nodes, nodesCopy) || !maps.EqualFunc(deps, depsCopy, slices.Equal) {
		t.Errorf("New changed its input: nodes %v, deps %v", nodes, deps)
	}
	if got, want := g.Nodes(), []string{"cache", "db", "web"}; !slices.Equal(got, want) {
		t.Errorf("Nodes() = %v, want %v", got, want)
	}
	if got, want := g.Dependencies("web"), []string{"cache", "db"}; !slices.Equal(got, want) {
		t.Errorf("Dependencies(web) = %v, want %v", got, want)
	}

	// Later changes to the input or to returned slices do not reach g.
	deps["web"][0] = "zzz"
	nodes[0] = "zzz"
	g.Nodes()[0] = "zzz"
	g.Dependencies("web")[0] = "zzz"
	g.Dependents("db")[0] = "zzz"
	if got, want := g.Nodes(), []string{"cache", "db", "web"}; !slices.Equal(got, want) {
		t.Errorf("after changes, Nodes() = %v, want %v", got, want)
	}
	if got, want := g.Dependencies("web"), []string{"cache", "db"}; !slices.Equal(got, want) {
		t.Errorf("after changes, Dependencies(web) = %v, want %v", got, want)
	}
	if got, want := g.Dependents("db"), []string{"web"}; !slices.Equal(got, want) {
		t.Errorf("after changes, Dependents(db) = %v, want %v", got, want)
	}
}

func TestQueries(t *testing.T) {
	g := mustNew(t, []string{"web", "api", "db", "cache", "worker"}, map[string][]string{
		"web":    {"api"},
		"api":    {"db", "cache"},
		"worker": {"db"},
	})
	tests := []struct {
		node             string
		deps, dependents []string
	}{
		{"web", []string{"api"}, nil},
		{"api", []string{"cache", "db"}, []string{"web"}},
		{"db", nil, []string{"api", "worker"}},
		{"cache", nil, []string{"api"}},
		{"worker", []string{"db"}, nil},
		{"nope", nil, nil},
	}
	for _, tt := range tests {
		if got := g.Dependencies(tt.node); !slices.Equal(got, tt.deps) {
			t.Errorf("Dependencies(%q) = %v, want %v", tt.node, got, tt.deps)
		}
		if got := g.Dependents(tt.node); !slices.Equal(got, tt.dependents) {
			t.Errorf("Dependents(%q) = %v, want %v", tt.node, got, tt.dependents)
		}
		if got, want := g.Has(tt.node), tt.node != "nope"; got != want {
			t.Errorf("Has(%q) = %v, want %v", tt.node, got, want)
		}
	}
}

func TestOrder(t *testing.T) {
	tests := []struct {
		name          string
		nodes         []string
		deps          map[string][]string
		forward, back []string
	}{
		{name: "empty"},
		{
			name:    "independent nodes by name",
			nodes:   []string{"c", "a", "b"},
			forward: []string{"a", "b", "c"},
			back:    []string{"a", "b", "c"},
		},
		{
			name:    "chain",
			nodes:   []string{"a", "b", "c"},
			deps:    map[string][]string{"a": {"b"}, "b": {"c"}},
			forward: []string{"c", "b", "a"},
			back:    []string{"a", "b", "c"},
		},
		{
			name:  "diamond and a loner",
			nodes: []string{"web", "api", "db", "cache", "z", "adminer"},
			deps: map[string][]string{
				"web": {"api", "cache"}, "api": {"db"}, "cache": {"db"}, "adminer": {"db"},
			},
			forward: []string{"db", "adminer", "api", "cache", "web", "z"},
			back:    []string{"adminer", "web", "api", "cache", "db", "z"},
		},
		{
			// Ties are broken among ready nodes, not globally: b becomes
			// ready only after d.
			name:    "ready set, not name order",
			nodes:   []string{"a", "b", "c", "d"},
			deps:    map[string][]string{"b": {"d"}},
			forward: []string{"a", "c", "d", "b"},
			back:    []string{"a", "b", "c", "d"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustNew(t, tt.nodes, tt.deps)
			if got := g.Order(graph.Forward); !slices.Equal(got, tt.forward) {
				t.Errorf("Order(Forward) = %v, want %v", got, tt.forward)
			}
			if got := g.Order(graph.Reverse); !slices.Equal(got, tt.back) {
				t.Errorf("Order(Reverse) = %v, want %v", got, tt.back)
			}
		})
	}
}

func TestOrderRandomDAGs(t *testing.T) {
	for seed := range uint64(300) {
		d := randomDAG(seed, 40)
		g := mustNew(t, d.nodes, d.deps)
		for _, dir := range []graph.Direction{graph.Forward, graph.Reverse} {
			order := g.Order(dir)
			if got := slices.Sorted(slices.Values(order)); !slices.Equal(got, g.Nodes()) {
				t.Fatalf("seed %d %v: Order is not a permutation of the nodes: %v", seed, dir, order)
			}
			pos := make(map[string]int, len(order))
			for i, n := range order {
				pos[n] = i
			}
			for n, ds := range d.deps {
				for _, dep := range ds {
					if dir == graph.Forward && pos[dep] > pos[n] || dir == graph.Reverse && pos[n] > pos[dep] {
						t.Fatalf("seed %d %v: edge %s -> %s out of order in %v", seed, dir, n, dep, order)
					}
				}
			}
		}
	}
}

func TestSubgraph(t *testing.T) {
	g := mustNew(t, []string{"web", "api", "db", "cache", "worker", "adminer"}, map[string][]string{
		"web":     {"api", "cache"},
		"api":     {"db"},
		"worker":  {"db", "cache"},
		"adminer": {"db"},
	})
	tests := []struct {
		name  string
		roots []string
		dir   graph.Direction
		nodes []string
		deps  map[string][]string // of the subgraph, nodes without deps left out
	}{
		{
			name:  "forward from web takes what it needs",
			roots: []string{"web"},
			dir:   graph.Forward,
			nodes: []string{"api", "cache", "db", "web"},
			deps:  map[string][]string{"web": {"api", "cache"}, "api": {"db"}},
		},
		{
			name:  "forward from two roots",
			roots: []string{"api", "worker"},
			dir:   graph.Forward,
			nodes: []string{"api", "cache", "db", "worker"},
			deps:  map[string][]string{"api": {"db"}, "worker": {"cache", "db"}},
		},
		{
			name:  "forward from a leaf is the leaf",
			roots: []string{"db"},
			dir:   graph.Forward,
			nodes: []string{"db"},
		},
		{
			name:  "reverse from db takes every dependent",
			roots: []string{"db"},
			dir:   graph.Reverse,
			nodes: []string{"adminer", "api", "db", "web", "worker"},
			deps: map[string][]string{
				// web's edge to cache is dropped: cache is not in.
				"web": {"api"}, "api": {"db"}, "worker": {"db"}, "adminer": {"db"},
			},
		},
		{
			name:  "reverse from cache",
			roots: []string{"cache"},
			dir:   graph.Reverse,
			nodes: []string{"cache", "web", "worker"},
			deps:  map[string][]string{"web": {"cache"}, "worker": {"cache"}},
		},
		{
			name:  "reverse from a top node is the node",
			roots: []string{"web"},
			dir:   graph.Reverse,
			nodes: []string{"web"},
		},
		{
			name:  "unknown and repeated roots",
			roots: []string{"nope", "db", "db"},
			dir:   graph.Forward,
			nodes: []string{"db"},
		},
		{
			name: "no roots",
			dir:  graph.Reverse,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := g.Subgraph(tt.roots, tt.dir)
			if got := sub.Nodes(); !slices.Equal(got, tt.nodes) {
				t.Errorf("Nodes() = %v, want %v", got, tt.nodes)
			}
			for _, n := range sub.Nodes() {
				if got, want := sub.Dependencies(n), tt.deps[n]; !slices.Equal(got, want) {
					t.Errorf("Dependencies(%q) = %v, want %v", n, got, want)
				}
				for _, d := range sub.Dependencies(n) {
					if !slices.Contains(sub.Dependents(d), n) {
						t.Errorf("Dependents(%q) = %v, misses %q", d, sub.Dependents(d), n)
					}
				}
			}
		})
	}
	if got := g.Nodes(); len(got) != 6 {
		t.Errorf("Subgraph changed the graph: Nodes() = %v", got)
	}
}

func TestInvalidDirectionPanics(t *testing.T) {
	g := mustNew(t, []string{"a"}, nil)
	defer func() {
		if recover() == nil {
			t.Error("Order(Direction(7)) did not panic")
		}
	}()
	g.Order(graph.Direction(7))
}

func mustNew(t testing.TB, nodes []string, deps map[string][]string) *graph.Graph {
	t.Helper()
	g, err := graph.New(nodes, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}
