package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestConfigOptionsCheck(t *testing.T) {
	tests := []struct {
		o    configOptions
		want string
	}{
		{configOptions{format: "yaml"}, ""},
		{configOptions{format: "json", resolveDigests: true}, ""},
		{configOptions{format: "toml"}, `--format "toml": want yaml or json`},
		{configOptions{format: "yaml", resolveDigests: true, noInterpolate: true}, "--resolve-image-digests cannot be used with --no-interpolate"},
	}
	for _, tt := range tests {
		err := tt.o.check()
		if got := errString(err); got != tt.want {
			t.Errorf("%+v: err %q, want %q", tt.o, got, tt.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestConfigListing(t *testing.T) {
	web := testService("web", "nginx:1", "", "", false)
	web.Profiles = []string{"front", "debug"}
	api := testService("api", "", "", "", true)
	api.Profiles = []string{"debug"}
	p := &types.Project{
		Name:        "shop",
		Services:    types.Services{"web": web, "api": api},
		Volumes:     types.Volumes{"data": {}, "cache": {}},
		Networks:    types.Networks{"front": {}, "back": {}},
		Models:      types.Models{"llm": {Model: "ai/smollm2"}, "bare": {}},
		Environment: types.Mapping{"B": "2", "A": "1"},
	}
	tests := []struct {
		name string
		o    configOptions
		want []string
		ok   bool
	}{
		{"none", configOptions{}, nil, false},
		{"models", configOptions{models: true}, []string{"bare", "ai/smollm2"}, true},
		{"services", configOptions{services: true}, []string{"api", "web"}, true},
		{"volumes", configOptions{volumes: true}, []string{"cache", "data"}, true},
		{"networks", configOptions{networks: true}, []string{"back", "front"}, true},
		{"profiles", configOptions{profiles: true}, []string{"debug", "front"}, true},
		{"images", configOptions{images: true}, []string{"shop-api", "nginx:1"}, true},
		{"environment", configOptions{environment: true}, []string{"A=1", "B=2"}, true},
		{"first flag wins", configOptions{volumes: true, services: true}, []string{"api", "web"}, true},
	}
	for _, tt := range tests {
		got, ok := tt.o.listing(p)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: listing = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRenderProjectEscapesDollar(t *testing.T) {
	web := testService("web", "nginx", "", "", false)
	v := "pa$s"
	web.Environment = types.MappingWithEquals{"PW": &v}
	p := &types.Project{Name: "x", Services: types.Services{"web": web}}
	for _, format := range []string{"yaml", "json"} {
		b, err := renderProject(p, format)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "pa$$s") || strings.Contains(string(b), "pa$s") {
			t.Errorf("%s: $ not escaped:\n%s", format, b)
		}
		if format == "json" && !strings.HasPrefix(string(b), "{") {
			t.Errorf("json output is not JSON:\n%s", b)
		}
	}
}
