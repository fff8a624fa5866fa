package project

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/names"
)

// TestNamesRefused: every name that becomes a path is refused at load,
// naming the key, the file and the line that set it.
func TestNamesRefused(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"container_name", "services:\n  a:\n    image: x\n    container_name: ../../xy\n", `compose.yaml:4: service "a": container_name: container name "../../xy"`},
		{"volume name", "services:\n  a: {image: x}\nvolumes:\n  v:\n    name: ../../v\n", `compose.yaml:5: volumes.v.name: volume name "../../v"`},
		{"config key", "services:\n  a: {image: x}\nconfigs:\n  \"..\": {content: x}\n", `compose.yaml:4: configs."..": config name ".."`},
		{"secret key", "services:\n  a: {image: x}\nsecrets:\n  \".\": {environment: X}\n", `compose.yaml:4: secrets.".": secret name "."`},
		{"external volume", "services:\n  a: {image: x}\nvolumes:\n  v: {external: true, name: a/b}\n", `volumes.v.name: volume name "a/b"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			f := write(t, dir, "compose.yaml", c.yaml)
			_, err := Load(context.Background(), Options{WorkingDir: dir, ProjectName: "p", Environ: []string{}})
			if err == nil {
				t.Fatal("loaded")
			}
			if !errors.Is(err, names.ErrInvalid) {
				t.Errorf("error does not wrap names.ErrInvalid: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), filepath.Dir(f)) {
				t.Errorf("got  %v\nwant %s in %s", err, c.want, f)
			}
		})
	}
}

// TestNamesOverrideFile: a name set in an override file is blamed on it.
func TestNamesOverrideFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "compose.yaml", "services:\n  a:\n    image: x\n")
	o := write(t, dir, "compose.override.yaml", "services:\n  a:\n    container_name: x/yz\n")
	_, err := Load(context.Background(), Options{WorkingDir: dir, ProjectName: "p", Environ: []string{}})
	if err == nil || !strings.Contains(err.Error(), o+":3:") {
		t.Errorf("error does not name %s line 3: %v", o, err)
	}
}

// TestNamesAccepted: Docker-valid names load.
func TestNamesAccepted(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "compose.yaml", "services:\n  a:\n    image: x\n    container_name: my-app.1_x\nvolumes:\n  v: {name: data.v1}\nconfigs:\n  .env: {content: x}\n")
	load(t, Options{WorkingDir: dir, ProjectName: "p"})
}
