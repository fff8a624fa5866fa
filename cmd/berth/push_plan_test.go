package main

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestPlanPushes(t *testing.T) {
	api := testService("api", "reg/api:1", "", "", true)
	api.Build.Tags = []string{"reg/api:latest", "reg/api:1"}
	worker := testService("worker", "reg/api:latest", "", "", true)
	p := &types.Project{Services: types.Services{
		"web":    testService("web", "nginx", "", "", false),
		"api":    api,
		"worker": worker,
		"tool":   testService("tool", "", "", "", true),
	}}
	got := planPushes(p)
	want := []pushEntry{
		{service: "api", refs: []string{"reg/api:1", "reg/api:latest"}},
		{service: "tool", skipped: true},
		{service: "web", skipped: true},
		{service: "worker"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan:\n got %+v\nwant %+v", got, want)
	}
}

func TestPushAll(t *testing.T) {
	jobs := []pushJob{{"a", "r/a"}, {"b", "r/b"}, {"c", "r/c"}}
	denied := errors.New("denied")
	push := func(_ context.Context, ref string) error {
		if ref == "r/b" || ref == "r/c" {
			return denied
		}
		return nil
	}
	tests := []struct {
		ignore     bool
		wantFailed []string
		wantErr    bool
	}{
		{true, []string{"service b: denied", "service c: denied"}, false},
		{false, nil, true},
	}
	for _, tt := range tests {
		var mu sync.Mutex
		var reported []string
		fail := func(ref string, err error) {
			mu.Lock()
			defer mu.Unlock()
			reported = append(reported, ref+" "+err.Error())
		}
		failed, err := pushAll(context.Background(), jobs, 1, tt.ignore, push, fail)
		var got []string
		for _, e := range failed {
			got = append(got, e.Error())
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, tt.wantFailed) {
			t.Errorf("ignore=%v: failed %q, want %q", tt.ignore, got, tt.wantFailed)
		}
		if tt.wantErr != (err != nil) || (err != nil && !errors.Is(err, denied)) {
			t.Errorf("ignore=%v: err %v", tt.ignore, err)
		}
		if len(reported) == 0 || (tt.ignore && len(reported) != 2) {
			t.Errorf("ignore=%v: progress told of %q", tt.ignore, reported)
		}
	}
	var n int
	count := func(context.Context, string) error { n++; return nil }
	if failed, err := pushAll(context.Background(), jobs, 1, false, count, nil); err != nil || failed != nil || n != 3 {
		t.Errorf("all pushed: n=%d failed=%v err=%v", n, failed, fmt.Sprint(err))
	}
}
