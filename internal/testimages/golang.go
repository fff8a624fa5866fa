package testimages

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/renameio/v2"
)

// GolangName is the name the Go toolchain image is saved and loaded under.
const GolangName = "golang:local"

// GolangCache is the image's GOCACHE, pre-warmed for golangWarm.
const GolangCache = "/root/.cache/go-build"

// golangLayerVersion is part of the on-disk layer cache key: bump it
// whenever what goes into the layer changes.
const golangLayerVersion = 1

// golangWarm lists the standard packages (and, with them, all their
// dependencies) whose compiled form the image's build cache holds: what a
// small web app, a worker or a CLI imports. A `go build` in the image that
// needs only these compiles just the user's own packages.
var golangWarm = []string{
	"encoding/json", "flag", "html/template", "log/slog", "net/http",
	"net/http/httptest", "net/http/httputil", "os/signal", "testing",
}

// golangEnv is the environment the Go toolchain image sets besides PATH
// ($GOROOT/bin first). The cache is warmed on the host with exactly these
// variables (and no others of the go command's), so that the compile
// actions' IDs, and therefore the cache keys, are the same in the image.
// Offline by construction: GOPROXY=off fails fast on a missing module
// instead of waiting for a network, and a module without requirements
// needs no proxy at all. -buildvcs=false because the image has no git.
var golangEnv = []string{
	"CGO_ENABLED=0",
	"GOTOOLCHAIN=local",
	"GOPROXY=off",
	"GOFLAGS=-buildvcs=false",
	"GOCACHE=" + GolangCache,
	"HOME=/root",
}

// cacheMtime is the fixed mtime of the build cache's files in the image.
// It lies in the future on purpose: the go command refreshes an entry's
// mtime on use only when it is over an hour old, and trims entries unused
// for five days, so with a past mtime every build would copy up (and
// commit into its layer) each entry it reads, and trim the rest.
var cacheMtime = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// goRootSkip says which parts of GOROOT (slash-separated, relative) a
// build does not need: tests and their data, the toolchain's own sources
// (src/cmd: the tools that matter ship prebuilt in pkg/tool), docs, API
// lists, the Go distribution's test suite, `go fix` and cgo (there is no
// C compiler in the image). Measured on Go 1.26.8: 270 MB → 120 MB (the
// warm cache adds 95 MB).
func goRootSkip(rel string, dir bool) bool {
	switch rel {
	case "api", "doc", "misc", "test", "src/cmd", "pkg/obj":
		return dir
	}
	if dir {
		return path.Base(rel) == "testdata" && strings.HasPrefix(rel, "src/")
	}
	if strings.HasPrefix(rel, "pkg/tool/") {
		switch path.Base(rel) {
		case "fix", "cgo":
			return true
		}
	}
	return strings.HasPrefix(rel, "src/") && strings.HasSuffix(rel, "_test.go")
}

var golang = sync.OnceValues(golangImage)

// Golang returns a Go toolchain image (linux/amd64), built once per
// process: Busybox() plus one uncompressed layer holding
//
//   - the host's Go toolchain (`go env GOROOT`) at the same absolute path,
//     pruned of what a build does not need (tests, testdata, src/cmd,
//     docs, `go fix`, cgo), and
//   - a build cache at GolangCache holding the standard packages a web app
//     or a CLI imports (net/http, encoding/json, html/template, log/slog,
//     os/signal, flag, testing, …) compiled with the image's own settings,
//     so that `go build` of a small net/http program in the image compiles
//     only that program: about half a second instead of some fifteen on
//     two cores. (-trimpath or other compiler flags miss that cache.)
//
// Its config: Env PATH ($GOROOT/bin first), CGO_ENABLED=0,
// GOTOOLCHAIN=local, GOPROXY=off, GOFLAGS=-buildvcs=false, GOCACHE and
// HOME=/root; Cmd ["sh"]. Building the layer compiles those packages (15
// to 20 seconds); the layer is kept under <user cache
// dir>/berth-testimages, keyed by the Go version, so later processes only
// hash it. Golang is not part of Standard.
func Golang() (v1.Image, error) { return golang() }

func golangImage() (v1.Image, error) {
	base, err := Busybox()
	if err != nil {
		return nil, err
	}
	env, err := hostGo()
	if err != nil {
		return nil, err
	}
	file, err := golangLayerFile(env)
	if err != nil {
		return nil, err
	}
	l, err := newFileLayer(file)
	if err != nil {
		return nil, fmt.Errorf("go toolchain layer: %w", err)
	}
	cfg := v1.Config{
		Cmd: []string{"sh"},
		Env: append([]string{
			"PATH=" + env.GOROOT + "/bin:" + strings.TrimPrefix(DefaultPath, "PATH="),
		}, golangEnv...),
	}
	return Build(base, cfg, []Step{{
		Layer:     l,
		CreatedBy: fmt.Sprintf("ADD %s (%s, pruned) %s (warm: %s)", env.GOROOT, env.GOVERSION, GolangCache, strings.Join(golangWarm, " ")),
	}})
}

