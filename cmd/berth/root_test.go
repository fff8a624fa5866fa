package main

import (
	"io"
	"testing"
)

func TestGlobalOptionsCheck(t *testing.T) {
	tests := []struct {
		ansi, progress, env string
		want                string
	}{
		{"", "", "", ""},
		{"never", "plain", "", ""},
		{"always", "", "quiet", ""},
		{"auto", "tty", "bogus", ""}, // the flag wins over the environment
		{"sometimes", "", "", `--ansi "sometimes": want never, always or auto`},
		{"", "fancy", "", `progress "fancy" (--progress or COMPOSE_PROGRESS): want auto, tty, plain or quiet`},
		{"", "", "bogus", `progress "bogus" (--progress or COMPOSE_PROGRESS): want auto, tty, plain or quiet`},
	}
	for _, tt := range tests {
		t.Setenv(envProgress, tt.env)
		g := &globalOptions{ansi: tt.ansi, progress: tt.progress}
		if got := errString(g.check()); got != tt.want {
			t.Errorf("--ansi %q --progress %q %s=%q: %q, want %q", tt.ansi, tt.progress, envProgress, tt.env, got, tt.want)
		}
	}
}

// TestRootFlagsAndCommands checks the root keeps its global flags and
// that every command has a distinct name.
func TestRootFlagsAndCommands(t *testing.T) {
	root := newRootCmd(nil, io.Discard, io.Discard)
	for _, name := range []string{"file", "project-name", "project-directory", "env-file", "profile", "no-color", "ansi", "progress", "all-resources", "insecure-registry", "parallel"} {
		if root.Flags().Lookup(name) == nil {
			t.Errorf("no global flag --%s", name)
		}
	}
	if f := root.Flags().ShorthandLookup("f"); f == nil || f.Name != "file" {
		t.Errorf("-f is not --file: %v", f)
	}
	seen := map[string]bool{}
	for _, c := range root.Commands() {
		if seen[c.Name()] {
			t.Errorf("command %s twice", c.Name())
		}
		seen[c.Name()] = true
	}
	for _, name := range []string{"up", "down", "ps", "config", "container", "volume", "k8s"} {
		if !seen[name] {
			t.Errorf("no %s command", name)
		}
	}
}
