package engine

import (
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/state"
)

func obs(service string, n int, hash string, st state.Status, cfg string) Observed {
	return Observed{
		Container: &state.Container{ID: service + "-id-" + string(rune('0'+n)), Name: ContainerName("p", service, n, ""), Project: "p", Service: service, Number: n, Hash: hash, Config: []byte(cfg)},
		State:     &state.RuntimeState{Status: st},
	}
}

func TestPlan(t *testing.T) {
	web := Desired{Service: "web", Replicas: 1, Hash: "h1", Config: []byte(`{"image":"a","environment":{"A":"1"}}`)}
	cases := []struct {
		name     string
		desired  []Desired
		observed []Observed
		opts     PlanOptions
		want     string
	}{
		{
			name:    "fresh",
			desired: []Desired{web, {Service: "db", Replicas: 2, Hash: "d"}},
			want: `create   p-db-1 (not created yet)
create   p-db-2 (not created yet)
create   p-web-1 (not created yet)
`,
		},
		{
			name:     "unchanged running is kept",
			desired:  []Desired{web},
			observed: []Observed{obs("web", 1, "h1", state.StatusRunning, "")},
			want:     "keep     p-web-1 (up to date)\n",
		},
		{
			name:     "unchanged exited is started",
			desired:  []Desired{web},
			observed: []Observed{obs("web", 1, "h1", state.StatusExited, "")},
			want:     "start    p-web-1 (up to date, not running)\n",
		},
		{
			name:     "changed env names the field",
			desired:  []Desired{web},
			observed: []Observed{obs("web", 1, "old", state.StatusRunning, `{"image":"a","environment":{"A":"0"}}`)},
			want:     "recreate p-web-1 (configuration changed: environment)\n",
		},
		{
			name:     "no-recreate",
			desired:  []Desired{web},
			observed: []Observed{obs("web", 1, "old", state.StatusRunning, "")},
			opts:     PlanOptions{NoRecreate: true},
			want:     "keep     p-web-1 (up to date)\n",
		},
		{
			name:     "force-recreate",
			desired:  []Desired{web},
			observed: []Observed{obs("web", 1, "h1", state.StatusRunning, "")},
			opts:     PlanOptions{ForceRecreate: true},
			want:     "recreate p-web-1 (--force-recreate)\n",
		},
		{
			name:     "always-recreate-deps",
			desired:  []Desired{web, {Service: "db", Replicas: 1, Hash: "d"}},
			observed: []Observed{obs("web", 1, "h1", state.StatusRunning, ""), obs("db", 1, "d", state.StatusRunning, "")},
			opts:     PlanOptions{ForceServices: map[string]bool{"db": true}},
			want:     "recreate p-db-1 (--always-recreate-deps)\nkeep     p-web-1 (up to date)\n",
		},
		{
			name:     "scale up reuses lowest free number",
			desired:  []Desired{{Service: "web", Replicas: 3, Hash: "h1"}},
			observed: []Observed{obs("web", 2, "h1", state.StatusRunning, "")},
			want: `create   p-web-1 (not created yet)
keep     p-web-2 (up to date)
create   p-web-3 (not created yet)
`,
		},
		{
			name:     "scale down removes highest numbers",
			desired:  []Desired{{Service: "web", Replicas: 1, Hash: "h1"}},
			observed: []Observed{obs("web", 3, "h1", state.StatusRunning, ""), obs("web", 1, "h1", state.StatusRunning, ""), obs("web", 2, "h1", state.StatusRunning, "")},
			want: `keep     p-web-1 (up to date)
remove   p-web-2 (scale down to 1)
remove   p-web-3 (scale down to 1)
`,
		},
		{
			// Compose: scale down removes obsolete replicas first, then the
			// highest numbers (TestScaleDownNoRecreate).
			name:    "scale down removes obsolete replicas first",
			desired: []Desired{{Service: "web", Replicas: 2, Hash: "new"}},
			observed: []Observed{obs("web", 1, "old", state.StatusRunning, ""), obs("web", 2, "old", state.StatusRunning, ""),
				obs("web", 3, "new", state.StatusRunning, ""), obs("web", 4, "new", state.StatusRunning, "")},
			want: `remove   p-web-1 (scale down to 2)
remove   p-web-2 (scale down to 2)
keep     p-web-3 (up to date)
keep     p-web-4 (up to date)
`,
		},
		{
			name:     "scale down with no-recreate ignores obsolescence",
			desired:  []Desired{{Service: "web", Replicas: 1, Hash: "new"}},
			observed: []Observed{obs("web", 1, "old", state.StatusRunning, ""), obs("web", 2, "new", state.StatusRunning, "")},
			opts:     PlanOptions{NoRecreate: true},
			want: `keep     p-web-1 (up to date)
remove   p-web-2 (scale down to 1)
`,
		},
		{
			name:     "orphans kept without flag",
			desired:  []Desired{web},
			observed: []Observed{obs("web", 1, "h1", state.StatusRunning, ""), obs("old", 1, "x", state.StatusRunning, "")},
			want:     "keep     p-web-1 (up to date)\norphan   p-old-1 (kept; remove with --remove-orphans)\n",
		},
		{
			name:     "orphans removed with flag",
			desired:  []Desired{web},
			observed: []Observed{obs("web", 1, "h1", state.StatusRunning, ""), obs("old", 1, "x", state.StatusRunning, "")},
			opts:     PlanOptions{RemoveOrphans: true},
			want:     "remove   p-old-1 (orphan: service no longer in the project)\nkeep     p-web-1 (up to date)\n",
		},
		{
			name:     "sharer of a recreated service is recreated",
			desired:  []Desired{{Service: "app", Replicas: 1, Hash: "a", SharesWith: []string{"net"}}, {Service: "net", Replicas: 1, Hash: "new"}},
			observed: []Observed{obs("app", 1, "a", state.StatusRunning, ""), obs("net", 1, "old", state.StatusRunning, "")},
			want: `recreate p-app-1 (shares namespaces or volumes with recreated service "net")
recreate p-net-1 (configuration changed)
`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := NewPlan("p", c.desired, c.observed, c.opts).String()
			if got != c.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestServiceConfigHash(t *testing.T) {
	two := 2
	a := types.ServiceConfig{Name: "web"}
	a.Image = "busybox"
	a.Environment = types.NewMappingWithEquals([]string{"A=1"})
	b := a
	b.Scale = &two
	b.Profiles = []string{"x"}
	ha, _, err := ServiceConfig(a)
	if err != nil {
		t.Fatal(err)
	}
	hb, _, _ := ServiceConfig(b)
	if ha != hb {
		t.Error("scale/profiles must not change the hash")
	}
	c := a
	c.Environment = types.NewMappingWithEquals([]string{"A=2"})
	hc, cc, _ := ServiceConfig(c)
	_, ca, _ := ServiceConfig(a)
	if hc == ha {
		t.Error("environment change must change the hash")
	}
	if f := strings.Join(ChangedFields(ca, cc), ","); f != "environment" {
		t.Errorf("changed fields %q", f)
	}
}

// TestPlanStringImages: the pulls and builds come first, one a line.
func TestPlanStringImages(t *testing.T) {
	p := Plan{
		Images: []ImageStep{
			{Action: "pull", Ref: "busybox", Services: []string{"web", "worker"}, Reason: "missing"},
			{Action: "build", Ref: "shop-app", Services: []string{"app"}, Reason: "--build"},
		},
		Steps: []Step{{Service: "web", Number: 1, Name: "shop-web-1", Action: ActionCreate, Reason: "not created yet"}},
	}
	want := "pull     busybox (web, worker: missing)\n" +
		"build    shop-app (app: --build)\n" +
		"create   shop-web-1 (not created yet)\n"
	if got := p.String(); got != want {
		t.Errorf("Plan.String:\n%s\nwant:\n%s", got, want)
	}
	if p.Empty() || (Plan{Images: p.Images}).Empty() {
		t.Error("a plan with images to fetch is not empty")
	}
}

// Compose: TestUpSwitchVolumes — switching an external volume by name
// changes the hash; the default name does not enter it.
func TestServiceHashVolumeName(t *testing.T) {
	svc := types.ServiceConfig{Name: "app"}
	svc.Volumes = []types.ServiceVolumeConfig{{Type: types.VolumeTypeVolume, Source: "v", Target: "/v"}}
	hashWith := func(name string) string {
		p := &types.Project{Name: "p", Volumes: types.Volumes{"v": {Name: name, External: true}}}
		h, err := ServiceHash(p, svc)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	plain, _, _ := ServiceConfig(svc)
	if hashWith("p_v") != plain {
		t.Error("the default volume name changed the hash")
	}
	if hashWith("ext-1") == hashWith("ext-2") {
		t.Error("switching the external volume kept the hash")
	}
}

// In compatibility mode (--compatibility or COMPOSE_COMPATIBILITY) the
// containers a plan creates get Compose v1's names; container_name and
// existing containers keep theirs.
func TestV1Names(t *testing.T) {
	pl := Plan{Steps: []Step{
		{Service: "web", Number: 1, Name: "demo-web-1", Action: ActionCreate},
		{Service: "web", Number: 2, Name: "demo-web-2", Action: ActionCreate},
		{Service: "db", Number: 1, Name: "mydb", Action: ActionCreate},
		{Service: "old", Number: 1, Name: "demo-old-1", Action: ActionRecreate},
	}}
	clone := func() Plan { return Plan{Steps: append([]Step(nil), pl.Steps...)} }
	p := &types.Project{Name: "demo", Environment: types.Mapping{}}
	if got := (&Engine{}).v1Names(p, clone()); got.String() != pl.String() {
		t.Errorf("without compatibility:\n%s\nwant\n%s", got, pl)
	}
	want := "create   demo_web_1\ncreate   demo_web_2\ncreate   mydb\nrecreate demo-old-1\n"
	if got := (&Engine{compatibility: true}).v1Names(p, clone()); got.String() != want {
		t.Errorf("--compatibility:\n%s\nwant\n%s", got, want)
	}
	p.Environment[EnvCompatibility] = "true"
	if got := (&Engine{}).v1Names(p, clone()); got.String() != want {
		t.Errorf("COMPOSE_COMPATIBILITY=true:\n%s\nwant\n%s", got, want)
	}
}
