package engine

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/project"
)

func TestContainerLabels(t *testing.T) {
	p := &types.Project{Name: "shop", WorkingDir: "/srv/shop", ComposeFiles: []string{"/srv/shop/compose.yaml", "/srv/shop/compose.override.yaml"}}
	svc := types.ServiceConfig{Name: "web"}
	svc.Labels = types.Labels{"mine": "kept", project.LabelProject: "spoofed"}
	svc.DependsOn = types.DependsOnConfig{
		"db":    {Condition: types.ServiceConditionHealthy, Restart: true, Required: true},
		"cache": {Condition: types.ServiceConditionStarted},
	}
	svc.CustomLabels = types.Labels{project.LabelEnvironmentFile: "/srv/shop/prod.env"}
	got := containerLabels(containerSpec{project: p, service: svc, number: 2, hash: "abc", slug: "", replaces: "old"})
	want := map[string]string{
		"mine":                       "kept",
		project.LabelProject:         "shop",
		project.LabelService:         "web",
		project.LabelVersion:         project.ComposeVersion,
		project.LabelContainerNumber: "2",
		project.LabelOneoff:          "False",
		project.LabelConfigHash:      "abc",
		project.LabelWorkingDir:      "/srv/shop",
		project.LabelConfigFiles:     "/srv/shop/compose.yaml,/srv/shop/compose.override.yaml",
		project.LabelDependencies:    "cache:service_started:false,db:service_healthy:true",
		project.LabelEnvironmentFile: "/srv/shop/prod.env",
		project.LabelReplace:         "old",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("label %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("labels = %v, want exactly %v", got, want)
	}

	one := containerLabels(containerSpec{project: p, service: types.ServiceConfig{Name: "job"}, number: 1, oneoff: true, slug: "f00d"})
	if one[project.LabelOneoff] != "True" || one[project.LabelSlug] != "f00d" || one[project.LabelDependencies] != "" {
		t.Errorf("one-off labels = %v", one)
	}
	if _, ok := one[project.LabelDependencies]; !ok {
		t.Errorf("depends_on label missing when empty (Compose writes it empty): %v", one)
	}
}
