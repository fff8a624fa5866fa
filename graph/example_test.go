package graph_test

import (
	"context"
	"fmt"

	"github.com/berth-dev/berth/graph"
)

func ExampleGraph_Walk() {
	g, err := graph.New([]string{"web", "api", "db", "cache"}, map[string][]string{
		"web": {"api"},
		"api": {"db", "cache"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	// With limit 1 the walk follows Order; with a larger limit db and
	// cache would start together.
	_ = g.Walk(ctx, graph.Forward, 1, func(ctx context.Context, name string) error {
		fmt.Println("start", name)
		return nil
	})
	_ = g.Walk(ctx, graph.Reverse, 1, func(ctx context.Context, name string) error {
		fmt.Println("stop", name)
		return nil
	})
	// Output:
	// start cache
	// start db
	// start api
	// start web
	// stop web
	// stop api
	// stop cache
	// stop db
}

func ExampleNew_cycle() {
	_, err := graph.New([]string{"a", "b", "c"}, map[string][]string{
		"a": {"b"},
		"b": {"c"},
		"c": {"a"},
	})
	fmt.Println(err)
	// Output: dependency cycle: a -> b -> c -> a
}

func ExampleGraph_Subgraph() {
	g, _ := graph.New([]string{"web", "api", "db", "worker"}, map[string][]string{
		"web":    {"api"},
		"api":    {"db"},
		"worker": {"db"},
	})
	fmt.Println(g.Subgraph([]string{"api"}, graph.Forward).Nodes())
	fmt.Println(g.Subgraph([]string{"db"}, graph.Reverse).Order(graph.Reverse))
	// Output:
	// [api db]
	// [web api worker db]
}
