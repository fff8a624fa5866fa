package engine

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestWatchServices(t *testing.T) {
	p := &types.Project{Services: types.Services{"web": {Name: "web"}, "api": {Name: "api"}, "db": {Name: "db"}}}
	if got := watchServices(p, nil); !reflect.DeepEqual(got, []string{"api", "db", "web"}) {
		t.Errorf("all: %v", got)
	}
	if got := watchServices(p, []string{"web", "api"}); !reflect.DeepEqual(got, []string{"api", "web"}) {
		t.Errorf("named: %v", got)
	}
}

func TestWatchRules(t *testing.T) {
	dir := t.TempDir()
	withWatch := func(name string, triggers ...types.Trigger) types.ServiceConfig {
		return service(name, func(s *types.ServiceConfig) { s.Develop = &types.DevelopConfig{Watch: triggers} })
	}
	p := &types.Project{Name: "shop", WorkingDir: dir, Services: types.Services{
		"web": withWatch("web", types.Trigger{Path: "src", Action: types.WatchActionSync, Target: "/app"},
			types.Trigger{Path: "package.json", Action: types.WatchActionRestart}),
		"db":  {Name: "db"},
		"bad": withWatch("bad", types.Trigger{Path: "src", Action: types.WatchActionSync}),
	}}
	var logged []string
	log := func(m string) { logged = append(logged, m) }
	rules, err := watchRules(p, []string{"db", "web"}, log)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].Service != "web" || rules[1].Service != "web" {
		t.Errorf("rules = %+v", rules)
	}
	if _, err := watchRules(p, []string{"db"}, log); !errors.Is(err, ErrNoWatch) {
		t.Errorf("no watch section: err %v, want ErrNoWatch", err)
	}
	if _, err := watchRules(p, []string{"nope"}, log); err == nil || err.Error() != "no such service: nope" {
		t.Errorf("unknown service: err %v", err)
	}
	if _, err := watchRules(p, []string{"bad"}, log); err == nil || !strings.Contains(err.Error(), "needs a target") {
		t.Errorf("sync without target: err %v", err)
	}
	if len(logged) != 0 {
		t.Errorf("logged %q", logged)
	}
}
