package testimages

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
)

// progs holds the test programs' source, so that a binary made from this
// package (cmd/berth-testregistry) can build them anywhere.
//
//go:embed progs
var progs embed.FS

// ErrUnknownProgram says there is no progs/<name>.
var ErrUnknownProgram = errors.New("unknown test program")

// Programs lists the test programs under progs/.
func Programs() []string {
	ents, _ := fs.ReadDir(progs, "progs")
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Program returns the path of the static linux/amd64 binary of the test
// program progs/<prog>, building it on first use (go build, CGO_ENABLED=0,
// -trimpath) into <user cache dir>/berth-testimages/<hash of its source and
// of the Go version>/. The go toolchain must be on PATH (or in $GOROOT/bin).
func Program(prog string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[prog]; ok {
		return p, nil
	}
	p, err := buildProgram(prog)
	if err != nil {
		return "", err
	}
	built[prog] = p
	return p, nil
}

func buildProgram(prog string) (string, error) {
	dir := "progs/" + prog
	src, err := fs.ReadDir(progs, dir)
	if err != nil {
		return "", fmt.Errorf("test program %q: %w (have %v)", prog, ErrUnknownProgram, Programs())
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s/%s\n", runtime.Version(), "linux", "amd64")
	files := map[string][]byte{}
	for _, e := range src {
		if e.IsDir() {
			continue
		}
		b, err := progs.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return "", fmt.Errorf("test program %s: %w", prog, err)
		}
		files[e.Name()] = b
		fmt.Fprintf(h, "%s %d\n", e.Name(), len(b))
		h.Write(b)
	}
	sum := hex.EncodeToString(h.Sum(nil))[:16]

	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "berth-testimages", sum, prog)
	if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", fmt.Errorf("test program %s: cache dir: %w", prog, err)
	}

	// Build from a private copy of the source as its own tiny module:
	// independent of the working directory and of the berth module.
	work, err := os.MkdirTemp(filepath.Dir(out), "src-")
	if err != nil {
		return "", fmt.Errorf("test program %s: %w", prog, err)
	}
	defer os.RemoveAll(work)
	files["go.mod"] = []byte("module berthtest/" + prog + "\n\ngo 1.22\n")
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(work, name), b, 0o644); err != nil {
			return "", fmt.Errorf("test program %s: %w", prog, err)
		}
	}
	goBin, err := goTool()
	if err != nil {
		return "", fmt.Errorf("test program %s: %w", prog, err)
	}
	tmp := filepath.Join(work, prog+".bin")
	cmd := exec.Command(goBin, "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=", "-o", tmp, ".")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64",
		"GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("test program %s: go build: %w\n%s", prog, err, stderr.Bytes())
	}
	// Rename is atomic: two processes building at once both end with a
	// whole binary at out.
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("test program %s: %w", prog, err)
	}
	return out, nil
}

// goTool finds the go command: on PATH, else under $GOROOT/bin.
func goTool() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("the go toolchain is needed to build the test programs: go not found on PATH or in $GOROOT/bin")
}
