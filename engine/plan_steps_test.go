package engine

import (
	"testing"

	"github.com/berth-dev/berth/engine/state"
)

// keptStep's precedence: flags, network, config, image, a recreated
// service shared with, else start or keep.
func TestKeptStep(t *testing.T) {
	d := Desired{Service: "web", Replicas: 1, Hash: "new", ImageID: "img2", SharesWith: []string{"db"}}
	running := &state.RuntimeState{Status: state.StatusRunning}
	exited := &state.RuntimeState{Status: state.StatusExited}
	obs := func(hash, image string, st *state.RuntimeState) Observed {
		return Observed{Container: &state.Container{ID: "c1", Name: "shop-web-1", Service: "web", Number: 1, Hash: hash, ImageID: image}, State: st}
	}
	tests := []struct {
		name      string
		c         Observed
		o         PlanOptions
		recreated map[string]bool
		action    Action
		reason    string
	}{
		{"up to date, running", obs("new", "img2", running), PlanOptions{}, nil, ActionKeep, "up to date"},
		{"up to date, exited", obs("new", "img2", exited), PlanOptions{}, nil, ActionStart, "up to date, not running"},
		{"no state", obs("new", "", nil), PlanOptions{}, nil, ActionStart, "up to date, not running"},
		{"--no-recreate wins over a change", obs("old", "img1", running), PlanOptions{NoRecreate: true, ForceRecreate: true}, nil, ActionKeep, "up to date"},
		{"--force-recreate", obs("new", "img2", running), PlanOptions{ForceRecreate: true}, nil, ActionRecreate, "--force-recreate"},
		{"--always-recreate-deps", obs("new", "img2", running), PlanOptions{ForceServices: map[string]bool{"web": true}}, nil, ActionRecreate, "--always-recreate-deps"},
		{"network before config", obs("old", "img2", running), PlanOptions{NetworkChanged: map[string]string{"web": "network x changed"}}, nil, ActionRecreate, "network x changed"},
		{"config", obs("old", "img1", running), PlanOptions{}, nil, ActionRecreate, "configuration changed"},
		{"image", obs("new", "img1", running), PlanOptions{}, nil, ActionRecreate, "image changed"},
		{"image unknown: no change", obs("new", "", running), PlanOptions{}, nil, ActionKeep, "up to date"},
		{"shares with a recreated service", obs("new", "img2", running), PlanOptions{}, map[string]bool{"db": true}, ActionRecreate, `shares namespaces or volumes with recreated service "db"`},
	}
	for _, tc := range tests {
		s := keptStep(d, tc.c, tc.o, tc.recreated)
		if s.Action != tc.action || s.Reason != tc.reason || s.ID != "c1" || s.Name != "shop-web-1" || s.Number != 1 {
			t.Errorf("%s: %+v, want %s (%s)", tc.name, s, tc.action, tc.reason)
		}
	}
}
