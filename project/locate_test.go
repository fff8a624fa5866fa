package project

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLocate(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "compose.yaml")
	over := filepath.Join(dir, "compose.override.yaml")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(base, "services:\n  web:\n    image: nginx\n    ports:\n      - \"80:80\"\n      - \"443:443\"\n  db:\n    image: postgres\n")
	write(over, "services:\n  web:\n    environment:\n      A: b\n")
	files := []string{base, over}
	for _, tc := range []struct {
		path []string
		file string
		line int
	}{
		{[]string{"services", "web", "ports", "1"}, base, 6},
		{[]string{"services", "web", "ports"}, base, 4},
		{[]string{"services", "db", "image"}, base, 8},
		// the override is searched first
		{[]string{"services", "web"}, over, 2},
		{[]string{"services", "web", "environment", "A"}, over, 4},
		// missing key: the deepest ancestor found
		{[]string{"services", "db", "healthcheck", "test"}, base, 7},
		{[]string{"volumes", "data"}, "", 0},
	} {
		f, l := Locate(files, tc.path)
		if f != tc.file || l != tc.line {
			t.Errorf("Locate(%v) = %s:%d, want %s:%d", tc.path, f, l, tc.file, tc.line)
		}
	}
}
