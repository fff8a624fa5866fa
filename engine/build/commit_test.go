package build

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

func TestApplyChanges(t *testing.T) {
	cfg := v1.Config{Env: []string{"PATH=/bin", "DEBUG=false"}, Cmd: []string{"sh"}, WorkingDir: "/app"}
	err := ApplyChanges(&cfg, []string{
		"ENV DEBUG=true", `LABEL a=b`, "EXPOSE 80", "USER nobody", "WORKDIR sub",
		`CMD ["top"]`, "ENTRYPOINT echo hi", "VOLUME /data", "STOPSIGNAL SIGTERM",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Env, []string{"PATH=/bin", "DEBUG=true"}) {
		t.Errorf("Env = %v", cfg.Env)
	}
	if cfg.Labels["a"] != "b" || cfg.User != "nobody" || cfg.WorkingDir != "/app/sub" || cfg.StopSignal != "SIGTERM" {
		t.Errorf("config = %+v", cfg)
	}
	if _, ok := cfg.ExposedPorts["80/tcp"]; !ok {
		t.Errorf("ExposedPorts = %v", cfg.ExposedPorts)
	}
	if _, ok := cfg.Volumes["/data"]; !ok {
		t.Errorf("Volumes = %v", cfg.Volumes)
	}
	if !slices.Equal(cfg.Cmd, []string{"top"}) || !slices.Equal(cfg.Entrypoint, []string{"/bin/sh", "-c", "echo hi"}) {
		t.Errorf("Cmd = %v, Entrypoint = %v", cfg.Cmd, cfg.Entrypoint)
	}
	for _, bad := range []string{"RUN rm -rf /", "COPY a b", "FROM x", "ADD a b"} {
		err := ApplyChanges(&cfg, []string{bad})
		if err == nil || !strings.Contains(err.Error(), "not a valid change command") {
			t.Errorf("%q: err = %v, want it refused", bad, err)
		}
	}
}

func TestUpperLayer(t *testing.T) {
	upper := t.TempDir()
	if l, err := UpperLayer(context.Background(), upper, t.TempDir()); err != nil || l != nil {
		t.Fatalf("empty upper: layer %v, err %v; want none", l, err)
	}
	if err := os.WriteFile(filepath.Join(upper, "new"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// an overlay whiteout: a 0/0 character device
	if err := unix.Mknod(filepath.Join(upper, "gone"), unix.S_IFCHR|0o600, 0); err != nil {
		t.Skipf("mknod: %v (needs root)", err)
	}
	l, err := UpperLayer(context.Background(), upper, t.TempDir())
	if err != nil || l == nil {
		t.Fatalf("layer %v, err %v", l, err)
	}
	names := layerNames(t, l)
	if !slices.Contains(names, "new") || !slices.Contains(names, ".wh.gone") {
		t.Errorf("layer entries %v, want new and .wh.gone", names)
	}
}

// layerNames lists a layer's tar entries.
func layerNames(t *testing.T, l v1.Layer) []string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var names []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}
