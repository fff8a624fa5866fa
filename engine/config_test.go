package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/layout"
)

func TestNetworkPoolConfig(t *testing.T) {
	root := t.TempDir()
	// each Engine reads the file once: a new one sees a new file
	fresh := func() *Engine { return &Engine{layout: layout.Layout{Root: root}} }
	e := fresh()
	if opts, err := e.networkPool(); err != nil || opts != nil {
		t.Fatalf("no config: %v %v", opts, err)
	}
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(root, "config.yaml"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("network:\n  pool: 10.77.0.0/16\n")
	if opts, err := e.networkPool(); err != nil || opts != nil {
		t.Fatalf("config read again by the same Engine: %v %v", opts, err)
	}
	e = fresh()
	if opts, err := e.networkPool(); err != nil || len(opts) != 1 {
		t.Fatalf("pool: %v %v", opts, err)
	}
	for _, bad := range []string{"network:\n  pool: nope\n", "network:\n  pool: 10.77.0.0/16\n  size: 8\n"} {
		write(bad)
		if _, err := fresh().networkPool(); err == nil || !strings.Contains(err.Error(), "config.yaml") {
			t.Errorf("%q: err %v, want one naming the file", bad, err)
		}
	}
}
