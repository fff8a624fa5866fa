package e2e

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// imageConfig is `berth image inspect REF`'s config and author.
func imageConfig(t *testing.T, e *Env, ref string) (author string, env []string) {
	t.Helper()
	r := e.MustBerth(t, "image", "inspect", ref)
	var v []struct {
		Author string
		Config struct{ Env []string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || len(v) != 1 {
		t.Fatalf("image inspect %s: %v\n%s", ref, err, r)
	}
	return v[0].Author, v[0].Config.Env
}

// Compose: commit_test.go TestCommit.
func TestParityComposeCommit(t *testing.T) {
	e := parityEnv(t, parityExport)
	ref := e.Project + ":latest"
	e.MustBerth(t, "up", "-d", "service")
	expect(t, e, ServiceState("service", "running"))
	e.MustBerth(t, "exec", "service", "sh", "-c", "echo vol > /data/in-volume; until [ -f /made ]; do sleep 0.1; done; rm /bin/printf")
	e.MustBerth(t, "commit", "-a", "John Hannibal Smith <hannibal@a-team.com>", "-c", "ENV DEBUG=true", "-m", "sample commit", "service", ref)
	author, env := imageConfig(t, e, ref)
	if author != "John Hannibal Smith <hannibal@a-team.com>" {
		t.Errorf("author = %q", author)
	}
	if !slices.Contains(env, "DEBUG=true") {
		t.Errorf("env = %v, want DEBUG=true from -c", env)
	}
	expect(t, e, ServiceState("service", "running")) // unpaused after
	out := e.MustBerth(t, "container", "run", "--rm", ref, "sh", "-c", "cat /made; ls /data; [ -e /bin/printf ] && echo printf-still-there; true").Stdout
	if !strings.Contains(out, "made-here") {
		t.Errorf("the committed image lacks the container's /made:\n%s", out)
	}
	if strings.Contains(out, "in-volume") {
		t.Errorf("the committed image holds the volume's file:\n%s", out)
	}
	if strings.Contains(out, "printf-still-there") {
		t.Errorf("a file the container deleted is back in the committed image:\n%s", out)
	}
	if r := e.Berth(t, "commit", "-c", "RUN rm -rf /", "service", ref); r.Code == 0 || !strings.Contains(r.Stderr, "not a valid change command") {
		t.Errorf("commit -c RUN: want it refused:\n%s", r)
	}
}

// Compose: commit_test.go TestCommitWithReplicas.
func TestParityComposeCommitWithReplicas(t *testing.T) {
	e := parityEnv(t, parityExport)
	e.MustBerth(t, "up", "-d", "service-with-replicas")
	expect(t, e, ServiceScale("service-with-replicas", 3))
	for _, i := range []string{"1", "2"} {
		ref := e.Project + ":" + i
		e.MustBerth(t, "exec", "--index", i, "service-with-replicas", "sh", "-c", "echo "+i+" > /replica")
		e.MustBerth(t, "commit", "-m", "sample commit", "--index="+i, "service-with-replicas", ref)
		if out := e.MustBerth(t, "container", "run", "--rm", ref, "cat", "/replica").Stdout; out != i+"\n" {
			t.Errorf("commit --index=%s: /replica = %q, want %q", i, out, i+"\n")
		}
	}
}
