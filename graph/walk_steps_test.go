package graph

import (
	"errors"
	"reflect"
	"testing"
)

// Table tests for the coordinator steps of Walk, without goroutines.

func TestReadyNodes(t *testing.T) {
	for _, tc := range []struct {
		nodes   []string
		before  map[string][]string
		pending map[string]int
		ready   []string
	}{
		{[]string{"a"}, nil, map[string]int{"a": 0}, []string{"a"}},
		{[]string{"a", "b", "c"}, map[string][]string{"b": {"a"}, "c": {"a", "b"}},
			map[string]int{"a": 0, "b": 1, "c": 2}, []string{"a"}},
		{[]string{"a", "b", "c"}, map[string][]string{"a": {"c"}},
			map[string]int{"a": 1, "b": 0, "c": 0}, []string{"b", "c"}},
	} {
		pending, ready := readyNodes(tc.nodes, tc.before)
		if !reflect.DeepEqual(pending, tc.pending) || !reflect.DeepEqual(ready, tc.ready) {
			t.Errorf("readyNodes(%q, %v) = %v, %q; want %v, %q", tc.nodes, tc.before, pending, ready, tc.pending, tc.ready)
		}
	}
}

func TestWalkFinished(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name      string
		results   []walkResult
		ready     []string
		pending   map[string]int
		failed    error // nil, or what the NodeError of node "a" wraps
		cancelled int
	}{
		{"a releases b; c still waits for b",
			[]walkResult{{node: "a"}}, []string{"b"}, map[string]int{"a": 0, "b": 0, "c": 1}, nil, 0},
		{"a then b release c (b was not started from ready here)",
			[]walkResult{{node: "a"}, {node: "b"}}, []string{"b", "c"}, map[string]int{"a": 0, "b": 0, "c": 0}, nil, 0},
		{"a failure releases nothing and cancels once",
			[]walkResult{{node: "a", err: boom}, {node: "x", err: errors.New("later")}}, nil, map[string]int{"a": 0, "b": 1, "c": 2}, boom, 1},
	} {
		var causes []error
		w := &walk{
			after:   map[string][]string{"a": {"b", "c"}, "b": {"c"}},
			pending: map[string]int{"a": 0, "b": 1, "c": 2},
			running: len(tc.results),
			cancel:  func(cause error) { causes = append(causes, cause) },
		}
		for _, r := range tc.results {
			w.finished(r)
		}
		if w.running != 0 {
			t.Errorf("%s: running %d", tc.name, w.running)
		}
		if !reflect.DeepEqual(w.ready, tc.ready) || !reflect.DeepEqual(w.pending, tc.pending) {
			t.Errorf("%s: ready %q pending %v; want %q %v", tc.name, w.ready, w.pending, tc.ready, tc.pending)
		}
		if len(causes) != tc.cancelled {
			t.Errorf("%s: cancelled %d times, want %d", tc.name, len(causes), tc.cancelled)
		}
		var ne *NodeError
		if tc.failed == nil && w.failed != nil || tc.failed != nil && (!errors.As(w.failed, &ne) || ne.Node != "a" || !errors.Is(w.failed, tc.failed)) {
			t.Errorf("%s: failed %v, want node a with %v", tc.name, w.failed, tc.failed)
		}
	}
}
