package engine

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestProviderCommandNames(t *testing.T) {
	for _, typ := range []string{"", ".", "..", "../../bin/sh", "/bin/sh", `a\b`} {
		if _, _, err := providerCommand(typ); err == nil {
			t.Errorf("provider type %q: accepted as a program name", typ)
		}
	}
}

func TestWithProviderEnv(t *testing.T) {
	own := "mine"
	p := &types.Project{Services: types.Services{
		"app": {Name: "app",
			WorkloadSpec:  types.WorkloadSpec{DependsOn: types.DependsOnConfig{"my-db": {}, "other": {}}},
			ContainerSpec: types.ContainerSpec{Environment: types.MappingWithEquals{"MY_DB_TOKEN": &own, "REGION": &own}}},
		"my-db": {Name: "my-db", Provider: &types.ServiceProviderConfig{Type: "x"}},
		"other": {Name: "other"},
	}}
	env := &providerEnv{
		prefix: map[string]map[string]string{"my-db": {"URL": "u", "TOKEN": "t"}, "other": {"NO": "no"}},
		raw:    map[string]map[string]string{"my-db": {"REGION": "r"}},
	}
	var warned []string
	e := &Engine{progress: func(ev Event) { warned = append(warned, ev.Text) }}
	got := e.withProviderEnv(p, p.Services["app"], env).Environment
	want := map[string]string{"MY_DB_URL": "u", "MY_DB_TOKEN": "mine", "REGION": "r"}
	for k, v := range want {
		if got[k] == nil || *got[k] != v {
			t.Errorf("%s = %v, want %q", k, got[k], v)
		}
	}
	if _, ok := got["OTHER_NO"]; ok {
		t.Error("a service that is not a provider gave environment")
	}
	if len(warned) != 1 {
		t.Errorf("warnings %q, want one for REGION", warned)
	}
	if *p.Services["app"].Environment["REGION"] != "mine" {
		t.Error("the project's service was changed in place")
	}
}
