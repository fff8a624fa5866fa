package main

import (
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine"
)

func TestInspectState(t *testing.T) {
	for _, tc := range []struct {
		status                            engine.ContainerStatus
		running, paused, restarting, dead bool
	}{
		{engine.StatusRunning, true, false, false, false},
		{engine.StatusPaused, true, true, false, false},
		{engine.StatusRestarting, false, false, true, false},
		{engine.StatusDead, false, false, false, true},
		{engine.StatusExited, false, false, false, false},
	} {
		s := inspectState(&engine.ContainerState{Status: tc.status, Pid: 7, ExitCode: 3})
		if s.Status != string(tc.status) || s.Running != tc.running || s.Paused != tc.paused ||
			s.Restarting != tc.restarting || s.Dead != tc.dead || s.Pid != 7 || s.ExitCode != 3 {
			t.Errorf("%s: %+v", tc.status, s)
		}
		if s.Health != nil {
			t.Errorf("%s: health %+v without a healthcheck", tc.status, s.Health)
		}
	}
	s := inspectState(&engine.ContainerState{Status: engine.StatusRunning, Health: "unhealthy", FailingStreak: 2})
	if s.Health == nil || s.Health.Status != "unhealthy" || s.Health.FailingStreak != 2 || s.Health.Log == nil {
		t.Errorf("health: %+v", s.Health)
	}
}

func TestInspectConfigAndProcess(t *testing.T) {
	r := &engine.Container{Image: "busybox", StopTimeout: 12 * time.Second, Labels: map[string]string{"a": "b"}}
	c := inspectConfig(r, serviceBits{Entrypoint: []string{"/bin/sh", "-c"}})
	if c.StopTimeout == nil || *c.StopTimeout != 12 || c.Image != "busybox" || c.Labels["a"] != "b" {
		t.Errorf("config: %+v", c)
	}
	spec := &specs.Spec{Hostname: "h1", Process: &specs.Process{Env: []string{"A=1"}, Cwd: "/srv", User: specs.User{UID: 1000, GID: 100}}}
	inspectProcess(&c, spec)
	if c.User != "1000:100" || c.WorkingDir != "/srv" || c.Hostname != "h1" || !slices.Equal(c.Env, []string{"A=1"}) {
		t.Errorf("from the process: %+v", c)
	}
	c = inspectConfig(r, serviceBits{User: "nobody", WorkingDir: "/app"})
	inspectProcess(&c, spec)
	if c.User != "nobody" || c.WorkingDir != "/app" {
		t.Errorf("the service's user and working dir win: %+v", c)
	}

	var j containerJSON
	j.Config.Entrypoint = []string{"/bin/sh", "-c"}
	inspectArgs(&j, []string{"/bin/sh", "-c", "echo hi"})
	if j.Path != "/bin/sh" || !slices.Equal(j.Args, []string{"-c", "echo hi"}) || !slices.Equal(j.Config.Cmd, []string{"echo hi"}) {
		t.Errorf("args: %q %q cmd %q", j.Path, j.Args, j.Config.Cmd)
	}
	var empty containerJSON
	inspectArgs(&empty, nil)
	if empty.Args == nil || len(empty.Args) != 0 || empty.Config.Cmd != nil {
		t.Errorf("no args: %+v", empty)
	}
}

func TestInspectNetworks(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    engine.Container
		mode string
	}{
		{"none", engine.Container{Netns: "/run/netns/x"}, "none"},
		{"host", engine.Container{}, "host"},
		{"first network", engine.Container{Netns: "/run/netns/x", Networks: []engine.Attachment{{Network: "p_back", IP: "10.1.0.2"}, {Network: "p_front"}}}, "p_back"},
	} {
		c := containerJSON{NetworkSettings: networkSettings{Networks: map[string]endpointSettings{}}}
		inspectNetworks(&c, &tc.r)
		if c.HostConfig.NetworkMode != tc.mode {
			t.Errorf("%s: NetworkMode %q, want %q", tc.name, c.HostConfig.NetworkMode, tc.mode)
		}
		for _, n := range tc.r.Networks {
			if e, ok := c.NetworkSettings.Networks[n.Network]; !ok || e.IPAddress != n.IP || e.Aliases == nil {
				t.Errorf("%s: %s: %+v", tc.name, n.Network, e)
			}
		}
	}
	c := containerJSON{NetworkSettings: networkSettings{Networks: map[string]endpointSettings{}}}
	inspectNetworks(&c, &engine.Container{Networks: []engine.Attachment{{Network: engine.DefaultBridge, IP: "172.17.0.2", Prefix: 16}}})
	if c.NetworkSettings.IPAddress != "172.17.0.2" || c.NetworkSettings.IPPrefixLen != 16 {
		t.Errorf("default bridge: legacy fields %+v", c.NetworkSettings)
	}
}
