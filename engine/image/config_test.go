package image

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.yaml")
	os.WriteFile(p, []byte(`
network: {pool: 10.0.0.0/16}
registry:
  mirrors:
    docker.io: ["127.0.0.1:5000", "http://mirror.lan:80/hub"]
    ghcr.io: [mirror.example]
  insecure: ["myhost:5000"]
`), 0o644)
	t.Setenv(EnvMirrors, "")
	t.Setenv(EnvInsecure, "")
	cfg, err := LoadConfig(filepath.Join(dir, "missing.yaml"), p)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.MirrorsFor("index.docker.io"); !reflect.DeepEqual(got, []string{"127.0.0.1:5000", "mirror.lan:80/hub"}) {
		t.Errorf("docker.io mirrors = %v", got)
	}
	if got := cfg.MirrorsFor("ghcr.io"); !reflect.DeepEqual(got, []string{"mirror.example"}) {
		t.Errorf("ghcr.io mirrors = %v", got)
	}
	for reg, want := range map[string]bool{
		"myhost:5000": true, "mirror.lan:80": true, "localhost:5000": true, "127.0.0.1:5000": true,
		"127.1.2.3": true, "[::1]:5000": true, "docker.io": false, "myhost:5001": false, "10.0.0.1:5000": false,
	} {
		if cfg.IsInsecure(reg) != want {
			t.Errorf("IsInsecure(%q) = %v, want %v", reg, !want, want)
		}
	}

	t.Setenv(EnvMirrors, "docker.io=127.0.0.1:6000, other.io=h:1,docker.io=127.0.0.1:6001")
	t.Setenv(EnvInsecure, "a:1,b:2")
	cfg, err = LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.MirrorsFor("docker.io"); !reflect.DeepEqual(got, []string{"127.0.0.1:6000", "127.0.0.1:6001"}) {
		t.Errorf("env docker.io mirrors = %v (env replaces the file's)", got)
	}
	if got := cfg.MirrorsFor("ghcr.io"); len(got) != 1 {
		t.Errorf("ghcr.io mirrors = %v, want the file's", got)
	}
	if !cfg.IsInsecure("a:1") || !cfg.IsInsecure("b:2") || !cfg.IsInsecure("myhost:5000") {
		t.Errorf("insecure = %v", cfg.Insecure)
	}

	t.Setenv(EnvMirrors, "docker.io")
	if _, err := LoadConfig(p); err == nil {
		t.Error("bad BERTH_REGISTRY_MIRRORS accepted")
	}
	t.Setenv(EnvMirrors, "")
	os.WriteFile(p, []byte("registry: [oops"), 0o644)
	if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("bad YAML: %v, want an error naming %s", err, p)
	}
}

func TestLoadConfigDefaultPaths(t *testing.T) {
	root := t.TempDir()
	t.Setenv("BERTH_ROOT", root)
	t.Setenv(EnvMirrors, "")
	t.Setenv(EnvInsecure, "")
	os.WriteFile(filepath.Join(root, "config.yaml"), []byte("registry: {mirrors: {docker.io: [127.0.0.1:5000]}}\n"), 0o644)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.MirrorsFor("docker.io"); !reflect.DeepEqual(got, []string{"127.0.0.1:5000"}) {
		t.Errorf("mirrors from $BERTH_ROOT/config.yaml = %v", got)
	}
}
