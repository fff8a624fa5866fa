package graph_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/berth-dev/berth/graph"
)

// patience bounds every wait in these tests. It is generous on purpose:
// these tests check behaviour, not speed.
const patience = 10 * time.Second

var directions = []graph.Direction{graph.Forward, graph.Reverse}

// dag is a random acyclic graph: node i may depend only on nodes made
// before it, and names are shuffled so that name order and dependency
// order are unrelated.
type dag struct {
	nodes []string
	deps  map[string][]string
}

func randomDAG(seed uint64, maxNodes int) dag {
	rng := rand.New(rand.NewPCG(seed, 0xbe27))
	n := 1 + rng.IntN(maxNodes)
	names := make([]string, n)
	for i, p := range rng.Perm(n) {
		names[i] = fmt.Sprintf("n%02d", p)
	}
	density := rng.Float64() * 0.3
	d := dag{nodes: names, deps: make(map[string][]string)}
	for i := range n {
		for j := range i {
			if rng.Float64() < density {
				d.deps[names[i]] = append(d.deps[names[i]], names[j])
			}
		}
	}
	return d
}

// edges calls f for every edge "from depends on to".
func (d dag) edges(f func(from, to string)) {
	for from, tos := range d.deps {
		for _, to := range tos {
			f(from, to)
		}
	}
}

// recorder logs the calls of a walk on a logical clock.
type recorder struct {
	mu           sync.Mutex
	clock        int
	start, end   map[string]int
	starts       []string
	twice        []string
	running, max int
}

func newRecorder() *recorder {
	return &recorder{start: map[string]int{}, end: map[string]int{}}
}

func (r *recorder) begin(n string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clock++
	if _, ok := r.start[n]; ok {
		r.twice = append(r.twice, n)
	}
	r.start[n] = r.clock
	r.starts = append(r.starts, n)
	r.running++
	r.max = max(r.max, r.running)
}

func (r *recorder) finish(n string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.clock++
	r.end[n] = r.clock
	r.running--
}

func (r *recorder) started() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.starts)
}

// wait stands for a node's work: a short, varying pause that lets other
// nodes overlap with it.
func wait(n string) {
	if n[len(n)-1]%3 != 0 {
		time.Sleep(time.Duration(n[len(n)-1]%3) * 50 * time.Microsecond)
	} else {
		runtime.Gosched()
	}
}

func TestWalkEmptyGraph(t *testing.T) {
	g := mustNew(t, nil, nil)
	called := false
	err := g.Walk(t.Context(), graph.Forward, 0, func(context.Context, string) error {
		called = true
		return nil
	})
	if err != nil || called {
		t.Errorf("Walk of an empty graph = %v, fn called %v; want nil, false", err, called)
	}
}

// TestWalkRandomDAGs is the walker's main property test: over hundreds of
// random graphs, directions and limits, every node runs once, after every
// node it waits for, and never more than limit at once. Together the two
// directions check that Reverse mirrors Forward: for every edge a -> b,
// Forward finishes b before a starts and Reverse finishes a before b starts.
func TestWalkRandomDAGs(t *testing.T) {
	for seed := range uint64(300) {
		d := randomDAG(seed, 40)
		g := mustNew(t, d.nodes, d.deps)
		limit := []int{0, 1, 2, 3, 7, -1}[seed%6]
		for _, dir := range directions {
			rec := newRecorder()
			err := g.Walk(t.Context(), dir, limit, func(ctx context.Context, n string) error {
				rec.begin(n)
				defer rec.finish(n)
				wait(n)
				return nil
			})
			where := fmt.Sprintf("seed %d, %v, limit %d", seed, dir, limit)
			if err != nil {
				t.Fatalf("%s: Walk: %v", where, err)
			}
			if len(rec.twice) > 0 {
				t.Errorf("%s: nodes ran twice: %v", where, rec.twice)
			}
			if got := slices.Sorted(slices.Values(rec.starts)); !slices.Equal(got, g.Nodes()) {
				t.Errorf("%s: ran %v, want every node of %v", where, got, g.Nodes())
			}
			d.edges(func(a, b string) {
				first, then := b, a // Forward: a depends on b, so b first
				if dir == graph.Reverse {
					first, then = a, b
				}
				if rec.end[first] >= rec.start[then] {
					t.Errorf("%s: edge %s -> %s: %s started (t=%d) before %s finished (t=%d)",
						where, a, b, then, rec.start[then], first, rec.end[first])
				}
			})
			if limit > 0 && rec.max > limit {
				t.Errorf("%s: %d calls ran at once", where, rec.max)
			}
			if rec.running != 0 {
				t.Errorf("%s: Walk returned with %d calls running", where, rec.running)
			}
		}
	}
}

