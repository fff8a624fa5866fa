package graph_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsStandardLibraryOnly keeps package graph free of every import
// outside the standard library, berth's own packages included.
func TestImportsStandardLibraryOnly(t *testing.T) {
	const pkg = "github.com/berth-dev/berth/graph"
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool not found (go test puts it on PATH): %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps",
		"-f", "{{.ImportPath}} {{.Standard}}", pkg).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		t.Fatalf("go list -deps %s listed too little to trust:\n%s", pkg, out)
	}
	seenSelf := false
	for _, line := range lines {
		path, standard, _ := strings.Cut(line, " ")
		switch {
		case path == pkg:
			seenSelf = true
		case standard != "true":
			t.Errorf("package graph depends on %s, which is not in the standard library", path)
		}
	}
	if !seenSelf {
		t.Errorf("go list -deps did not list %s itself:\n%s", pkg, out)
	}
}
