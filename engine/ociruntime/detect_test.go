package ociruntime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/internal/testutil"
)

// fakeRuntime writes a runtime that fails every call with a JSON log error
// and counts its invocations in the returned file.
func fakeRuntime(t *testing.T) (bin, counter string) {
	t.Helper()
	dir := t.TempDir()
	bin = filepath.Join(dir, "fakert")
	counter = filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho call >> " + counter + `
while [ $# -gt 0 ]; do
  if [ "$1" = --log ]; then echo '{"level":"error","msg":"fake failure: cgroups in hybrid mode not supported"}' >> "$2"; fi
  shift
done
exit 1
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, counter
}

func calls(t *testing.T, counter string) int {
	b, _ := os.ReadFile(counter)
	return strings.Count(string(b), "call")
}

func TestProbeCached(t *testing.T) {
	bin, counter := fakeRuntime(t)
	state := t.TempDir()
	ok, err := ociruntime.ProbeCached(t.Context(), bin, state)
	if ok || err == nil || !strings.Contains(err.Error(), "fake failure") {
		t.Fatalf("probe: %v %v, want the runtime's failure", ok, err)
	}
	n := calls(t, counter)
	if n == 0 {
		t.Fatal("the runtime was not run")
	}
	ok, err = ociruntime.ProbeCached(t.Context(), bin, state)
	if ok || err == nil || !strings.Contains(err.Error(), "fake failure") {
		t.Errorf("cached verdict: %v %v", ok, err)
	}
	if calls(t, counter) != n {
		t.Error("the cached verdict ran the runtime again")
	}
	// A new binary (other size) is probed again.
	if err := os.WriteFile(bin, append(mustRead(t, bin), []byte("# v2\n")...), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _ = ociruntime.ProbeCached(t.Context(), bin, state)
	if calls(t, counter) == n {
		t.Error("a changed binary kept the old verdict")
	}
	if left, _ := filepath.Glob(filepath.Join(state, "runtime", "probe-*", "*")); len(left) != 0 {
		t.Errorf("probe left files: %v", left)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDetectPreferred(t *testing.T) {
	if _, err := ociruntime.Detect(t.Context(), "no-such-runtime-xyz", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no-such-runtime-xyz") {
		t.Errorf("error %v, want one naming the runtime asked for", err)
	}
	bin, _ := fakeRuntime(t)
	rt, err := ociruntime.Detect(t.Context(), bin, t.TempDir())
	if err != nil || rt.Name() != "fakert" {
		t.Fatalf("%v %v", rt, err)
	}
	// Errors carry the runtime's own message, from its log.
	err = rt.Start(t.Context(), "c1")
	if err == nil || err.Error() != "fakert start c1: fake failure: cgroups in hybrid mode not supported" {
		t.Errorf("error %v", err)
	}
}

func TestDetectOnThisHost(t *testing.T) {
	if _, err := ociruntime.LookupBinary("runc"); err != nil {
		t.Skip("skipped: runc is not installed")
	}
	testutil.RequiresRoot(t) // the crun probe runs a container
	rt, err := ociruntime.Detect(t.Context(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("detected %s", rt.Name())
}
