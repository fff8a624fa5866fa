package engine

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/project"
)

func imageWithHealth(h *v1.HealthConfig) *v1.ConfigFile {
	return &v1.ConfigFile{Config: v1.Config{Healthcheck: h}}
}

func dur(d time.Duration) *types.Duration { td := types.Duration(d); return &td }

func u64(n uint64) *uint64 { return &n }

func TestHealthConfigMerge(t *testing.T) {
	img := imageWithHealth(&v1.HealthConfig{
		Test:        []string{"CMD", "/healthz"},
		Interval:    10 * time.Second,
		Timeout:     2 * time.Second,
		StartPeriod: time.Minute,
		Retries:     7,
	})
	cases := []struct {
		name string
		svc  *types.HealthCheckConfig
		img  *v1.ConfigFile
		want *state.HealthConfig
	}{
		{name: "none anywhere", img: &v1.ConfigFile{}},
		{name: "nil image"},
		{
			name: "defaults",
			svc:  &types.HealthCheckConfig{Test: []string{"CMD-SHELL", "true"}},
			want: &state.HealthConfig{Test: []string{"CMD-SHELL", "true"}, Interval: 30 * time.Second, Timeout: 30 * time.Second, StartInterval: 5 * time.Second, Retries: 3},
		},
		{
			name: "inherited from the image",
			img:  img,
			want: &state.HealthConfig{Test: []string{"CMD", "/healthz"}, Interval: 10 * time.Second, Timeout: 2 * time.Second, StartPeriod: time.Minute, StartInterval: 5 * time.Second, Retries: 7},
		},
		{
			name: "service overrides field by field",
			img:  img,
			svc:  &types.HealthCheckConfig{Interval: dur(time.Second), Retries: u64(2), StartInterval: dur(100 * time.Millisecond)},
			want: &state.HealthConfig{Test: []string{"CMD", "/healthz"}, Interval: time.Second, Timeout: 2 * time.Second, StartPeriod: time.Minute, StartInterval: 100 * time.Millisecond, Retries: 2},
		},
		{
			name: "service test replaces the image's",
			img:  img,
			svc:  &types.HealthCheckConfig{Test: []string{"CMD-SHELL", "wget -q localhost"}, Timeout: dur(5 * time.Second)},
			want: &state.HealthConfig{Test: []string{"CMD-SHELL", "wget -q localhost"}, Interval: 10 * time.Second, Timeout: 5 * time.Second, StartPeriod: time.Minute, StartInterval: 5 * time.Second, Retries: 7},
		},
		{
			name: "zero durations inherit",
			img:  img,
			svc:  &types.HealthCheckConfig{Interval: dur(0), Retries: u64(0)},
			want: &state.HealthConfig{Test: []string{"CMD", "/healthz"}, Interval: 10 * time.Second, Timeout: 2 * time.Second, StartPeriod: time.Minute, StartInterval: 5 * time.Second, Retries: 7},
		},
		{name: "NONE disables the image's", img: img, svc: &types.HealthCheckConfig{Test: []string{"NONE"}}},
		{name: "disable: true disables the image's", img: img, svc: &types.HealthCheckConfig{Disable: true}},
		{name: "image NONE", img: imageWithHealth(&v1.HealthConfig{Test: []string{"NONE"}})},
		{name: "unknown kind", svc: &types.HealthCheckConfig{Test: []string{"HTTP", "/x"}}},
		{name: "CMD without a command", svc: &types.HealthCheckConfig{Test: []string{"CMD"}}},
		{name: "timings without a test", svc: &types.HealthCheckConfig{Interval: dur(time.Second)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := healthConfig(types.ServiceConfig{Name: "s", WorkloadSpec: types.WorkloadSpec{HealthCheck: c.svc}}, c.img, 0)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("healthConfig:\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// The merged test must not alias the image's slice (the record is
// written while the image config may be shared).
func TestHealthConfigCopiesTest(t *testing.T) {
	h := &v1.HealthConfig{Test: []string{"CMD", "a"}}
	got := healthConfig(types.ServiceConfig{}, imageWithHealth(h), 0)
	got.Test[1] = "b"
	if h.Test[1] != "a" {
		t.Error("healthConfig aliases the image's test")
	}
}

// TestHealthConfigFromCompose checks the forms of a compose file as
// compose-go loads them: a plain string test, lists, durations, disable.
func TestHealthConfigFromCompose(t *testing.T) {
	dir := t.TempDir()
	yaml := `
services:
  str:
    image: busybox
    healthcheck:
      test: curl -f http://localhost/ || exit 1
      interval: 1m30s
      timeout: 10s
      retries: 5
      start_period: 40s
      start_interval: 2s
  cmd:
    image: busybox
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "app"]
      interval: 500ms
  none:
    image: busybox
    healthcheck:
      test: ["NONE"]
  disabled:
    image: busybox
    healthcheck:
      disable: true
  plain:
    image: busybox
`
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := project.Load(t.Context(), project.Options{WorkingDir: dir, Files: []string{filepath.Join(dir, "compose.yaml")}, ProjectName: "hc", Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	img := imageWithHealth(&v1.HealthConfig{Test: []string{"CMD", "/img-check"}, Retries: 9})
	want := map[string]*state.HealthConfig{
		"str": {Test: []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"}, Interval: 90 * time.Second, Timeout: 10 * time.Second,
			StartPeriod: 40 * time.Second, StartInterval: 2 * time.Second, Retries: 5},
		"cmd": {Test: []string{"CMD", "pg_isready", "-U", "app"}, Interval: 500 * time.Millisecond, Timeout: 30 * time.Second,
			StartInterval: 5 * time.Second, Retries: 9},
		"none":     nil,
		"disabled": nil,
		"plain": {Test: []string{"CMD", "/img-check"}, Interval: 30 * time.Second, Timeout: 30 * time.Second,
			StartInterval: 5 * time.Second, Retries: 9},
	}
	for name, w := range want {
		svc, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := healthConfig(svc, img, 0); !reflect.DeepEqual(got, w) {
			t.Errorf("service %s:\n got %+v\nwant %+v", name, got, w)
		}
	}
}

// TestHealthConfigStartInterval: the image's --start-interval applies
// unless the service sets start_interval.
func TestHealthConfigStartInterval(t *testing.T) {
	img := imageWithHealth(&v1.HealthConfig{Test: []string{"CMD", "true"}})
	if got := healthConfig(types.ServiceConfig{}, img, 300*time.Millisecond); got.StartInterval != 300*time.Millisecond {
		t.Errorf("image start interval: %v", got.StartInterval)
	}
	d := types.Duration(time.Second)
	svc := types.ServiceConfig{WorkloadSpec: types.WorkloadSpec{HealthCheck: &types.HealthCheckConfig{StartInterval: &d}}}
	if got := healthConfig(svc, img, 300*time.Millisecond); got.StartInterval != time.Second {
		t.Errorf("service start_interval must win: %v", got.StartInterval)
	}
}