func TestWalkLimitOneFollowsOrder(t *testing.T) {
	for seed := range uint64(200) {
		d := randomDAG(seed, 40)
		g := mustNew(t, d.nodes, d.deps)
		for _, dir := range directions {
			rec := newRecorder()
			err := g.Walk(t.Context(), dir, 1, func(ctx context.Context, n string) error {
				rec.begin(n)
				defer rec.finish(n)
				return nil
			})
			if err != nil {
				t.Fatalf("seed %d, %v: Walk: %v", seed, dir, err)
			}
			if want := g.Order(dir); !slices.Equal(rec.starts, want) {
				t.Errorf("seed %d, %v: ran %v, want Order %v", seed, dir, rec.starts, want)
			}
		}
	}
}

// TestWalkUsesTheLimit checks the other side of the bound: on a wide graph
// the walk does run limit calls at once, and with no limit all of them.
// The first calls hold until enough of them run; a walker that ran fewer
// at once would keep them waiting until patience ran out.
func TestWalkUsesTheLimit(t *testing.T) {
	const width = 12
	nodes := make([]string, width)
	for i := range nodes {
		nodes[i] = fmt.Sprintf("w%02d", i)
	}
	g := mustNew(t, nodes, nil)
	for _, limit := range []int{1, 2, 3, 5, width, 0, -3, 100} {
		want := limit
		if limit <= 0 || limit > width {
			want = width
		}
		rec := newRecorder()
		enough := make(chan struct{})
		var once sync.Once
		err := g.Walk(t.Context(), graph.Forward, limit, func(ctx context.Context, n string) error {
			rec.begin(n)
			defer rec.finish(n)
			if len(rec.started()) >= want {
				once.Do(func() { close(enough) })
			}
			select {
			case <-enough:
				return nil
			case <-time.After(patience):
				return errors.New("never ran with enough others")
			}
		})
		if err != nil {
			t.Errorf("limit %d: Walk: %v", limit, err)
		}
		if rec.max != want {
			t.Errorf("limit %d: at most %d calls ran at once, want %d", limit, rec.max, want)
		}
	}
}

// waiters returns the nodes that transitively wait for n in dir.
func waiters(g *graph.Graph, n string, dir graph.Direction) []string {
	back := graph.Reverse
	if dir == graph.Reverse {
		back = graph.Forward
	}
	sub := g.Subgraph([]string{n}, back).Nodes()
	return slices.DeleteFunc(sub, func(m string) bool { return m == n })
}

func TestWalkFirstErrorStops(t *testing.T) {
	errBoom := errors.New("boom")
	for seed := range uint64(300) {
		d := randomDAG(seed, 40)
		g := mustNew(t, d.nodes, d.deps)
		rng := rand.New(rand.NewPCG(seed, 1))
		failing := d.nodes[rng.IntN(len(d.nodes))]
		limit := []int{0, 1, 2, 4}[seed%4]
		for _, dir := range directions {
			where := fmt.Sprintf("seed %d, %v, limit %d, failing %s", seed, dir, limit, failing)
			rec := newRecorder()
			err := g.Walk(t.Context(), dir, limit, func(ctx context.Context, n string) error {
				rec.begin(n)
				defer rec.finish(n)
				wait(n)
				if n == failing {
					return fmt.Errorf("start: %w", errBoom)
				}
				return nil
			})
			var ne *graph.NodeError
			if !errors.As(err, &ne) || ne.Node != failing || !errors.Is(err, errBoom) {
				t.Fatalf("%s: Walk = %v, want a NodeError for %s wrapping boom", where, err, failing)
			}
			if want := fmt.Sprintf("service %q: start: boom", failing); err.Error() != want {
				t.Errorf("%s: error %q, want %q", where, err, want)
			}
			for _, w := range waiters(g, failing, dir) {
				if _, ran := rec.start[w]; ran {
					t.Errorf("%s: %s ran although it waits for the failed node", where, w)
				}
			}
			if limit == 1 {
				// One at a time, nothing may start after the failure.
				order := g.Order(dir)
				want := order[:slices.Index(order, failing)+1]
				if !slices.Equal(rec.starts, want) {
					t.Errorf("%s: ran %v, want %v", where, rec.starts, want)
				}
			}
			if rec.running != 0 {
				t.Errorf("%s: Walk returned with %d calls running", where, rec.running)
			}
		}
	}
}

