package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestExport(t *testing.T) {
	root := t.TempDir()
	host := t.TempDir()
	secret := filepath.Join(host, "secret")
	must(t, os.WriteFile(secret, []byte("host secret"), 0o600))
	must(t, os.MkdirAll(filepath.Join(root, "etc/sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("box\n"), 0o644))
	must(t, os.Link(filepath.Join(root, "etc/hostname"), filepath.Join(root, "etc/sub/again")))
	// planted by the container: links that lead out of its root
	must(t, os.Symlink(secret, filepath.Join(root, "etc/leak")))
	must(t, os.Symlink(host, filepath.Join(root, "hostdir")))
	must(t, unix.Mkfifo(filepath.Join(root, "fifo"), 0o644))

	dir, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY, 0)
	must(t, err)
	defer dir.Close()
	var buf bytes.Buffer
	must(t, Export(context.Background(), dir, &buf))

	got := map[string]*tar.Header{}
	data := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		got[h.Name] = h
		b, _ := io.ReadAll(tr)
		data[h.Name] = string(b)
	}
	for name, typ := range map[string]byte{
		"etc/": tar.TypeDir, "etc/sub/": tar.TypeDir, "etc/hostname": tar.TypeReg,
		"etc/sub/again": tar.TypeLink, "etc/leak": tar.TypeSymlink, "hostdir": tar.TypeSymlink, "fifo": tar.TypeFifo,
	} {
		h := got[name]
		if h == nil {
			t.Errorf("%s: missing from the archive (have %v)", name, keys(got))
			continue
		}
		if h.Typeflag != typ {
			t.Errorf("%s: type %c, want %c", name, h.Typeflag, typ)
		}
	}
	if data["etc/hostname"] != "box\n" {
		t.Errorf("etc/hostname = %q", data["etc/hostname"])
	}
	if h := got["etc/sub/again"]; h != nil && h.Linkname != "etc/hostname" {
		t.Errorf("hard link to %q, want etc/hostname", h.Linkname)
	}
	if h := got["etc/leak"]; h != nil && h.Linkname != secret {
		t.Errorf("symlink target %q, want %q", h.Linkname, secret)
	}
	for name, d := range data {
		if d == "host secret" {
			t.Errorf("%s: the host file a planted symlink points at was read into the archive", name)
		}
	}
	if _, ok := got["hostdir/secret"]; ok {
		t.Error("the walk followed a symlinked directory out of the root")
	}
}

func keys[M ~map[string]V, V any](m M) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
