package testimages

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/berth-dev/berth/internal/testutil"
)

// golangForTest returns Golang() and the host's Go facts, skipping when
// the host cannot make it (no busybox-static, no go).
func golangForTest(t *testing.T) (v1.Image, goEnv) {
	t.Helper()
	if _, err := os.Stat(BusyboxPath); err != nil {
		t.Skipf("skipped: %v", ErrNoBusybox)
	}
	env, err := hostGo()
	if err != nil {
		t.Skipf("skipped: %v", err)
	}
	img, err := Golang()
	if err != nil {
		t.Fatal(err)
	}
	return img, env
}

func TestGolangImage(t *testing.T) {
	img, env := golangForTest(t)
	if err := validate.Image(img, validate.Fast); err != nil {
		t.Fatalf("invalid image: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || strings.Join(cf.Config.Cmd, " ") != "sh" {
		t.Errorf("platform %s/%s Cmd %q, want linux/amd64 and sh", cf.OS, cf.Architecture, cf.Config.Cmd)
	}
	wantPath := "PATH=" + env.GOROOT + "/bin:/usr/local/sbin:"
	if len(cf.Config.Env) == 0 || !strings.HasPrefix(cf.Config.Env[0], wantPath) {
		t.Errorf("Env %q: want PATH starting %q", cf.Config.Env, wantPath)
	}
	for _, kv := range []string{"CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOPROXY=off", "HOME=/root", "GOCACHE=" + GolangCache} {
		if !slices.Contains(cf.Config.Env, kv) {
			t.Errorf("Env %q lacks %s", cf.Config.Env, kv)
		}
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 3 {
		t.Fatalf("%d layers, want busybox's 2 and the toolchain", len(layers))
	}
	bb, _ := Busybox()
	bl, _ := bb.Layers()
	for i := range bl {
		a, _ := bl[i].Digest()
		b, _ := layers[i].Digest()
		if a != b {
			t.Errorf("layer %d is %s, want busybox's %s", i, b, a)
		}
	}
	l := layers[2]
	if mt, _ := l.MediaType(); mt != types.DockerUncompressedLayer {
		t.Errorf("media type %s, want uncompressed", mt)
	}
	// An uncompressed layer's digest is its diffID: check both against
	// the content (validate.Layer expects gzip).
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := l.Digest()
	diffID, _ := l.DiffID()
	size, _ := l.Size()
	if sum := "sha256:" + hex.EncodeToString(h.Sum(nil)); digest.String() != sum || diffID.String() != sum || size != n {
		t.Errorf("digest %s diffID %s size %d; content %s, %d bytes", digest, diffID, size, sum, n)
	}
	if diffID != cf.RootFS.DiffIDs[2] {
		t.Errorf("config diffID %s, layer %s", cf.RootFS.DiffIDs[2], diffID)
	}

	hdrs, small := layerEntries(t, l, 4096) // bodies of small files only: the layer is big
	root := strings.TrimPrefix(env.GOROOT, "/")
	for _, p := range []string{"bin/go", "pkg/tool/linux_amd64/compile", "pkg/tool/linux_amd64/link", "pkg/tool/linux_amd64/asm", "pkg/tool/linux_amd64/vet"} {
		if h := hdrs[root+"/"+p]; h == nil || h.Typeflag != tar.TypeReg || h.Mode&0o111 == 0 {
			t.Errorf("%s/%s: want an executable, got %+v", root, p, h)
		}
	}
	for _, p := range []string{"VERSION", "go.env", "src/net/http/server.go", "src/runtime/asm_amd64.s", "src/vendor/modules.txt", "pkg/include/textflag.h"} {
		if h := hdrs[root+"/"+p]; h == nil || h.Typeflag != tar.TypeReg {
			t.Errorf("%s/%s missing", root, p)
		}
	}
	for _, p := range []string{"test", "api", "doc", "misc", "src/cmd", "src/net/http/testdata", "pkg/tool/linux_amd64/fix"} {
		if hdrs[root+"/"+p] != nil {
			t.Errorf("%s/%s: pruned paths must not be in the layer", root, p)
		}
	}
	entries := 0
	for name, h := range hdrs {
		if strings.HasPrefix(name, root+"/src/") && (strings.HasSuffix(name, "_test.go") || strings.Contains(name, "/testdata/")) {
			t.Errorf("%s: tests must be pruned", name)
		}
		cacheDir := strings.TrimPrefix(GolangCache, "/")
		cache := name == cacheDir || strings.HasPrefix(name, cacheDir+"/")
		want := Epoch
		if cache {
			want = cacheMtime
		}
		if !h.ModTime.Equal(want) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v owner %d:%d, want %v and root", name, h.ModTime, h.Uid, h.Gid, want)
		}
		if cache && strings.HasSuffix(name, "-a") {
			entries++
			if b := small[name]; !bytes.HasSuffix(b, fmt.Appendf(nil, " %20d\n", Epoch.UnixNano())) {
				t.Errorf("%s: %q, want an action entry timed at Epoch", name, b)
			}
		}
		if cache && (strings.HasSuffix(name, "trim.txt") || strings.HasSuffix(name, "testexpire.txt")) {
			t.Errorf("%s: the cache's bookkeeping must not be in the layer", name)
		}
	}
	if entries < 100 {
		t.Errorf("build cache holds %d action entries, want the warm packages' (hundreds)", entries)
	}
}

func TestGoRootSkip(t *testing.T) {
	for _, c := range []struct {
		rel  string
		dir  bool
		skip bool
	}{
		{"api", true, true},
		{"doc", true, true},
		{"test", true, true},
		{"misc", true, true},
		{"src/cmd", true, true},
		{"src/net/http/testdata", true, true},
		{"src/net/http/server_test.go", false, true},
		{"pkg/tool/linux_amd64/fix", false, true},
		{"pkg/tool/linux_amd64/cgo", false, true},
		{"src/net/http/server.go", false, false},
		{"src/net", true, false},
		{"src/cmdline", true, false},
		{"pkg/tool/linux_amd64/compile", false, false},
		{"pkg/tool/linux_amd64/vet", false, false},
		{"VERSION", false, false},
		{"api", false, false}, // only the dir of that name
		{"lib/time/zoneinfo.zip", false, false},
	} {
		if got := goRootSkip(c.rel, c.dir); got != c.skip {
			t.Errorf("goRootSkip(%q, dir=%v) = %v, want %v", c.rel, c.dir, got, c.skip)
		}
	}
}

func TestCacheEntry(t *testing.T) {
	id := strings.Repeat("ab", 32)
	out := strings.Repeat("cd", 32)
	entry := fmt.Sprintf("v1 %s %s %20d %20d\n", id, out, 1234, int64(1732350000123456789))
	got, skip := cacheEntry("ab/"+id+"-a", false, []byte(entry))
	want := fmt.Sprintf("v1 %s %s %20d %20d\n", id, out, 1234, Epoch.UnixNano())
	if skip || string(got) != want {
		t.Errorf("entry rewritten to %q (skip %v), want %q", got, skip, want)
	}
	if got, skip := cacheEntry("ab/"+id+"-d", false, []byte("object")); skip || got != nil {
		t.Errorf("output file: replaced %q skip %v, want kept as is", got, skip)
	}
	if got, skip := cacheEntry("ab/"+id+"-a", false, []byte("v1 short\n")); skip || got != nil {
		t.Errorf("odd entry: replaced %q skip %v, want kept as is", got, skip)
	}
	for name, skip := range map[string]bool{"README": false, "trim.txt": true, "testexpire.txt": true, "ab": false} {
		if _, got := cacheEntry(name, name == "ab", nil); got != skip {
			t.Errorf("%s: skip %v, want %v", name, got, skip)
		}
	}
}

// TestGolangLayerStable makes the layer a second time from scratch (it
// compiles the warm packages again: slow) and wants the same bytes.
func TestGolangLayerStable(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped in -short mode: compiles the warm packages again")
	}
	img, env := golangForTest(t)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := layers[2].Digest()
	dir := t.TempDir()
	file := filepath.Join(dir, "again.tar")
	if err := makeGolangLayer(env, dir, file); err != nil {
		t.Fatal(err)
	}
	l, err := newFileLayer(file)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := l.Digest(); got != want {
		t.Errorf("second layer %s, first %s: want the same", got, want)
	}
}