func TestWalkErrorCancelsRunningCalls(t *testing.T) {
	// In a synctest bubble: the sleep below is fake, and a Walk that did
	// not wait for it would return first every time.
	synctest.Test(t, func(t *testing.T) {
		g := mustNew(t, []string{"db", "cache", "web"}, map[string][]string{"web": {"db", "cache"}})
		errBoom := errors.New("boom")
		cacheRunning := make(chan struct{})
		var cacheCause error
		cacheDone := false
		err := g.Walk(t.Context(), graph.Forward, 0, func(ctx context.Context, n string) error {
			switch n {
			case "cache":
				close(cacheRunning)
				select {
				case <-ctx.Done():
					cacheCause = context.Cause(ctx)
				case <-time.After(patience):
				}
				time.Sleep(10 * time.Millisecond) // Walk must wait for this
				cacheDone = true
				return ctx.Err()
			case "db":
				<-cacheRunning
				return errBoom
			}
			t.Errorf("%s ran after its dependencies failed", n)
			return nil
		})
		if got, want := fmt.Sprint(err), `service "db": boom`; got != want {
			t.Errorf("Walk = %q, want %q", got, want)
		}
		if !cacheDone {
			t.Error("Walk returned before the running call for cache did")
		}
		var ne *graph.NodeError
		if !errors.As(cacheCause, &ne) || ne.Node != "db" {
			t.Errorf("cause of cache's cancel = %v, want the NodeError of db", cacheCause)
		}
	})
}

// TestWalkCancel cancels the caller's context while calls block on it. Walk
// must return promptly, wrap ctx.Err() and start nothing more, even when
// the blocked calls then return nil and so make other nodes ready.
func TestWalkCancel(t *testing.T) {
	// Five roots, each with a dependent, and one node behind them all.
	nodes := []string{"z"}
	deps := map[string][]string{}
	for i := range 5 {
		root, dep := fmt.Sprintf("r%d", i), fmt.Sprintf("s%d", i)
		nodes = append(nodes, root, dep)
		deps[dep] = []string{root}
		deps["z"] = append(deps["z"], dep)
	}
	g := mustNew(t, nodes, deps)

	for _, limit := range []int{0, 3} {
		for _, returnErr := range []bool{false, true} {
			name := fmt.Sprintf("limit %d, calls return ctx.Err() %v", limit, returnErr)
			t.Run(name, func(t *testing.T) {
				running := 5
				if limit > 0 {
					running = limit
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				rec := newRecorder()
				allRunning := make(chan struct{})
				var once sync.Once
				done := make(chan error, 1)
				go func() {
					done <- g.Walk(ctx, graph.Forward, limit, func(ctx context.Context, n string) error {
						rec.begin(n)
						defer rec.finish(n)
						if len(rec.started()) == running {
							once.Do(func() { close(allRunning) })
						}
						select {
						case <-ctx.Done():
						case <-time.After(patience):
						}
						if returnErr {
							return ctx.Err()
						}
						return nil
					})
				}()
				select {
				case <-allRunning:
				case <-time.After(patience):
					t.Fatalf("only %v started", rec.started())
				}
				before := rec.started()
				cancel()
				select {
				case err := <-done:
					if !errors.Is(err, context.Canceled) {
						t.Errorf("Walk = %v, want an error wrapping context.Canceled", err)
					}
				case <-time.After(patience / 2):
					t.Fatal("Walk did not return after cancel")
				}
				if after := rec.started(); !slices.Equal(after, before) {
					t.Errorf("started after cancel: %v (before: %v)", after[len(before):], before)
				}
				if rec.running != 0 {
					t.Errorf("Walk returned with %d calls running", rec.running)
				}
			})
		}
	}
}

// TestWalkCancelAsNodeFinishes cancels from inside a call that then returns
// nil (a Ctrl-C arriving as a container comes up). The node's dependent
// must not start: its start would come after cancel returned.
func TestWalkCancelAsNodeFinishes(t *testing.T) {
	g := mustNew(t, []string{"db", "web"}, map[string][]string{"web": {"db"}})
	for i := range 200 {
		ctx, cancel := context.WithCancel(t.Context())
		err := g.Walk(ctx, graph.Forward, 0, func(ctx context.Context, n string) error {
			if n == "web" {
				t.Errorf("round %d: web started after cancel returned", i)
			}
			cancel()
			return nil
		})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: Walk = %v, want an error wrapping context.Canceled", i, err)
		}
	}
}

