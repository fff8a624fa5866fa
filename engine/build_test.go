package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/project"
)

// TestBuildJobs: services sharing an image build once; a service whose
// Dockerfile FROMs another's image or names it as a service: context
// waits for it; build.secrets, build.ssh and additional_contexts become
// the builder's options; a named build network is refused naming the
// service and network.
func TestBuildJobs(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "id_key")
	for p, body := range map[string]string{
		"base/Dockerfile": "FROM busybox\n",
		"app/Dockerfile":  "FROM bj-base\n",
		"tool/Dockerfile": "FROM busybox\nCOPY --from=lib / /\n",
		"secret.txt":      "s",
		"id_key":          "k",
		"extra/f":         "f",
		"compose.yaml": `
services:
  base: {build: ./base}
  base2: {image: bj-base, build: ./base}
  app:
    build:
      context: ./app
      secrets: [fromfile, {source: fromenv, target: token}]
      ssh: ["gh=./id_key"]
  tool:
    build:
      context: ./tool
      additional_contexts: {lib: "service:app", dir: ./extra, img: "docker-image://busybox"}
secrets:
  fromfile: {file: ./secret.txt}
  fromenv: {environment: BJ_TOKEN}
`,
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := project.Load(t.Context(), project.Options{WorkingDir: dir, ProjectName: "bj", Environ: []string{"BJ_TOKEN=tok-value"}})
	if err != nil {
		t.Fatal(err)
	}
	p.Services["base"] = withImage(p.Services["base"], "bj-base")
	jobs, err := buildJobs(p, []string{"app", "base", "base2", "tool"}, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*build.Job{}
	for _, j := range jobs {
		got[j.Image] = j
	}
	if len(jobs) != 3 || strings.Join(got["bj-base"].Services, ",") != "base,base2" {
		t.Fatalf("jobs: %d, bj-base for %v; want 3, base and base2 sharing one", len(jobs), got["bj-base"])
	}
	if n := strings.Join(got["bj-app"].Needs, ","); n != "bj-base" {
		t.Errorf("app needs %q, want bj-base (its FROM)", n)
	}
	if n := strings.Join(got["bj-tool"].Needs, ","); n != "bj-app" {
		t.Errorf("tool needs %q, want bj-app (service:app context)", n)
	}
	o := got["bj-app"].Options
	if s := o.Secrets["fromfile"]; s.File != filepath.Join(dir, "secret.txt") {
		t.Errorf("file secret: %+v", s)
	}
	if s := o.Secrets["token"]; string(s.Value) != "tok-value" {
		t.Errorf("environment secret by its target id: %+v", o.Secrets)
	}
	if s := o.SSH["gh"]; len(s.Keys) != 1 || s.Keys[0] != key {
		t.Errorf("ssh: %+v", o.SSH)
	}
	c := got["bj-tool"].Options.Contexts
	if c["lib"] != "docker-image://bj-app" || c["dir"] != filepath.Join(dir, "extra") || c["img"] != "docker-image://busybox" {
		t.Errorf("contexts: %v", c)
	}

	p.Environment = map[string]string{}
	t.Setenv("BJ_TOKEN", "")
	os.Unsetenv("BJ_TOKEN")
	if jobs, err := buildJobs(p, []string{"app"}, BuildOptions{}); err != nil {
		t.Errorf("unset secret variable: %v, want the secret left out", err)
	} else if _, ok := jobs[0].Options.Secrets["token"]; ok {
		t.Error("a secret whose variable is unset was provided")
	}

	svc := p.Services["app"]
	svc.Build.Network = "backend"
	p.Services["app"] = svc
	_, err = buildJobs(p, []string{"app"}, BuildOptions{})
	if err == nil || !strings.Contains(err.Error(), `service "app"`) || !strings.Contains(err.Error(), `"backend"`) {
		t.Errorf("named build network: %v, want an error naming app and backend", err)
	}
}

func withImage(s types.ServiceConfig, img string) types.ServiceConfig {
	s.Image = img
	return s
}
