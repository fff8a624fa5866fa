package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// TestFileMountsNoFollow: a config written into the container's dir
// replaces whatever is at its name (here a symlink to a host file) instead
// of writing through it, with the mode asked for.
func TestFileMountsNoFollow(t *testing.T) {
	dir, host := t.TempDir(), filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(host, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "configs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, filepath.Join(dir, "configs", "app")); err != nil {
		t.Fatal(err)
	}
	mode := types.FileMode(0o440)
	p := &types.Project{Configs: types.Configs{"app": {Content: "from compose\n"}}}
	svc := types.ServiceConfig{Name: "web"}
	svc.Configs = []types.ServiceConfigObjConfig{{Source: "app", Mode: &mode}}
	mounts, err := fileMounts(p, svc, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(host); string(got) != "host\n" {
		t.Fatalf("the config was written through a symlink to the host: %q", got)
	}
	src := filepath.Join(dir, "configs", "app")
	if len(mounts) != 1 || mounts[0].Source != src || mounts[0].Destination != "/app" {
		t.Fatalf("mounts = %+v", mounts)
	}
	fi, err := os.Lstat(src)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o440 {
		t.Fatalf("config file: %v, %v; want a regular 0440 file", fi.Mode(), err)
	}
}
