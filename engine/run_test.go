package engine

import (
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/supervisor"
)

func TestRunPublish(t *testing.T) {
	tests := []struct {
		o       RunOptions
		ports   int
		wantErr string
	}{
		{o: RunOptions{}},
		{o: RunOptions{Publish: []string{"8080:80", "127.0.0.1:53:53/udp"}}, ports: 2},
		{o: RunOptions{Publish: []string{"8000-8001:80-81"}}, ports: 2},
		{o: RunOptions{ServicePorts: true, Publish: []string{"80"}}, wantErr: "--service-ports and --publish are incompatible"},
		{o: RunOptions{Publish: []string{"80:x"}}, wantErr: `--publish "80:x"`},
	}
	for _, tc := range tests {
		got, err := runPublish(&tc.o)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: err %v, want %q", tc.o.Publish, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(got) != tc.ports {
			t.Errorf("%v: %d ports, err %v; want %d", tc.o.Publish, len(got), err, tc.ports)
		}
	}
}

func TestRunService(t *testing.T) {
	p := &types.Project{Name: "shop",
		Services:         types.Services{"web": {Name: "web"}},
		DisabledServices: types.Services{"tools": {Name: "tools", Profiles: []string{"debug"}}},
	}
	if svc, q, err := runService(p, "web"); err != nil || svc.Name != "web" || q != p {
		t.Errorf("web: %q, same project %v, err %v", svc.Name, q == p, err)
	}
	svc, q, err := runService(p, "tools")
	if err != nil || svc.Name != "tools" {
		t.Fatalf("tools: %q, err %v", svc.Name, err)
	}
	if _, ok := q.Services["tools"]; !ok {
		t.Error("disabled service not enabled in the project returned")
	}
	if _, ok := p.Services["tools"]; ok {
		t.Error("the caller's project was changed")
	}
	if _, _, err := runService(p, "nope"); err == nil || err.Error() != "no such service: nope" {
		t.Errorf("nope: err %v", err)
	}
}

// The one-off's config is the service's with run's overrides; what a
// one-off never keeps (restart, replicas, container_name, ports unless
// asked) goes.
func TestOneoffService(t *testing.T) {
	p := &types.Project{Name: "shop", WorkingDir: "/srv/shop"}
	one := 1
	// base is made anew for each case: like Run, oneoffService writes
	// into the service's own label and environment maps.
	base := func() types.ServiceConfig {
		return service("web", func(s *types.ServiceConfig) {
			s.Command = types.ShellCommand{"serve"}
			s.Entrypoint = types.ShellCommand{"/entry"}
			s.Environment = types.MappingWithEquals{"A": strPtr("1")}
			s.Restart = "always"
			s.ContainerName = "web"
			s.Ports = []types.ServicePortConfig{{Target: 80, Published: "8080"}}
			s.Deploy = &types.DeployConfig{Replicas: &one, Resources: types.Resources{Limits: &types.Resource{MemoryBytes: 1 << 20}}}
			s.Labels = types.Labels{"keep": "yes"}
		})
	}
	hostEnv := func(k string) (string, bool) {
		if k == "FROM_HOST" {
			return "h", true
		}
		return "", false
	}
	publish := []types.ServicePortConfig{{Target: 53, Published: "5353", Protocol: "udp"}}
	tests := []struct {
		name    string
		o       RunOptions
		check   func(t *testing.T, s types.ServiceConfig)
		wantErr string
	}{{
		name: "defaults",
		check: func(t *testing.T, s types.ServiceConfig) {
			if !reflect.DeepEqual(s.Command, types.ShellCommand{"serve"}) || !reflect.DeepEqual(s.Entrypoint, types.ShellCommand{"/entry"}) {
				t.Errorf("command %v entrypoint %v", s.Command, s.Entrypoint)
			}
			if s.Restart != "no" || s.ContainerName != "" || s.Ports != nil || s.Tty || s.StdinOpen {
				t.Errorf("restart %q name %q ports %v tty %v stdin %v", s.Restart, s.ContainerName, s.Ports, s.Tty, s.StdinOpen)
			}
			if s.Deploy.Replicas != nil || s.Deploy.Resources.Limits.MemoryBytes != 1<<20 {
				t.Errorf("deploy %+v", s.Deploy)
			}
		},
	}, {
		name: "entrypoint drops the service's command",
		o:    RunOptions{Entrypoint: []string{"sh", "-c"}},
		check: func(t *testing.T, s types.ServiceConfig) {
			if s.Command != nil || !reflect.DeepEqual(s.Entrypoint, types.ShellCommand{"sh", "-c"}) {
				t.Errorf("command %v entrypoint %v", s.Command, s.Entrypoint)
			}
		},
	}, {
		name: "overrides",
		o: RunOptions{Command: []string{"echo", "hi"}, Env: []string{"B=2", "FROM_HOST", "UNSET"}, Workdir: "/w", User: "1000",
			Volumes: []string{"./data:/data", "/abs:/abs:ro"}, CapAdd: []string{"NET_ADMIN"}, Labels: map[string]string{"l": "v"},
			Tty: true, Interactive: true, Remove: true, Detach: true},
		check: func(t *testing.T, s types.ServiceConfig) {
			if !reflect.DeepEqual(s.Command, types.ShellCommand{"echo", "hi"}) || s.WorkingDir != "/w" || s.User != "1000" || !s.Tty || !s.StdinOpen {
				t.Errorf("command %v workdir %q user %q tty %v stdin %v", s.Command, s.WorkingDir, s.User, s.Tty, s.StdinOpen)
			}
			env := map[string]string{}
			for k, v := range s.Environment {
				env[k] = "<nil>"
				if v != nil {
					env[k] = *v
				}
			}
			if want := map[string]string{"A": "1", "B": "2", "FROM_HOST": "h", "UNSET": "<nil>"}; !reflect.DeepEqual(env, want) {
				t.Errorf("env %v, want %v", env, want)
			}
			if len(s.Volumes) != 2 || s.Volumes[0].Source != "/srv/shop/data" || s.Volumes[1].Source != "/abs" || !s.Volumes[1].ReadOnly {
				t.Errorf("volumes %+v", s.Volumes)
			}
			if !reflect.DeepEqual(s.CapAdd, []string{"NET_ADMIN"}) {
				t.Errorf("cap_add %v", s.CapAdd)
			}
			if s.Labels["keep"] != "yes" || s.Labels["l"] != "v" || s.Labels[supervisor.LabelAutoRemove] != "true" {
				t.Errorf("labels %v", s.Labels)
			}
		},
	}, {
		name: "--publish replaces the service's ports",
		o:    RunOptions{Publish: []string{"5353:53/udp"}},
		check: func(t *testing.T, s types.ServiceConfig) {
			if !reflect.DeepEqual(s.Ports, publish) {
				t.Errorf("ports %v", s.Ports)
			}
		},
	}, {
		name: "--service-ports keeps them",
		o:    RunOptions{ServicePorts: true},
		check: func(t *testing.T, s types.ServiceConfig) {
			if len(s.Ports) != 1 || s.Ports[0].Published != "8080" {
				t.Errorf("ports %v", s.Ports)
			}
		},
	}, {
		name:    "bad volume",
		o:       RunOptions{Volumes: []string{""}},
		wantErr: `-v ""`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub := []types.ServicePortConfig(nil)
			if len(tc.o.Publish) > 0 {
				pub = publish
			}
			got, err := oneoffService(p, base(), &tc.o, pub, hostEnv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, got)
		})
	}
}

func strPtr(s string) *string { return &s }
