package translate

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoEngine keeps the translation pure: it may import the
// compose model and k8s.io types, and nothing of berth but project's
// name rules.
func TestImportsNoEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/berth-dev/berth/") && dep != "github.com/berth-dev/berth/k8s/translate" {
			t.Errorf("k8s/translate imports %s", dep)
		}
		if strings.HasPrefix(dep, "k8s.io/client-go") {
			t.Errorf("k8s/translate imports %s: talking to a cluster is k8s/cluster's job", dep)
		}
	}
}
