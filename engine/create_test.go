package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/network/portmap"
	"github.com/berth-dev/berth/project"
	"github.com/berth-dev/berth/volumes"
)

// service is a service of a name, with what set sets.
func service(name string, set func(*types.ServiceConfig)) types.ServiceConfig {
	s := types.ServiceConfig{Name: name}
	set(&s)
	return s
}

// The record create writes is computed from the spec asked and what the
// host made: no rootfs, netns or runtime needed to check it.
func TestContainerRecord(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	grace := types.Duration(7 * time.Second)
	max := uint64(3)
	p := &types.Project{Name: "shop", WorkingDir: "/srv/shop"}
	spec := &specs.Spec{
		Process:     &specs.Process{Args: []string{"nginx", "-g", "daemon off;"}},
		Annotations: map[string]string{ociruntime.AnnotationStopSignal: "SIGQUIT"},
	}
	net := &netSetup{netns: "/run/berth/netns/c1", hostname: "web-1", dns: []string{"10.0.0.1"},
		attached: []state.Attachment{{Network: "shop_default"}}, ports: []state.Port{{HostPort: 8080}}}
	health := &state.HealthConfig{Test: []string{"CMD", "true"}}
	tests := []struct {
		name  string
		cs    containerSpec
		m     made
		check func(t *testing.T, rec *state.Container)
	}{{
		name: "service container",
		cs: containerSpec{project: p, number: 2, name: "shop-web-2", hash: "h1", config: []byte(`{"image":"nginx"}`),
			portSpecs: []portmap.Spec{{ContainerPort: 80}},
			service: service("web", func(s *types.ServiceConfig) {
				s.Image, s.Tty, s.StdinOpen, s.Restart, s.StopGracePeriod = "nginx", true, true, "always", &grace
				s.Logging = &types.LoggingConfig{Options: map[string]string{"max-size": "1m"}}
			})},
		m: made{id: "c1", bundle: "/var/lib/berth/containers/c1", rootfs: "/var/lib/berth/containers/c1/merged",
			spec: spec, net: net, runtime: "runc", imageID: "sha256:img", health: health,
			exposed: []portmap.Binding{{ContainerPort: 80}},
			volumes: []volumes.Used{{Name: "shop_data", Target: "/data"}, {Name: "0a1b", Target: "/cache", Anonymous: true}}},
		check: func(t *testing.T, rec *state.Container) {
			want := &state.Container{
				ID: "c1", Name: "shop-web-2", Project: "shop", Service: "web", Number: 2,
				Labels: rec.Labels, Image: "nginx", ImageID: "sha256:img", Created: at, Hash: "h1",
				Config: []byte(`{"image":"nginx"}`), Command: []string{"nginx", "-g", "daemon off;"},
				Bundle: "/var/lib/berth/containers/c1", Rootfs: "/var/lib/berth/containers/c1/merged",
				Netns: "/run/berth/netns/c1", Networks: net.attached, PortSpecs: []portmap.Spec{{ContainerPort: 80}},
				Ports: net.ports, Exposed: []portmap.Binding{{ContainerPort: 80}}, Hostname: "web-1", DNS: []string{"10.0.0.1"},
				Runtime: "runc", Volumes: []string{"shop_data", "0a1b"}, AnonymousVolumes: map[string]string{"/cache": "0a1b"},
				Tty: true, StdinOpen: true, StopSignal: "SIGQUIT", Restart: "always", Health: health,
				LogOptions: map[string]string{"max-size": "1m"}, StopTimeout: 7 * time.Second,
			}
			if !reflect.DeepEqual(rec, want) {
				t.Errorf("record:\n got %+v\nwant %+v", rec, want)
			}
			if rec.Labels[project.LabelConfigHash] != "h1" || rec.Labels[project.LabelContainerNumber] != "2" {
				t.Errorf("labels = %v", rec.Labels)
			}
		},
	}, {
		name: "one-off with no network of its own and deploy restart policy",
		cs: containerSpec{project: p, number: 1, name: "shop-web-run-0123", oneoff: true, slug: "0123abcd",
			service: types.ServiceConfig{Name: "web", Deploy: &types.DeployConfig{
				RestartPolicy: &types.RestartPolicy{Condition: "on-failure", MaxAttempts: &max}}}},
		m: made{id: "c2", spec: &specs.Spec{Process: &specs.Process{Args: []string{"sh"}}}, net: &netSetup{}},
		check: func(t *testing.T, rec *state.Container) {
			if !rec.Oneoff || rec.Image != "shop-web" || rec.Restart != "on-failure:3" || rec.Netns != "" {
				t.Errorf("oneoff=%v image=%q restart=%q netns=%q", rec.Oneoff, rec.Image, rec.Restart, rec.Netns)
			}
			if rec.Volumes != nil || len(rec.AnonymousVolumes) != 0 || rec.StopTimeout != 0 || rec.LogOptions != nil {
				t.Errorf("volumes=%v anon=%v stop=%v log=%v", rec.Volumes, rec.AnonymousVolumes, rec.StopTimeout, rec.LogOptions)
			}
			if rec.Labels[project.LabelSlug] != "0123abcd" || rec.Labels[project.LabelOneoff] != "True" {
				t.Errorf("labels = %v", rec.Labels)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, containerRecord(tc.cs, tc.m, at))
		})
	}
}

