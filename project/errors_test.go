package project

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput covers every bad input the loader must explain: each case
// must fail, and the message must name what is at fault.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		opts    Options
		want    []string // substrings the message must contain
		wantErr error    // optional errors.Is target
	}{
		{
			name:    "no compose file",
			files:   map[string]string{"README": "nothing here"},
			want:    []string{"no compose file found in", "compose.yaml", "docker-compose.yml"},
			wantErr: ErrNoFile,
		},
		{
			name:  "missing -f file",
			files: map[string]string{"compose.yaml": "services: {}\n"},
			opts:  Options{Files: []string{"nope.yaml"}},
			want:  []string{"nope.yaml", "no such file"},
		},
		{
			name:  "yaml syntax error",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: busybox\n   bad: x\n"},
			want:  []string{"compose.yaml:4:", "YAML syntax error", "did not find expected key"},
		},
		{
			name:  "yaml syntax error in override",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: busybox\n", "compose.override.yaml": "services:\n  web:\n    environment: [\n"},
			want:  []string{"compose.override.yaml", "YAML syntax error"},
		},
		{
			name:  "unknown top-level key",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: busybox\nservics:\n  x: {}\n"},
			want:  []string{"compose.yaml:4:", `unknown top-level key "servics"`},
		},
		{
			name:  "unknown service key",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: busybox\n    portz: [\"80\"]\n"},
			want:  []string{"compose.yaml:4:", `unknown key "portz"`, `service "web"`},
		},
		{
			name:  "wrong type",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: busybox\n    ports:\n      http: 80\n"},
			want:  []string{"compose.yaml:4:", `service "web": ports`, "wrong type", "array"},
		},
		{
			name:  "missing required variable",
			files: map[string]string{"compose.yaml": "services:\n  db:\n    image: busybox\n    environment:\n      PASSWORD: ${DB_PASSWORD:?set it in .env}\n"},
			want:  []string{"compose.yaml:5:", "DB_PASSWORD", "set it in .env", `service "db"`},
		},
		{
			name:  "env_file missing",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: busybox\n    env_file: [missing.env]\n"},
			want:  []string{"missing.env"},
		},
		{
			name:  "invalid project name",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: busybox\n"},
			opts:  Options{ProjectName: "Bad Name!"},
			want:  []string{`invalid project name "Bad Name!"`, "lowercase"},
		},
		{
			name:  "invalid top-level name",
			files: map[string]string{"compose.yaml": "name: \"!!!\"\nservices:\n  web:\n    image: busybox\n"},
			want:  []string{"project name"},
		},
		{
			name:  "dependency cycle",
			files: map[string]string{"compose.yaml": "services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [c]\n  c:\n    image: busybox\n    depends_on: [a]\n"},
			want:  []string{"cycle", "a", "b", "c"},
		},
		{
			name:  "depends_on undefined service",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: busybox\n    depends_on: [db]\n"},
			want:  []string{`service "web" depends on undefined service "db"`},
		},
		{
			name:  "container_name with replicas",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: busybox\n    container_name: fixed\n    deploy:\n      replicas: 3\n"},
			want:  []string{`service "web"`, `container_name "fixed"`, "3 replicas"},
		},
		{
			name:  "container_name with scale",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: busybox\n    container_name: fixed\n    scale: 2\n"},
			want:  []string{`container_name "fixed"`, "2 replicas"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range c.files {
				write(t, dir, name, content)
			}
			o := c.opts
			o.WorkingDir = dir
			o.Environ = []string{}
			_, err := Load(context.Background(), o)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			msg := err.Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Errorf("errors.Is(%v, %v) = false", err, c.wantErr)
			}
			if strings.Contains(msg, "goroutine ") || strings.Contains(msg, ".go:") {
				t.Errorf("error looks like a stack trace: %q", msg)
			}
		})
	}
}

func TestOptionalDependencyDropped(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "compose.yaml", "services:\n  web:\n    image: busybox\n    depends_on:\n      db:\n        condition: service_started\n        required: false\n  db:\n    image: busybox\n    profiles: [data]\n")
	p := load(t, Options{WorkingDir: dir})
	deps, err := Dependencies(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(deps["web"]) != 0 {
		t.Errorf("optional missing dependency kept: %v", deps["web"])
	}
}

func TestDisabledDependencyNamesProfile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "compose.yaml", "services:\n  web:\n    image: busybox\n    depends_on: [db]\n  db:\n    image: busybox\n    profiles: [data]\n")
	_, err := Load(context.Background(), Options{WorkingDir: dir, Environ: []string{}})
	if err == nil {
		// compose-go enables a disabled dependency of an enabled service
		// (as docker compose does); then db must be in the project.
		p := load(t, Options{WorkingDir: dir})
		if _, ok := p.Services["db"]; !ok {
			t.Fatalf("web depends on profile-disabled db: no error and db not enabled (%v)", ServiceNames(p))
		}
		return
	}
	if !strings.Contains(err.Error(), "db") {
		t.Errorf("error %q does not name db", err)
	}
}

func TestDependencies(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "compose.yaml", `services:
  db: {image: busybox}
  cache: {image: busybox}
  vol: {image: busybox}
  net: {image: busybox}
  web:
    image: busybox
    depends_on:
      db: {condition: service_healthy, restart: true}
    links: ["cache:redis"]
    volumes_from: ["vol:ro", "container:other"]
    ipc: "service:net"
`)
	p := load(t, Options{WorkingDir: dir})
	deps, err := Dependencies(p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range deps["web"] {
		got = append(got, d.On+"/"+d.Kind+"/"+d.Condition)
	}
	want := "cache/links/service_started db/depends_on/service_healthy net/ipc/service_started vol/volumes_from/service_started"
	if strings.Join(got, " ") != want {
		t.Errorf("deps = %v\nwant %s", got, want)
	}
	if !deps["web"][1].Restart {
		t.Error("restart: true lost")
	}
	_ = filepath.Join
}
