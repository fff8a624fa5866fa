package volumes

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoEngine keeps the layering of docs/design.md: volumes is
// below the engine and imports nothing of it — locks, atomic records and
// directory modes come from internal/fsutil and internal/layout.
func TestImportsNoEngine(t *testing.T) {
	const pkg = "github.com/berth-dev/berth/volumes"
	out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps %s listed too little to trust:\n%s", pkg, out)
	}
	for _, dep := range deps {
		if dep == "github.com/berth-dev/berth/engine" || strings.HasPrefix(dep, "github.com/berth-dev/berth/engine/") {
			t.Errorf("volumes depends on %s; it may import nothing under engine/", dep)
		}
	}
}
