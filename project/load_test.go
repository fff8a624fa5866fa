package project

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func fixture(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func load(t *testing.T, o Options) *types.Project {
	t.Helper()
	if o.Environ == nil {
		o.Environ = []string{}
	}
	p, err := Load(context.Background(), o)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

// TestGolden loads every fixture and compares the normalized model with
// testdata/<fixture>/golden.yaml (go test ./project -update rewrites them).
func TestGolden(t *testing.T) {
	envs := map[string][]string{
		"basic": {"WEB_IMAGE=registry.local/web"},
	}
	for _, name := range []string{"basic", "override", "anchors", "longsyntax", "extends", "include", "interp", "envfile", "profiles"} {
		t.Run(name, func(t *testing.T) {
			dir := fixture(t, name)
			env := envs[name]
			if env == nil {
				env = []string{}
			}
			p := load(t, Options{WorkingDir: dir, Environ: env})
			got, err := p.MarshalYAML()
			if err != nil {
				t.Fatal(err)
			}
			got = []byte(strings.ReplaceAll(string(got), dir, "${FIXTURE}"))
			golden := filepath.Join(dir, "golden.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./project -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("model differs from %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

func env(t *testing.T, s types.ServiceConfig, key string) string {
	t.Helper()
	v, ok := s.Environment[key]
	if !ok || v == nil {
		t.Fatalf("service %s: %s not set (env %v)", s.Name, key, s.Environment)
	}
	return *v
}

func TestInterpolation(t *testing.T) {
	p := load(t, Options{WorkingDir: fixture(t, "interp")})
	s := p.Services["app"]
	want := map[string]string{
		"SET":                 "value",
		"UNSET_DEFAULT":       "fallback",
		"EMPTY_COLON_DEFAULT": "fallback",
		"EMPTY_DASH_DEFAULT":  "",
		"UNSET_DASH_DEFAULT":  "fallback",
		"ALT_SET":             "alternate",
		"ALT_UNSET":           "",
		"REQUIRED":            "value",
		"REQUIRED_DASH":       "",
		"DOLLAR":              "$HOME",
		"BRACES":              "pre-value-post",
		"NESTED":              "value",
	}
	for k, v := range want {
		if got := env(t, s, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestOSEnvBeatsDotEnv(t *testing.T) {
	p := load(t, Options{WorkingDir: fixture(t, "interp"), Environ: []string{"SET=from-os"}})
	if got := env(t, p.Services["app"], "SET"); got != "from-os" {
		t.Errorf("SET = %q, want the OS value to win over .env", got)
	}
}

func TestEnvFileFlagReplacesDotEnv(t *testing.T) {
	dir := fixture(t, "interp")
	alt := filepath.Join(t.TempDir(), "alt.env")
	if err := os.WriteFile(alt, []byte("SET=alt\nEMPTY=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := load(t, Options{WorkingDir: dir, EnvFiles: []string{alt}})
	if got := env(t, p.Services["app"], "SET"); got != "alt" {
		t.Errorf("SET = %q, want alt from --env-file", got)
	}
}

func TestOverrideMerge(t *testing.T) {
	p := load(t, Options{WorkingDir: fixture(t, "override")})
	web := p.Services["web"]
	if env(t, web, "A") != "base" || env(t, web, "B") != "override" {
		t.Errorf("environment not merged: %v", web.Environment)
	}
	if len(web.Ports) != 2 {
		t.Errorf("ports = %v, want both files' ports", web.Ports)
	}
	if _, ok := p.Services["extra"]; !ok {
		t.Error("service from compose.override.yaml missing")
	}
	if len(p.ComposeFiles) != 2 {
		t.Errorf("ComposeFiles = %v", p.ComposeFiles)
	}
}

func TestExplicitFilesSkipOverride(t *testing.T) {
	dir := fixture(t, "override")
	p := load(t, Options{WorkingDir: dir, Files: []string{"compose.yaml"}})
	if _, ok := p.Services["extra"]; ok {
		t.Error("-f compose.yaml must not merge compose.override.yaml")
	}
	p = load(t, Options{WorkingDir: dir, Files: []string{"compose.yaml", "compose.override.yaml"}})
	if _, ok := p.Services["extra"]; !ok {
		t.Error("-f a -f b must merge b")
	}
}

func TestComposeFileEnv(t *testing.T) {
	dir := fixture(t, "override")
	p := load(t, Options{WorkingDir: t.TempDir(), Environ: []string{
		"COMPOSE_FILE=" + filepath.Join(dir, "compose.yaml") + ":" + filepath.Join(dir, "compose.override.yaml"),
	}})
	if _, ok := p.Services["extra"]; !ok || p.Name != "override" {
		t.Errorf("COMPOSE_FILE not honoured: services %v, name %q", p.ServiceNames(), p.Name)
	}
}

func TestAnchorsAndMerge(t *testing.T) {
	p := load(t, Options{WorkingDir: fixture(t, "anchors")})
	a, b := p.Services["a"], p.Services["b"]
	if a.Image != "busybox" || b.Restart != "unless-stopped" {
		t.Errorf("anchor not applied: a.image=%q b.restart=%q", a.Image, b.Restart)
	}
	if env(t, b, "LOG_LEVEL") != "debug" || env(t, b, "SHARED") != "yes" || env(t, a, "LOG_LEVEL") != "info" {
		t.Errorf("merge keys wrong: a=%v b=%v", a.Environment, b.Environment)
	}
}

func TestExtendsChain(t *testing.T) {
	p := load(t, Options{WorkingDir: fixture(t, "extends")})
	web, local := p.Services["web"], p.Services["local"]
	if web.Image != "busybox" || env(t, web, "LEVEL") != "web" || env(t, web, "KEEP") != "kept" {
		t.Errorf("web from other-file extends chain wrong: image %q env %v", web.Image, web.Environment)
	}
	if env(t, local, "EXTRA") != "1" || env(t, local, "KEEP") != "kept" || strings.Join(local.Command, " ") != "echo hi" {
		t.Errorf("same-file extends wrong: %v %v", local.Environment, local.Command)
	}
}

func TestIncludeWithOwnDotEnv(t *testing.T) {
	p := load(t, Options{WorkingDir: fixture(t, "include")})
	h, ok := p.Services["helper"]
	if !ok {
		t.Fatal("included service missing")
	}
	if h.Image != "busybox:sub" || env(t, h, "FROM_SUB_ENV") != "from-sub-dotenv" {
		t.Errorf("included file must interpolate with its own .env: image %q env %v", h.Image, h.Environment)
	}
}

func TestEnvFiles(t *testing.T) {
	p := load(t, Options{WorkingDir: fixture(t, "envfile")})
	s := p.Services["app"]
	if env(t, s, "COMMON") != "1" || env(t, s, "QUOTED") != "a b" {
		t.Errorf("env_file not applied: %v", s.Environment)
	}
	if env(t, s, "OVERRIDE") != "from-environment" {
		t.Errorf("environment must beat env_file: %v", s.Environment)
	}
	if env(t, s, "RAW") != "${NOT_INTERPOLATED}" {
		t.Errorf("format: raw must not interpolate: %q", env(t, s, "RAW"))
	}
}

func TestProfiles(t *testing.T) {
	dir := fixture(t, "profiles")
	cases := []struct {
		profiles []string
		environ  []string
		services []string // named on the command line
		want     string
	}{
		{nil, nil, nil, "always"},
		{[]string{"tools"}, nil, nil, "always,tools"},
		{[]string{"debug"}, nil, nil, "always,debug,tools"},
		{[]string{"*"}, nil, nil, "always,debug,tools"},
		{nil, []string{"COMPOSE_PROFILES=tools"}, nil, "always,tools"},
		// naming a disabled service activates all its profiles, as
		// Compose's WithServicesEnabled (tools has tools and debug)
		{nil, nil, []string{"tools"}, "always,debug,tools"},
		{nil, nil, []string{"debug"}, "always,debug,tools"},
		{nil, []string{"COMPOSE_PROFILES=tools"}, []string{"debug"}, "always,debug,tools"},
		{nil, nil, []string{"always", "nosuch"}, "always"},
	}
	for _, c := range cases {
		env := c.environ
		if env == nil {
			env = []string{}
		}
		p := load(t, Options{WorkingDir: dir, Profiles: c.profiles, Environ: env, Services: c.services})
		if got := strings.Join(ServiceNames(p), ","); got != c.want {
			t.Errorf("profiles %v env %v services %v: services %s, want %s", c.profiles, c.environ, c.services, got, c.want)
		}
	}
}

// TestNamedProfiledServiceEnvFile: a service enabled by being named is
// loaded like any other, its env_file read.
func TestNamedProfiledServiceEnvFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("compose.yaml", "services:\n  job:\n    image: busybox\n    profiles: [jobs]\n    env_file: job.env\n")
	write("job.env", "FROM_FILE=yes\n")
	p := load(t, Options{WorkingDir: dir, Services: []string{"job"}})
	s, ok := p.Services["job"]
	if !ok {
		t.Fatalf("job not enabled by being named: %v", ServiceNames(p))
	}
	if env(t, s, "FROM_FILE") != "yes" {
		t.Errorf("env_file of a named profiled service not applied: %v", s.Environment)
	}
}

func TestDiscoveryUpward(t *testing.T) {
	dir := fixture(t, "upward")
	p := load(t, Options{WorkingDir: filepath.Join(dir, "a", "b")})
	if p.Name != "upward" || p.WorkingDir != dir {
		t.Errorf("name %q dir %q, want upward / %s", p.Name, p.WorkingDir, dir)
	}
}

func TestDiscoveryFileNames(t *testing.T) {
	for _, name := range []string{"compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"} {
		dir := filepath.Join(t.TempDir(), "proj")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("services:\n  s:\n    image: busybox\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p := load(t, Options{WorkingDir: dir})
		if _, ok := p.Services["s"]; !ok {
			t.Errorf("%s not discovered", name)
		}
	}
}

func TestProjectName(t *testing.T) {
	dir := fixture(t, "names/My_Odd.Dir")
	if p := load(t, Options{WorkingDir: dir}); p.Name != "my_odddir" {
		t.Errorf("directory name normalized to %q, want my_odddir", p.Name)
	}
	if p := load(t, Options{WorkingDir: dir, Environ: []string{"COMPOSE_PROJECT_NAME=fromenv"}}); p.Name != "fromenv" {
		t.Errorf("COMPOSE_PROJECT_NAME gave %q", p.Name)
	}
	if p := load(t, Options{WorkingDir: dir, ProjectName: "flag-name"}); p.Name != "flag-name" {
		t.Errorf("-p gave %q", p.Name)
	}
	for _, bad := range []string{"Upper", "has space", "-lead", "ünï"} {
		_, err := Load(context.Background(), Options{WorkingDir: dir, ProjectName: bad, Environ: []string{}})
		var ie *InvalidNameError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "invalid project name") {
			t.Errorf("-p %q: err = %v, want invalid project name", bad, err)
		}
	}
}

func TestTopLevelName(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "compose.yaml", "name: ${PREFIX}-stack\nservices:\n  s:\n    image: busybox\n")
	p := load(t, Options{WorkingDir: dir, Environ: []string{"PREFIX=team"}})
	if p.Name != "team-stack" {
		t.Errorf("name = %q, want team-stack", p.Name)
	}
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
