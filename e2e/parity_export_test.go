package e2e

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// parityExport is Compose's fixtures/export/compose.yaml (and commit's).
const parityExport = `services:
  service:
    image: alpine
    command: sh -c 'echo made-here > /made && sleep 30'
    volumes:
      - data:/data
  service-with-replicas:
    image: alpine
    command: sh -c 'sleep 30'
    deploy:
      replicas: 3
volumes:
  data:
`

// tarNames lists the entries of a tar file, with the contents of the
// regular files.
func tarNames(t *testing.T, file string) map[string]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = string(b)
	}
}

// Compose: export_test.go TestExport.
func TestParityComposeExport(t *testing.T) {
	e := parityEnv(t, parityExport)
	e.MustBerth(t, "up", "-d", "service")
	expect(t, e, ServiceState("service", "running"))
	e.MustBerth(t, "exec", "service", "sh", "-c", "echo vol > /data/in-volume; until [ -f /made ]; do sleep 0.1; done")
	out := filepath.Join(t.TempDir(), "service.tar")
	e.MustBerth(t, "export", "-o", out, "service")
	names := tarNames(t, out)
	if _, ok := names["bin/busybox"]; !ok {
		t.Errorf("bin/busybox missing from the export (%d entries)", len(names))
	}
	if names["made"] != "made-here\n" {
		t.Errorf("/made, written by the container, = %q in the export", names["made"])
	}
	if _, ok := names["data/in-volume"]; ok {
		t.Error("the export holds a volume's file; docker export leaves volumes out")
	}
	if r := e.Berth(t, "export", "-o", out, "nosuch"); r.Code == 0 {
		t.Errorf("export of an unknown service succeeded:\n%s", r)
	}
}

// Compose: export_test.go TestExportWithReplicas.
func TestParityComposeExportWithReplicas(t *testing.T) {
	e := parityEnv(t, parityExport)
	e.MustBerth(t, "up", "-d", "service-with-replicas")
	expect(t, e, ServiceScale("service-with-replicas", 3))
	dir := t.TempDir()
	for _, i := range []string{"1", "2"} {
		e.MustBerth(t, "exec", "--index", i, "service-with-replicas", "sh", "-c", "echo "+i+" > /replica")
		out := filepath.Join(dir, "r"+i+".tar")
		e.MustBerth(t, "export", "-o", out, "--index="+i, "service-with-replicas")
		if got := tarNames(t, out)["replica"]; got != i+"\n" {
			t.Errorf("export --index=%s: /replica = %q, want the replica's own %q", i, got, i+"\n")
		}
	}
	if r := e.Berth(t, "export", "-o", filepath.Join(dir, "r9.tar"), "--index=9", "service-with-replicas"); r.Code == 0 {
		t.Errorf("export --index=9 of a 3-replica service succeeded:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "r9.tar")); err == nil {
		t.Error("a failed export left its output file")
	}
}