// goEnv is what Golang needs to know of the host's toolchain.
type goEnv struct {
	GOROOT, GOVERSION, GOHOSTOS, GOHOSTARCH string
}

func (e goEnv) goCmd() string { return filepath.Join(e.GOROOT, "bin", "go") }

func hostGo() (goEnv, error) {
	goBin, err := goTool()
	if err != nil {
		return goEnv{}, fmt.Errorf("go toolchain image: %w", err)
	}
	cmd := exec.Command(goBin, "env", "-json", "GOROOT", "GOVERSION", "GOHOSTOS", "GOHOSTARCH")
	// The host's toolchain itself: no go.mod around to switch to another.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	out, err := cmd.Output()
	if err != nil {
		return goEnv{}, fmt.Errorf("go toolchain image: %s env: %w", goBin, err)
	}
	var env goEnv
	if err := json.Unmarshal(out, &env); err != nil {
		return goEnv{}, fmt.Errorf("go toolchain image: %s env: %w", goBin, err)
	}
	if env.GOHOSTOS != "linux" || env.GOHOSTARCH != "amd64" {
		return goEnv{}, fmt.Errorf("go toolchain image: the host's Go is %s/%s, the image is linux/amd64", env.GOHOSTOS, env.GOHOSTARCH)
	}
	if !filepath.IsAbs(env.GOROOT) {
		return goEnv{}, fmt.Errorf("go toolchain image: GOROOT %q is not absolute", env.GOROOT)
	}
	return env, nil
}

// golangLayerFile returns the path of the layer tarball for env, making
// it if the cache lacks it. A lock file keeps concurrent processes (go
// test runs packages in parallel) from all making it at once.
func golangLayerFile(env goEnv) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%d\n%s\n%s\n%s\n%s\n", golangLayerVersion, env.GOVERSION, env.GOROOT,
		strings.Join(golangWarm, " "), strings.Join(golangEnv, " "))
	key := hex.EncodeToString(h.Sum(nil))[:16]
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "berth-testimages")
	file := filepath.Join(dir, "golang-"+key+".tar")
	if fi, err := os.Stat(file); err == nil && fi.Mode().IsRegular() {
		return file, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("go toolchain image: cache dir: %w", err)
	}
	lock, err := os.OpenFile(file+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("go toolchain image: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("go toolchain image: lock %s: %w", lock.Name(), err)
	}
	if fi, err := os.Stat(file); err == nil && fi.Mode().IsRegular() {
		return file, nil // made by another process while this one waited
	}
	if err := makeGolangLayer(env, dir, file); err != nil {
		return "", fmt.Errorf("go toolchain image: %w", err)
	}
	return file, nil
}

func makeGolangLayer(env goEnv, dir, file string) error {
	work, err := os.MkdirTemp(dir, "golang-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	gocache := filepath.Join(work, "go-build")
	if err := warmCache(env, work, gocache); err != nil {
		return err
	}
	root, err := filepath.EvalSymlinks(env.GOROOT)
	if err != nil {
		return fmt.Errorf("GOROOT: %w", err)
	}

	tmp, err := renameio.NewPendingFile(file, renameio.WithTempDir(dir), renameio.WithStaticPermissions(0o644))
	if err != nil {
		return err
	}
	defer tmp.Cleanup() // after the replace, a no-op
	bw := bufio.NewWriterSize(tmp, 1<<20)
	lw := &layerWriter{tw: tar.NewWriter(bw)}
	// GOROOT's parents, then GOROOT itself, then the cache.
	parts := strings.Split(strings.Trim(env.GOROOT, "/"), "/")
	for i := range parts[:len(parts)-1] {
		lw.dir(strings.Join(parts[:i+1], "/"), 0o755, Epoch)
	}
	lw.tree(root, strings.Join(parts, "/"), Epoch, func(rel string, dir bool, _ []byte) ([]byte, bool) {
		return nil, goRootSkip(rel, dir)
	})
	cacheName := strings.TrimPrefix(GolangCache, "/")
	cparts := strings.Split(cacheName, "/")
	for i := range cparts[:len(cparts)-1] {
		mode := int64(0o755)
		if i == 0 && cparts[0] == "root" {
			mode = 0o700 // as Busybox() has it
		}
		lw.dir(strings.Join(cparts[:i+1], "/"), mode, Epoch)
	}
	lw.tree(gocache, cacheName, cacheMtime, cacheEntry)
	if lw.err == nil {
		lw.err = lw.tw.Close()
	}
	if lw.err == nil {
		lw.err = bw.Flush()
	}
	if lw.err != nil {
		return fmt.Errorf("write %s: %w", file, lw.err)
	}
	return tmp.CloseAtomicallyReplace()
}

// warmCache compiles golangWarm into gocache the way a build in the image
// will: the same GOROOT, golangEnv and nothing else of the host's go
// settings (HOME is a fresh dir, so no go/env file applies).
func warmCache(env goEnv, work, gocache string) error {
	home := filepath.Join(work, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		return err
	}
	cmd := exec.Command(env.goCmd(), append([]string{"build"}, golangWarm...)...)
	cmd.Dir = work
	cmd.Env = []string{"PATH=" + filepath.Join(env.GOROOT, "bin") + ":/usr/bin:/bin", "TMPDIR=" + work}
	for _, kv := range golangEnv {
		switch {
		case strings.HasPrefix(kv, "GOCACHE="):
			kv = "GOCACHE=" + gocache
		case strings.HasPrefix(kv, "HOME="):
			kv = "HOME=" + home
		}
		cmd.Env = append(cmd.Env, kv)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("warm the build cache: go build %s: %w\n%s", strings.Join(golangWarm, " "), err, stderr.Bytes())
	}
	return nil
}

// cacheEntry keeps the build cache's object files ("??/<hash>-d") and
// action entries ("??/<hash>-a"), the latter with their time field set to
// Epoch so the layer is the same on every run; the cache's bookkeeping
// files (trim.txt, testexpire.txt) are left out.
func cacheEntry(rel string, dir bool, body []byte) ([]byte, bool) {
	if dir {
		return nil, false
	}
	if !strings.Contains(rel, "/") {
		return nil, rel != "README"
	}
	const entrySize = 2 + 1 + 64 + 1 + 64 + 1 + 20 + 1 + 20 + 1 // as cmd/go/internal/cache writes it
	if strings.HasSuffix(rel, "-a") && len(body) == entrySize && bytes.HasPrefix(body, []byte("v1 ")) {
		out := bytes.Clone(body)
		copy(out[entrySize-21:], fmt.Sprintf("%20d", Epoch.UnixNano()))
		return out, false
	}
	return nil, false
}

// layerWriter writes a layer tar, remembering the first error.
type layerWriter struct {
	tw  *tar.Writer
	err error
}

func (w *layerWriter) dir(name string, mode int64, mtime time.Time) {
	if w.err != nil {
		return
	}
	w.err = w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: mtime})
}

