package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// complete runs `berth __complete args...` in dir and returns the
// completions (the lines before the directive).
func complete(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errb bytes.Buffer
	root := newRootCmd(strings.NewReader(""), &out, &errb)
	root.SetArgs(append([]string{"__complete"}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("__complete %v: %v\n%s", args, err, errb.String())
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(l, ":") && l != "" {
			got = append(got, l)
		}
	}
	return got
}

func TestCompletionServices(t *testing.T) {
	t.Setenv("BERTH_ROOT", filepath.Join(t.TempDir(), "root"))
	t.Setenv("BERTH_RUN", t.TempDir())
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  web:\n    image: busybox\n  db:\n    image: busybox\n  worker:\n    image: busybox\n"), 0o644)
	if got := strings.Join(complete(t, dir, "logs", ""), ","); got != "db,web,worker" {
		t.Errorf("logs <TAB>: %q", got)
	}
	if got := strings.Join(complete(t, dir, "stop", "web", "w"), ","); got != "worker" {
		t.Errorf("stop web w<TAB>: %q (given names are left out)", got)
	}
	if got := complete(t, dir, "exec", "web", ""); len(got) != 0 {
		t.Errorf("exec web <TAB>: %q, want nothing (the command is free)", got)
	}
	if _, err := os.Stat(os.Getenv("BERTH_ROOT")); err == nil {
		t.Error("completion made the state root")
	}
}
