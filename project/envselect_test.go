package project

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A missing env_file fails only the commands that act on its service
// (Compose's TestUnusedMissingEnvFile): Load resolves the environment of
// the named services and their dependencies, and names the service whose
// file is missing.
func TestLoadResolvesNamedServicesEnvOnly(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(`services:
  a:
    image: alpine
    env_file: a.env
    depends_on: [dep]
  dep:
    image: alpine
    env_file: dep.env
  broken:
    image: alpine
    env_file: /doesnotexist/.env
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for f, v := range map[string]string{"a.env": "A=1", "dep.env": "DEP=2"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	load := func(o Options) error {
		o.WorkingDir, o.Environ = dir, []string{}
		_, err := Load(ctx, o)
		return err
	}
	p, err := Load(ctx, Options{WorkingDir: dir, Environ: []string{}, Services: []string{"a"}})
	if err != nil {
		t.Fatalf("load for a: %v", err)
	}
	if v := p.Services["a"].Environment["A"]; v == nil || *v != "1" {
		t.Errorf("a's env_file not resolved: %v", p.Services["a"].Environment)
	}
	if v := p.Services["dep"].Environment["DEP"]; v == nil || *v != "2" {
		t.Errorf("dependency's env_file not resolved: %v", p.Services["dep"].Environment)
	}
	if err := load(Options{EnvServices: []string{"dep"}}); err != nil {
		t.Errorf("EnvServices dep: %v", err)
	}
	if err := load(Options{NoEnvResolution: true}); err != nil {
		t.Errorf("NoEnvResolution: %v", err)
	}
	for _, o := range []Options{{}, {Services: []string{"broken"}}, {EnvServices: []string{"*"}}} {
		err := load(o)
		if err == nil || !strings.Contains(err.Error(), `service "broken"`) || !strings.Contains(err.Error(), "env file /doesnotexist/.env not found") {
			t.Errorf("%+v: %v, want the missing env file of service broken", o, err)
		}
	}
}