// filter decides for one entry (path relative to the tree's top,
// slash-separated) whether to skip it and, for a small regular file whose
// body it was given, may return a replacement body.
type filter func(rel string, dir bool, body []byte) (replace []byte, skip bool)

// tree writes the tree at src as name/..., in lexical order, with every
// mtime set to mtime and owner root. Symlinks are followed (a GOROOT made
// of symlinks, as Debian's is, becomes plain files and dirs in the image).
func (w *layerWriter) tree(src, name string, mtime time.Time, keep filter) {
	w.walk(src, name, "", mtime, keep, 0)
}

func (w *layerWriter) walk(src, name, rel string, mtime time.Time, keep filter, depth int) {
	if w.err != nil {
		return
	}
	if depth > 64 {
		w.err = fmt.Errorf("%s: too deep (a symlink loop?)", src)
		return
	}
	fi, err := os.Stat(src)
	if err != nil {
		w.err = err
		return
	}
	mode := int64(fi.Mode().Perm())
	switch {
	case fi.IsDir():
		if rel != "" {
			if _, skip := keep(rel, true, nil); skip {
				return
			}
		}
		w.dir(name, mode, mtime)
		ents, err := os.ReadDir(src) // sorted by name
		if err != nil {
			w.err = err
			return
		}
		for _, e := range ents {
			w.walk(filepath.Join(src, e.Name()), name+"/"+e.Name(), path.Join(rel, e.Name()), mtime, keep, depth+1)
		}
	case fi.Mode().IsRegular():
		var body []byte
		if fi.Size() <= 4096 {
			if body, err = os.ReadFile(src); err != nil {
				w.err = err
				return
			}
		}
		replace, skip := keep(rel, false, body)
		if skip {
			return
		}
		if replace != nil {
			body = replace
		}
		size := fi.Size()
		if body != nil {
			size = int64(len(body))
		}
		if w.err = w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: size, ModTime: mtime}); w.err != nil {
			return
		}
		if body != nil {
			_, w.err = w.tw.Write(body)
			return
		}
		f, err := os.Open(src)
		if err != nil {
			w.err = err
			return
		}
		defer f.Close()
		if n, err := io.Copy(w.tw, f); err != nil || n != size {
			w.err = fmt.Errorf("%s: copied %d of %d bytes: %v", src, n, size, err)
		}
	default:
		// Sockets, fifos, devices: nothing a toolchain holds.
	}
}

// fileLayer is an uncompressed layer served from a tar file: no gzip on
// write (the toolchain layer is big and written often, by every
// `berth-testregistry --save`), and `berth image load` takes uncompressed
// docker-save layers as they are.
type fileLayer struct {
	path string
	size int64
	hash v1.Hash
}

func newFileLayer(p string) (*fileLayer, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: %w", p, errors.New("empty layer file"))
	}
	return &fileLayer{path: p, size: n, hash: v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}}, nil
}

func (l *fileLayer) Digest() (v1.Hash, error)             { return l.hash, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)             { return l.hash, nil }
func (l *fileLayer) Size() (int64, error)                 { return l.size, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)   { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) { return os.Open(l.path) }
func (l *fileLayer) MediaType() (types.MediaType, error)  { return types.DockerUncompressedLayer, nil }
