package engine

import (
	"reflect"
	"testing"

	"github.com/berth-dev/berth/engine/state"
)

func TestContainerProjects(t *testing.T) {
	cs := []*state.Container{{Project: "web"}, {Project: "api"}, {Project: "web"}, {Project: "berth-standalone-1"}}
	if got, want := containerProjects(cs), []string{"api", "berth-standalone-1", "web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("projects = %v, want %v", got, want)
	}
	if got := containerProjects(nil); len(got) != 0 {
		t.Errorf("none: %v", got)
	}
}
