package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func berth(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

func TestConfigServices(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  b: {image: busybox}\n  a: {image: busybox, profiles: [x]}\n"), 0o644)
	out, errs, code := berth(t, dir, "config", "--services")
	if code != 0 || out != "b\n" {
		t.Fatalf("code %d out %q err %q", code, out, errs)
	}
	out, _, _ = berth(t, dir, "--profile", "x", "config", "--services")
	if out != "a\nb\n" {
		t.Errorf("--profile x: %q", out)
	}
	_, _, code = berth(t, dir, "config", "-q")
	if code != 0 {
		t.Errorf("config -q exit %d", code)
	}
}

func TestBadInputExitCodes(t *testing.T) {
	dir := t.TempDir()
	_, errs, code := berth(t, dir, "config")
	if code == 0 || !strings.Contains(errs, "no compose file found") || strings.Count(strings.TrimSpace(errs), "\n") > 2 {
		t.Errorf("no file: code %d stderr %q", code, errs)
	}
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  a: {image: busybox, depends_on: [b]}\n  b: {image: busybox, depends_on: [a]}\n"), 0o644)
	_, errs, code = berth(t, dir, "config")
	if code != 1 || !strings.Contains(errs, "cycle") || strings.Contains(errs, "goroutine") {
		t.Errorf("cycle: code %d stderr %q", code, errs)
	}
}

// TestREADMECommandTable keeps the README's command reference true: every
// command is listed, marked "works" exactly when it is implemented.
func TestREADMECommandTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\| ([a-z ]+) \\|").FindAllStringSubmatch(string(readme), -1) {
		rows[m[1]] = m[2]
	}
	root := newRootCmd(nil, &bytes.Buffer{}, &bytes.Buffer{})
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" {
			continue
		}
		want := "works"
		if strings.HasSuffix(c.Short, "(not implemented yet)") {
			want = "not implemented yet"
		}
		if got, ok := rows[c.Name()]; !ok {
			t.Errorf("README command table lacks %q", c.Name())
		} else if got != want {
			t.Errorf("README says %q is %q; it %s", c.Name(), got, want)
		}
	}
}
