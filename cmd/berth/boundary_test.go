package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsEngineOnly keeps the one door of docs/design.md: the
// commands talk to package engine, never to its subpackages (state,
// image, build, runtime, supervisor, …), whose types and calls the CLI
// needs are named in package engine. Test files may reach further, to
// make fixtures.
func TestImportsEngineOnly(t *testing.T) {
	const engine = "github.com/berth-dev/berth/engine"
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	imports := strings.Fields(string(out))
	sawEngine := false
	for _, imp := range imports {
		switch {
		case imp == engine:
			sawEngine = true
		case strings.HasPrefix(imp, engine+"/"):
			t.Errorf("cmd/berth imports %s; commands may import package engine only, not its subpackages (name what they need in package engine)", imp)
		}
	}
	if !sawEngine {
		t.Fatalf("go list listed no import of %s, too little to trust:\n%s", engine, out)
	}
}