// The early record claims the name and says where the container's parts
// will be, before any of them exists.
func TestEarlyRecord(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	cs := containerSpec{project: &types.Project{Name: "shop"}, service: service("db", func(s *types.ServiceConfig) { s.Image = "postgres:17" }),
		number: 3, name: "shop-db-3", hash: "h"}
	rec := earlyRecord(cs, "c3", "/b/c3", "/b/c3/merged", at)
	want := &state.Container{ID: "c3", Name: "shop-db-3", Project: "shop", Service: "db", Number: 3,
		Labels: containerLabels(cs), Image: "postgres:17", Created: at, Bundle: "/b/c3", Rootfs: "/b/c3/merged", Creating: true}
	if !reflect.DeepEqual(rec, want) {
		t.Errorf("early record:\n got %+v\nwant %+v", rec, want)
	}
}

func TestOCIContainer(t *testing.T) {
	p := &types.Project{Name: "shop", WorkingDir: "/srv/shop", Environment: types.Mapping{"TAG": "v1"}}
	mounts := []specs.Mount{{Destination: "/data", Source: "/v", Type: "bind"}}
	c := ociContainer(p, "c1", "/r", mounts, []string{"nvidia.com/gpu=0"}, nil)
	if c.ID != "c1" || c.Project != "shop" || c.Rootfs != "/r" || c.ProjectDir != "/srv/shop" ||
		!reflect.DeepEqual(c.Mounts, mounts) || !reflect.DeepEqual(c.CDIDevices, []string{"nvidia.com/gpu=0"}) {
		t.Errorf("container = %+v", c)
	}
	if v, ok := c.LookupEnv("TAG"); !ok || v != "v1" {
		t.Errorf("LookupEnv(TAG) = %q, %v", v, ok)
	}
	if _, ok := c.LookupEnv("NOPE"); ok {
		t.Error("LookupEnv(NOPE) found")
	}
}

func TestWithInit(t *testing.T) {
	no, yes := false, true
	for _, init := range []*bool{nil, &no} {
		var c ociruntime.Container
		if err := withInit(service("web", func(s *types.ServiceConfig) { s.Init = init }), &c); err != nil || c.InitBinary != "" {
			t.Errorf("init %v: binary %q, err %v", init, c.InitBinary, err)
		}
	}
	var c ociruntime.Container
	if err := withInit(service("web", func(s *types.ServiceConfig) { s.Init = &yes }), &c); err != nil {
		t.Fatal(err)
	}
	if c.InitBinary == "" || !reflect.DeepEqual(c.InitArgs, []string{"__init", "--"}) {
		t.Errorf("init: binary %q args %v", c.InitBinary, c.InitArgs)
	}
}
