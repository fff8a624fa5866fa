package engine

import (
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/graph"
)

// shop is a project of three services: web depends on api, api on db;
// tools is disabled by a profile.
func shop(t *testing.T) *types.Project {
	t.Helper()
	two := 2
	return &types.Project{Name: "shop",
		Services: types.Services{
			"web": service("web", func(s *types.ServiceConfig) {
				s.Image = "nginx"
				s.DependsOn = types.DependsOnConfig{"api": {Condition: types.ServiceConditionStarted, Required: true}}
				s.Networks = map[string]*types.ServiceNetworkConfig{"front": nil}
			}),
			"api": service("api", func(s *types.ServiceConfig) {
				s.Image = "api"
				s.Deploy = &types.DeployConfig{Replicas: &two}
				s.DependsOn = types.DependsOnConfig{"db": {Condition: types.ServiceConditionStarted, Required: true}}
			}),
			"db": service("db", func(s *types.ServiceConfig) {
				s.Image = "postgres"
				s.ContainerName = "shop-db"
				s.Volumes = []types.ServiceVolumeConfig{{Type: types.VolumeTypeVolume, Source: "data", Target: "/var/lib/postgresql"}}
			}),
		},
		DisabledServices: types.Services{"tools": service("tools", func(s *types.ServiceConfig) { s.Image = "busybox" })},
		Networks:         types.Networks{"front": {}},
		Volumes:          types.Volumes{"data": {}},
	}
}

func TestDesiredServices(t *testing.T) {
	p := shop(t)
	got, err := desiredServices(p, []string{"api", "db", "web"}, map[string]int{"web": 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, d := range got {
		if d.Hash == "" || len(d.Config) == 0 || d.ImageID != "" {
			t.Errorf("%s: hash %q config %d bytes image %q", d.Service, d.Hash, len(d.Config), d.ImageID)
		}
		lines = append(lines, d.Service+" x"+string(rune('0'+d.Replicas))+" "+d.ContainerName)
	}
	if want := []string{"api x2 ", "db x1 shop-db", "web x3 "}; !reflect.DeepEqual(lines, want) {
		t.Errorf("desired = %q, want %q", lines, want)
	}
	if _, err := desiredServices(p, []string{"db"}, map[string]int{"db": 2}, nil); err == nil ||
		!strings.Contains(err.Error(), `service "db": container_name "shop-db" cannot be used with 2 replicas`) {
		t.Errorf("scaled container_name: err %v", err)
	}
}

func TestPlannedObserved(t *testing.T) {
	p := shop(t)
	g, err := projectGraph(p)
	if err != nil {
		t.Fatal(err)
	}
	obs := func() []Observed {
		var out []Observed
		for _, s := range []string{"web", "db", "tools", "gone"} {
			out = append(out, Observed{Container: &state.Container{Name: "shop-" + s + "-1", Service: s}})
		}
		return out
	}
	names := func(os []Observed) []string {
		var out []string
		for _, o := range os {
			out = append(out, o.Service)
		}
		return out
	}
	web, err := upGraph(p, UpOptions{Services: []string{"web"}, NoDeps: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    UpOptions
		g    *graph.Graph
		want []string
	}{
		{"all: a disabled service's container is no orphan", UpOptions{}, g, []string{"web", "db", "gone"}},
		{"--remove-orphans sees them all", UpOptions{RemoveOrphans: true}, g, []string{"web", "db", "tools", "gone"}},
		{"named services: only theirs", UpOptions{Services: []string{"web"}}, web, []string{"web"}},
	}
	for _, tc := range tests {
		if got := names(plannedObserved(p, tc.g, tc.o, obs())); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPlanOptions(t *testing.T) {
	p := shop(t)
	g, err := projectGraph(p)
	if err != nil {
		t.Fatal(err)
	}
	po := planOptions(p, g, UpOptions{ForceRecreate: true, RemoveOrphans: true},
		map[string]string{"shop_front": "subnet changed"}, map[string]string{"shop_data": "driver changed"})
	want := PlanOptions{ForceRecreate: true, RemoveOrphans: true, NetworkChanged: map[string]string{
		"web": `network "front" changed: subnet changed`,
		"db":  `volume "data" changed: recreated (up -y)`,
	}}
	if !reflect.DeepEqual(po, want) {
		t.Errorf("options = %+v\nwant %+v", po, want)
	}

	// --always-recreate-deps: what others depend on, but the named ones
	for _, tc := range []struct {
		services []string
		want     map[string]bool
	}{
		{nil, map[string]bool{"api": true, "db": true}},
		{[]string{"api"}, map[string]bool{"db": true}},
	} {
		po := planOptions(p, g, UpOptions{AlwaysRecreateDeps: true, Services: tc.services}, nil, nil)
		if !reflect.DeepEqual(po.ForceServices, tc.want) {
			t.Errorf("services %v: force %v, want %v", tc.services, po.ForceServices, tc.want)
		}
	}
}

func TestStepsByService(t *testing.T) {
	plan := Plan{Steps: []Step{{Service: "a", Number: 1}, {Service: "b", Number: 1}, {Service: "a", Number: 2}}}
	got := stepsByService(plan)
	if len(got) != 2 || len(got["a"]) != 2 || got["a"][1].Number != 2 || len(got["b"]) != 1 {
		t.Errorf("steps = %v", got)
	}
}