// extract unpacks an image's layers (no whiteouts in these) into dir.
func extract(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, filepath.Clean("/"+h.Name))
			switch h.Typeflag {
			case tar.TypeDir:
				err = os.MkdirAll(p, 0o755)
				if err == nil {
					err = os.Chmod(p, os.FileMode(h.Mode&0o777)|os.ModeSticky*os.FileMode(h.Mode>>9&1))
				}
			case tar.TypeReg:
				var f *os.File
				f, err = os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode&0o777))
				if err == nil {
					_, err = io.Copy(f, tr)
					if cerr := f.Close(); err == nil {
						err = cerr
					}
				}
			case tar.TypeSymlink:
				os.Remove(p)
				err = os.Symlink(h.Linkname, p)
			}
			if err != nil {
				rc.Close()
				t.Fatalf("extract %s: %v", h.Name, err)
			}
		}
		rc.Close()
	}
}

// TestGolangBuildsWarm runs the image's toolchain in a chroot of its
// rootfs (own mount namespace, for /proc) and wants a net/http program to
// build with every standard package a cache hit, then to run; go vet and
// go test work too.
func TestGolangBuildsWarm(t *testing.T) {
	testutil.RequiresRoot(t)
	img, env := golangForTest(t)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	rootfs := t.TempDir()
	extract(t, img, rootfs)
	if err := syscall.Mknod(filepath.Join(rootfs, "dev/null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(rootfs, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"go.mod": "module example.com/hello\n\ngo 1.22\n",
		"main.go": `package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
)

func handler(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path})
}

func main() {
	rec := httptest.NewRecorder()
	handler(rec, httptest.NewRequest("GET", "/hello", nil))
	fmt.Fprint(os.Stdout, rec.Body.String())
}
`,
		"main_test.go": `package main

import (
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	handler(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 200 {
		t.Fatal(rec.Code)
	}
}
`,
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(script string) (string, string) {
		t.Helper()
		cmd := exec.Command("/bin/sh", "-c", "mount -t proc proc /proc && cd /src && "+script)
		cmd.Env = cf.Config.Env
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs, Unshareflags: syscall.CLONE_NEWNS}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		t0 := time.Now()
		err := cmd.Run()
		t.Logf("%s: %v", script, time.Since(t0))
		if err != nil {
			t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", script, err, stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String()
	}

	out, _ := run("go version")
	if !strings.Contains(out, env.GOVERSION+" linux/amd64") {
		t.Errorf("go version: %q, want %s", out, env.GOVERSION)
	}
	// -v names every package compiled: only the program's own may be.
	_, compiled := run("go build -v -o /tmp/hello .")
	if got := strings.Fields(compiled); !slices.Equal(got, []string{"example.com/hello"}) {
		t.Errorf("go build compiled %q, want only example.com/hello (the rest from the warm cache)", got)
	}
	if out, _ := run("/tmp/hello"); strings.TrimSpace(out) != `{"path":"/hello"}` {
		t.Errorf("the program printed %q", out)
	}
	run("go vet . && go test -count=1 .")
}
