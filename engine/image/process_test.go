package image

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestHelperPullProcess is not a test: TestPullTwoProcesses runs the test
// binary with it to pull from another process.
func TestHelperPullProcess(t *testing.T) {
	root, ref := os.Getenv("BERTH_TEST_PULL_ROOT"), os.Getenv("BERTH_TEST_PULL_REF")
	if root == "" {
		t.Skip("helper process for TestPullTwoProcesses")
	}
	s, err := NewStore(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newTestPuller(s).Pull(t.Context(), ref, PullOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestPullTwoProcesses: two processes pulling images that share layers at
// the same time end with one correct copy, each shared blob fetched once.
func TestPullTwoProcesses(t *testing.T) {
	reg := newTestRegistry(t)
	shared1 := layerOf(t, "", file("base", "shared base"), file("big", strings.Repeat("x", 4<<20)))
	shared2 := layerOf(t, "", file("lib", "shared lib"))
	refA := reg.push(t, "a:1", imageOf(t, shared1, shared2, layerOf(t, "", file("app", "a"))))
	refB := reg.push(t, "b:1", imageOf(t, shared1, shared2, layerOf(t, "", file("app", "b"))))
	var mu sync.Mutex
	gets := map[string]int{}
	reg.wrap = func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
			mu.Lock()
			gets[filepath.Base(r.URL.Path)]++
			mu.Unlock()
		}
		next.ServeHTTP(w, r)
	}
	root := filepath.Join(t.TempDir(), "image")
	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]error, 2)
	for i, ref := range []string{refA, refB} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperPullProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), "BERTH_TEST_PULL_ROOT="+root, "BERTH_TEST_PULL_REF="+ref)
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(out), err
		}()
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	for _, l := range []v1.Layer{shared1, shared2} {
		d, _ := l.Digest()
		if gets[d.String()] != 1 {
			t.Errorf("shared layer %s fetched %d times, want once", d, gets[d.String()])
		}
	}
	s, _ := NewStore(root)
	a, err := s.Get(refA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Get(refB)
	if err != nil {
		t.Fatal(err)
	}
	checkShared(t, s, a, b)
	if got := readFile(t, filepath.Join(a.LayerDirs()[0], "big")); len(got) != 4<<20 {
		t.Errorf("big file is %d bytes", len(got))
	}
}
