package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestParseGpus(t *testing.T) {
	for _, c := range []struct {
		in    string
		count types.DeviceCount
		ids   []string
		err   string
	}{
		{in: "all", count: -1},
		{in: "2", count: 2},
		{in: `"device=0,1"`, ids: []string{"0", "1"}},
		{in: "device=GPU-abc", ids: []string{"GPU-abc"}},
		{in: "count=all,capabilities=compute", count: -1},
		{in: "0", err: "count"},
		{in: "colour=red", err: "unknown option"},
		{in: "count=1,device=0", err: "exclusive"},
	} {
		dr, err := parseGpus(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseGpus(%q): %v, want an error with %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || dr.Count != c.count || !reflect.DeepEqual(dr.IDs, c.ids) {
			t.Errorf("parseGpus(%q) = %+v, %v; want count %d ids %v", c.in, dr, err, c.count, c.ids)
		}
	}
}

func TestValidRestart(t *testing.T) {
	for _, ok := range []string{"no", "always", "unless-stopped", "on-failure", "on-failure:3"} {
		if err := validRestart(ok); err != nil {
			t.Errorf("validRestart(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "sometimes", "always:2", "on-failure:x", "on-failure:-1"} {
		if err := validRestart(bad); err == nil || !strings.Contains(err.Error(), "--restart") {
			t.Errorf("validRestart(%q): %v, want an error naming --restart", bad, err)
		}
	}
}

func TestParseMount(t *testing.T) {
	vc, err := parseMount("type=bind,src=data,dst=/d,readonly", "/work")
	if err != nil || vc.Source != "/work/data" || vc.Target != "/d" || !vc.ReadOnly || vc.Type != "bind" {
		t.Errorf("bind: %+v, %v", vc, err)
	}
	vc, err = parseMount("source=v1,target=/v", "/")
	if err != nil || vc.Type != "volume" || vc.Source != "v1" {
		t.Errorf("volume: %+v, %v", vc, err)
	}
	for _, bad := range []string{"type=bind,target=/x", "source=v1", "type=nfs,target=/x", "target=/x,colour=red"} {
		if _, err := parseMount(bad, "/"); err == nil {
			t.Errorf("parseMount(%q): want an error", bad)
		}
	}
}

func TestRunFlagsService(t *testing.T) {
	o := runFlags{
		restart: "on-failure:2", network: "none", publish: []string{"127.0.0.1:8080:80/udp"},
		env: []string{"A=1"}, volumes: []string{"named:/n:ro", "/h:/c"}, labels: []string{"k=v"},
		entrypoint: "", entrypointSet: true, init: true, readOnly: true, gpus: "all",
	}
	o.more.set = func(string) bool { return false }
	svc, so, err := o.service([]string{"img", "run", "--fast"})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Image != "img" || !reflect.DeepEqual([]string(svc.Command), []string{"run", "--fast"}) {
		t.Errorf("image/command: %q %q", svc.Image, svc.Command)
	}
	if svc.Entrypoint == nil || len(svc.Entrypoint) != 0 {
		t.Errorf("--entrypoint \"\" should clear the image's: %#v", svc.Entrypoint)
	}
	if svc.NetworkMode != "none" || svc.Restart != "on-failure:2" || svc.Init == nil || !*svc.Init || !svc.ReadOnly {
		t.Errorf("network/restart/init/read-only: %+v", svc)
	}
	if len(svc.Ports) != 1 || svc.Ports[0].HostIP != "127.0.0.1" || svc.Ports[0].Protocol != "udp" {
		t.Errorf("ports: %+v", svc.Ports)
	}
	if v := svc.Environment["A"]; v == nil || *v != "1" {
		t.Errorf("env: %v", svc.Environment)
	}
	if len(svc.Volumes) != 2 || !svc.Volumes[0].ReadOnly || !reflect.DeepEqual(so.Volumes, []string{"named"}) {
		t.Errorf("volumes: %+v, named %v", svc.Volumes, so.Volumes)
	}
	if svc.Labels["k"] != "v" || len(svc.Gpus) != 1 || svc.Gpus[0].Count != -1 {
		t.Errorf("labels/gpus: %v %+v", svc.Labels, svc.Gpus)
	}
	o = runFlags{restart: "no", network: "mynet"}
	o.more.set = func(string) bool { return false }
	if _, so, err := o.service([]string{"img"}); err != nil || !reflect.DeepEqual(so.Networks, []string{"mynet"}) {
		t.Errorf("--network mynet: %v, %v", so.Networks, err)
	}
}
