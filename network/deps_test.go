package network

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoEngine keeps the layering of docs/design.md: network and
// its subpackages (ipam, nft, dns, portmap) are below the engine and
// import nothing of it — the filesystem primitives they share with it
// live in internal/fsutil.
func TestImportsNoEngine(t *testing.T) {
	const pattern = "github.com/berth-dev/berth/network/..."
	out, err := exec.Command("go", "list", "-deps", pattern).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pattern, err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps %s listed too little to trust:\n%s", pattern, out)
	}
	for _, dep := range deps {
		if dep == "github.com/berth-dev/berth/engine" || strings.HasPrefix(dep, "github.com/berth-dev/berth/engine/") {
			t.Errorf("network/... depends on %s; it may import nothing under engine/", dep)
		}
	}
}
