package engine

import (
	"reflect"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/project"
)

func TestOneShotServices(t *testing.T) {
	deps := map[string][]project.Dependency{
		"web": {{On: "migrate", Condition: types.ServiceConditionCompletedSuccessfully}, {On: "db", Condition: types.ServiceConditionHealthy}},
		"api": {{On: "db", Condition: types.ServiceConditionStarted}},
	}
	if got := oneShotServices(deps); !reflect.DeepEqual(got, map[string]bool{"migrate": true}) {
		t.Errorf("one-shots = %v", got)
	}
}

func TestWaitState(t *testing.T) {
	plain := &state.Container{Name: "shop-web-1"}
	checked := &state.Container{Name: "shop-db-1", Health: &state.HealthConfig{Test: []string{"CMD", "true"}}}
	tests := []struct {
		name    string
		c       *state.Container
		st      state.RuntimeState
		oneShot bool
		want    waitStatus
		why     string
	}{
		{"running", plain, state.RuntimeState{Status: state.StatusRunning}, false, waitDone, ""},
		{"created", plain, state.RuntimeState{Status: state.StatusCreated}, false, waitPending, "shop-web-1 is created"},
		{"restarting", plain, state.RuntimeState{Status: state.StatusRestarting}, false, waitPending, "shop-web-1 is restarting"},
		{"exited", plain, state.RuntimeState{Status: state.StatusExited, ExitCode: 0}, false, waitExited, ""},
		{"one-shot done", plain, state.RuntimeState{Status: state.StatusExited, ExitCode: 0}, true, waitDone, ""},
		{"one-shot failed", plain, state.RuntimeState{Status: state.StatusExited, ExitCode: 2}, true, waitExited, ""},
		{"unhealthy", checked, state.RuntimeState{Status: state.StatusRunning, Health: "unhealthy"}, false, waitUnhealthy, ""},
		{"starting health", checked, state.RuntimeState{Status: state.StatusRunning, Health: "starting"}, false, waitPending, "shop-db-1 is not healthy yet"},
		{"healthy", checked, state.RuntimeState{Status: state.StatusRunning, Health: "healthy"}, false, waitDone, ""},
	}
	for _, tc := range tests {
		st := tc.st
		if got, why := waitState(tc.c, &st, tc.oneShot); got != tc.want || why != tc.why {
			t.Errorf("%s: %v %q, want %v %q", tc.name, got, why, tc.want, tc.why)
		}
	}
}

func TestDownContainers(t *testing.T) {
	p := &types.Project{Name: "shop",
		Services:         types.Services{"web": {Name: "web"}},
		DisabledServices: types.Services{"tools": {Name: "tools"}},
	}
	obs := []Observed{
		{Container: &state.Container{Name: "shop-web-1", Service: "web"}},
		{Container: &state.Container{Name: "shop-web-2", Service: "web"}},
		{Container: &state.Container{Name: "shop-tools-1", Service: "tools"}},
		{Container: &state.Container{Name: "shop-gone-1", Service: "gone"}},
		{Container: &state.Container{Name: "shop-gone-run-1", Service: "gone", Oneoff: true}},
	}
	count := func(m map[string][]*state.Container) map[string]int {
		out := map[string]int{}
		for k, v := range m {
			out[k] = len(v)
		}
		return out
	}
	by, orphans := downContainers(p, obs, false)
	if want := map[string]int{"web": 2, "tools": 1, "gone": 1}; !reflect.DeepEqual(count(by), want) || !reflect.DeepEqual(orphans, []string{"shop-gone-1"}) {
		t.Errorf("project: %v, orphans %v", count(by), orphans)
	}
	by, orphans = downContainers(p, obs, true)
	if want := map[string]int{"web": 2, "tools": 1, "gone": 2}; !reflect.DeepEqual(count(by), want) || orphans != nil {
		t.Errorf("--remove-orphans: %v, orphans %v", count(by), orphans)
	}
	by, orphans = downContainers(nil, obs, false)
	if want := map[string]int{"web": 2, "tools": 1, "gone": 2}; !reflect.DeepEqual(count(by), want) || orphans != nil {
		t.Errorf("no project: %v, orphans %v", count(by), orphans)
	}
}