func TestWalkCanceledBeforeStart(t *testing.T) {
	g := mustNew(t, []string{"a", "b"}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := g.Walk(ctx, graph.Reverse, 0, func(context.Context, string) error {
		t.Error("fn called with a canceled context")
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Walk = %v, want an error wrapping context.Canceled", err)
	}
}

func TestWalkNoGoroutineLeak(t *testing.T) {
	baseline := runtime.NumGoroutine()
	errBoom := errors.New("boom")
	for seed := range uint64(50) {
		d := randomDAG(seed, 40)
		g := mustNew(t, d.nodes, d.deps)
		ctx, cancel := context.WithCancel(t.Context())
		failing := d.nodes[0]
		_ = g.Walk(ctx, directions[seed%2], int(seed%4), func(ctx context.Context, n string) error {
			switch {
			case seed%3 == 1 && n == failing:
				return errBoom
			case seed%3 == 2 && n == failing:
				cancel()
				<-ctx.Done()
			}
			runtime.Gosched()
			return nil
		})
		cancel()
	}
	// Calls send their result and then end; give them a moment to be gone.
	deadline := time.Now().Add(patience)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, baseline %d:\n%s",
				runtime.NumGoroutine(), baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWalkInvalidDirectionPanics(t *testing.T) {
	g := mustNew(t, []string{"a"}, nil)
	defer func() {
		if recover() == nil {
			t.Error("Walk with Direction(-1) did not panic")
		}
	}()
	_ = g.Walk(t.Context(), graph.Direction(-1), 0, func(context.Context, string) error { return nil })
}

func BenchmarkWalk(b *testing.B) {
	d := dag{deps: map[string][]string{}}
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 500 {
		n := fmt.Sprintf("n%03d", i)
		d.nodes = append(d.nodes, n)
		for j := range i {
			if rng.IntN(100) < 2 {
				d.deps[n] = append(d.deps[n], fmt.Sprintf("n%03d", j))
			}
		}
	}
	g := mustNew(b, d.nodes, d.deps)
	for _, limit := range []int{1, 8, 0} {
		b.Run(fmt.Sprintf("nodes=500/limit=%d", limit), func(b *testing.B) {
			for b.Loop() {
				if err := g.Walk(b.Context(), graph.Forward, limit, func(context.Context, string) error {
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	d := dag{deps: map[string][]string{}}
	for i := range 500 {
		n := fmt.Sprintf("n%03d", i)
		d.nodes = append(d.nodes, n)
		if i > 0 {
			d.deps[n] = []string{fmt.Sprintf("n%03d", i-1), fmt.Sprintf("n%03d", i/2)}
		}
	}
	for b.Loop() {
		if _, err := graph.New(d.nodes, d.deps); err != nil {
			b.Fatal(err)
		}
	}
}
