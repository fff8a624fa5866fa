package engine

import (
	"strings"
	"testing"
)

func TestStandaloneProject(t *testing.T) {
	o := &StandaloneOptions{Name: "web", Volumes: []string{"data"}, Remove: true}
	o.Service.Image = "busybox"
	p, err := standaloneProject(o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Name, standaloneProjectPrefix) || len(p.Services) != 1 {
		t.Fatalf("project %q with %d services", p.Name, len(p.Services))
	}
	svc := p.Services[StandaloneService]
	if svc.ContainerName != "web" || svc.Labels[LabelStandalone] != "true" || svc.Labels["dev.berth.autoremove"] != "true" {
		t.Errorf("service: name %q labels %v", svc.ContainerName, svc.Labels)
	}
	if n, ok := p.Networks[defaultBridgeKey]; !ok || n.Name != DefaultBridge || !bool(n.External) || len(p.Networks) != 1 {
		t.Errorf("default network: %v, want only %s (external: Down leaves it to releaseDefaultBridge)", p.Networks, DefaultBridge)
	}
	if _, ok := svc.Networks[defaultBridgeKey]; !ok || len(svc.Networks) != 1 {
		t.Errorf("service networks: %v, want the default bridge", svc.Networks)
	}
	if v := p.Volumes["data"]; v.Name != "data" || !bool(v.External) {
		t.Errorf("named volume: %+v, want data, external", v)
	}

	o = &StandaloneOptions{Networks: []string{"shared"}}
	p, _ = standaloneProject(o)
	if !strings.HasPrefix(o.Name, "berth_") {
		t.Errorf("generated name %q", o.Name)
	}
	if n := p.Networks["shared"]; n.Name != "shared" || !bool(n.External) {
		t.Errorf("--network shared: %+v", n)
	}
	if _, ok := p.Networks[defaultBridgeKey]; ok {
		t.Errorf("--network shared still has the default bridge")
	}

	o = &StandaloneOptions{Networks: []string{"shared"}, Aliases: []string{"db"}, IP: "10.1.2.3"}
	p, _ = standaloneProject(o)
	if cfg := p.Services[StandaloneService].Networks["shared"]; cfg == nil || cfg.Ipv4Address != "10.1.2.3" || len(cfg.Aliases) != 1 || cfg.Aliases[0] != "db" {
		t.Errorf("--network shared --ip --network-alias: %+v", cfg)
	}
	for _, o := range []*StandaloneOptions{{Aliases: []string{"db"}}, {IP: "10.1.2.3"}} {
		if _, err := standaloneProject(o); err == nil || !strings.Contains(err.Error(), "user defined networks") {
			t.Errorf("alias/ip on the default bridge (%+v): %v, want Docker's refusal", o, err)
		}
	}

	o = &StandaloneOptions{Foreground: true, Remove: true}
	o.Service.NetworkMode = "host"
	p, _ = standaloneProject(o)
	svc = p.Services[StandaloneService]
	if svc.Networks != nil || len(p.Networks) != 0 || svc.Labels["dev.berth.autoremove"] != "" {
		t.Errorf("host network, foreground --rm: networks %v %v, labels %v", svc.Networks, p.Networks, svc.Labels)
	}
}

func TestWithoutInit(t *testing.T) {
	if got := withoutInit([]string{"/.berth/init", "__init", "--", "sleep", "1"}); strings.Join(got, " ") != "sleep 1" {
		t.Errorf("withoutInit: %q", got)
	}
	if got := withoutInit([]string{"sleep", "1"}); strings.Join(got, " ") != "sleep 1" {
		t.Errorf("withoutInit without init: %q", got)
	}
}
