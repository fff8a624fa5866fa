package project

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoEngine keeps the layering of DESIGN.md: project loads
// compose files and imports nothing of berth's engine, network or volumes.
func TestImportsNoEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/berth-dev/berth/") && dep != "github.com/berth-dev/berth/project" {
			t.Errorf("project imports %s; it may import compose-go only", dep)
		}
	}
}
