package testimages

import (
	"archive/tar"
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// entries reads a layer's tar entries, with regular files' content.
func entries(t *testing.T, l v1.Layer) (map[string]*tar.Header, map[string][]byte) {
	return layerEntries(t, l, math.MaxInt64)
}

// layerEntries reads a layer's tar entries (each name at most once), with
// the content of its regular files of up to maxBody bytes.
func layerEntries(t *testing.T, l v1.Layer, maxBody int64) (map[string]*tar.Header, map[string][]byte) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	hdrs := map[string]*tar.Header{}
	bodies := map[string][]byte{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		if _, dup := hdrs[name]; dup {
			t.Errorf("%s: twice in the layer", name)
		}
		hdrs[name] = h
		if h.Typeflag == tar.TypeReg && h.Size <= maxBody {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			bodies[name] = b
		}
	}
	return hdrs, bodies
}

func TestBusyboxLayers(t *testing.T) {
	img, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("invalid image: %v", err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("busybox has %d layers, want 2", len(layers))
	}

	hdrs, bodies := entries(t, layers[0])
	host, err := os.ReadFile(BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := bodies["bin/busybox"]; string(got) != string(host) {
		t.Errorf("bin/busybox: %d bytes, want the host's %d", len(got), len(host))
	}
	if h := hdrs["bin/busybox"]; h == nil || h.Mode&0o111 == 0 {
		t.Errorf("bin/busybox not executable: %+v", h)
	}
	for _, applet := range []string{"sh", "ls", "cat", "sleep", "wget", "nc"} {
		h := hdrs["bin/"+applet]
		if h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "busybox" {
			t.Errorf("bin/%s: want a symlink to busybox, got %+v", applet, h)
		}
	}
	if h := hdrs["tmp"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode&0o7777 != 0o1777 {
		t.Errorf("tmp: want a 1777 dir, got %+v", h)
	}
	if h := hdrs["home/app"]; h == nil || h.Uid != 1000 || h.Gid != 1000 {
		t.Errorf("home/app: want owner 1000:1000, got %+v", h)
	}
	for name, want := range map[string]string{
		"etc/passwd": "app:x:1000:1000:",
		"etc/group":  "app:x:1000:",
	} {
		if !strings.Contains(string(bodies[name]), want) {
			t.Errorf("%s = %q, want a line %q", name, bodies[name], want)
		}
	}
	for _, name := range []string{"etc/hosts", "etc/resolv.conf"} {
		if _, ok := bodies[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	for name, h := range hdrs {
		if !h.ModTime.Equal(Epoch) {
			t.Errorf("%s: mtime %v, want %v", name, h.ModTime, Epoch)
		}
	}

	_, marker := entries(t, layers[1])
	if _, ok := marker[strings.TrimPrefix(MarkerPath, "/")]; !ok {
		t.Errorf("layer 2 lacks %s: %v", MarkerPath, marker)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
	}
	if strings.Join(cf.Config.Cmd, " ") != "sh" || len(cf.Config.Env) != 1 || cf.Config.Env[0] != DefaultPath {
		t.Errorf("config: Cmd %q Env %q", cf.Config.Cmd, cf.Config.Env)
	}
	if len(cf.History) != 2 || len(cf.RootFS.DiffIDs) != 2 {
		t.Errorf("history %d entries, diff IDs %d, want 2 and 2", len(cf.History), len(cf.RootFS.DiffIDs))
	}
}

func TestBusyboxDigestStable(t *testing.T) {
	a, err := busyboxFrom(BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	b, err := busyboxFrom(BusyboxPath)
	if err != nil {
		t.Fatal(err)
	}
	da, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	db, err := b.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if da != db {
		t.Fatalf("two builds differ: %s vs %s", da, db)
	}
}

func TestBusyboxMissing(t *testing.T) {
	_, err := busyboxFrom(t.TempDir() + "/busybox")
	if !errors.Is(err, ErrNoBusybox) {
		t.Fatalf("err = %v, want ErrNoBusybox", err)
	}
	for _, want := range []string{"busybox-static", "scripts/install-deps.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestStandard(t *testing.T) {
	imgs, err := Standard()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		cmd   string
		ports []string
	}{
		BusyboxName:  {"sh", nil},
		HTTPEchoName: {"/usr/local/bin/httpecho", []string{"8080/tcp"}},
		TCPEchoName:  {"/usr/local/bin/tcpecho", []string{"9000/tcp", "9000/udp"}},
		LoggerName:   {"/usr/local/bin/logger", nil},
	}
	if len(imgs) != len(want) {
		t.Errorf("Standard has %d images, want %d", len(imgs), len(want))
	}
	for name, w := range want {
		img := imgs[name]
		if img == nil {
			t.Errorf("Standard lacks %s", name)
			continue
		}
		if err := validate.Image(img); err != nil {
			t.Errorf("%s invalid: %v", name, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(cf.Config.Cmd, " "); got != w.cmd || len(cf.Config.Entrypoint) != 0 {
			t.Errorf("%s: Entrypoint %q Cmd %q, want Cmd %q", name, cf.Config.Entrypoint, got, w.cmd)
		}
		if len(cf.Config.ExposedPorts) != len(w.ports) {
			t.Errorf("%s: exposed %v, want %v", name, cf.Config.ExposedPorts, w.ports)
		}
		for _, p := range w.ports {
			if _, ok := cf.Config.ExposedPorts[p]; !ok {
				t.Errorf("%s: %s not exposed", name, p)
			}
		}
		if name == BusyboxName {
			continue
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != 3 {
			t.Fatalf("%s has %d layers, want 3", name, len(layers))
		}
		hdrs, _ := entries(t, layers[2])
		prog := strings.TrimSuffix(name, ":latest")
		if h := hdrs["usr/local/bin/"+prog]; h == nil || h.Mode&0o111 == 0 || h.Size == 0 {
			t.Errorf("%s: usr/local/bin/%s missing or not executable: %+v", name, prog, h)
		}
	}
	// Images share their base layers.
	bl, _ := imgs[BusyboxName].Layers()
	hl, _ := imgs[HTTPEchoName].Layers()
	for i := range bl {
		a, _ := bl[i].Digest()
		b, _ := hl[i].Digest()
		if a != b {
			t.Errorf("layer %d: busybox %s, httpecho %s: want shared", i, a, b)
		}
	}
}

func TestWithProgramUnknown(t *testing.T) {
	base, err := Busybox()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WithProgram(base, "nosuchprog"); !errors.Is(err, ErrUnknownProgram) {
		t.Fatalf("err = %v, want ErrUnknownProgram", err)
	}
}

func TestLayerEntries(t *testing.T) {
	l, err := Layer(
		Dir("a", 0),
		Reg("a/.wh.gone", 0, ""),
		Reg("a/.wh..wh..opq", 0, ""),
		File{Path: "a/link", Type: tar.TypeLink, Link: "a/file"},
		File{Path: "a/x", Xattrs: map[string]string{"user.k": "v"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	hdrs, _ := entries(t, l)
	if h := hdrs["a"]; h == nil || h.Mode != 0o755 || h.Typeflag != tar.TypeDir {
		t.Errorf("a: %+v", h)
	}
	if h := hdrs["a/link"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "a/file" {
		t.Errorf("a/link: %+v", h)
	}
	if h := hdrs["a/x"]; h == nil || h.PAXRecords["SCHILY.xattr.user.k"] != "v" {
		t.Errorf("a/x xattrs: %+v", h)
	}
	for _, n := range []string{"a/.wh.gone", "a/.wh..wh..opq"} {
		if hdrs[n] == nil {
			t.Errorf("%s missing", n)
		}
	}
	if _, err := Layer(File{Path: ""}); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := Layer(File{Path: "s", Type: tar.TypeSymlink}); err == nil {
		t.Error("symlink without target accepted")
	}
}
