package project

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoEngine keeps the layering of docs/design.md: project loads
// compose files and imports nothing of berth's engine, network or volumes;
// only the leaf package of name rules (standard library only) is shared.
func TestImportsNoEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string]bool{
		"github.com/berth-dev/berth/project":        true,
		"github.com/berth-dev/berth/internal/names": true,
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/berth-dev/berth/") && !allowed[dep] {
			t.Errorf("project imports %s; it may import compose-go and internal/names only", dep)
		}
	}
}
