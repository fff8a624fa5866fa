package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testregistry"
)

// suite is what every test of the e2e tier shares, set up by TestMain.
var suite struct {
	berth    string                 // the berth binary built for this run
	tmp      string                 // the suite's own temp dir
	canary   string                 // the host canary tree (canary_test.go)
	registry *testregistry.Registry // serves the standard test images

	mu    sync.Mutex
	roots []string // every Env's dirs, for the leak check
	leaks []string // leaks found when tests ended
}

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "e2e tier skipped: needs root (run `make test` as root)")
		return 0
	}
	tmp, err := os.MkdirTemp("", "berth-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	suite.tmp = tmp

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if suite.berth, err = buildBerth(ctx, tmp); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}

	before, err := snapshotHost()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: leak check snapshot: %v\n", err)
		return 1
	}
	sysctls := snapshotSysctls()
	canary, canaryPrint, err := makeCanary()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: host canary: %v\n", err)
		return 1
	}
	defer os.RemoveAll(canary)
	suite.canary = canary

	reg, err := testregistry.Start(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	suite.registry = reg
	if _, err := reg.PushStandard(ctx); err != nil {
		reg.Close()
		fmt.Fprintf(os.Stderr, "e2e: test images: %v\n", err)
		return 1
	}

	code := m.Run()

	if err := reg.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: test registry close: %v\n", err)
	}
	suite.mu.Lock()
	roots := append([]string(nil), suite.roots...)
	leaks := append([]string(nil), suite.leaks...)
	suite.mu.Unlock()
	leaks = append(leaks, checkSuite(roots, before)...)
	leaks = append(leaks, checkCanary(canary, canaryPrint)...)
	leaks = append(leaks, checkSysctls(sysctls)...)
	if len(leaks) > 0 {
		fmt.Fprint(os.Stderr, formatLeaks(leaks))
		if code == 0 {
			code = 1
		}
	}
	return code
}

// buildBerth builds ./cmd/berth once for the whole suite.
func buildBerth(ctx context.Context, dir string) (string, error) {
	modRoot, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(modRoot, "go.mod")); err != nil {
		return "", fmt.Errorf("module root not found above the e2e dir: %w", err)
	}
	out := filepath.Join(dir, "berth")
	// berth-k8s beside it, where `berth k8s` finds it (cmd/berth/k8s_plugin.go).
	for _, b := range []struct{ out, tags string }{{out, ""}, {filepath.Join(dir, "berth-k8s"), "k8s"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", b.tags, "-o", b.out, "./cmd/berth")
		cmd.Dir = modRoot
		// Static, as `make build` makes it (TestParityEngineInitDynamicBerth
		// covers `init: true` with a dynamically linked build).
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build -tags %q ./cmd/berth: %w\n%s", b.tags, err, msg)
		}
	}
	return out, nil
}
