package ociruntime_test

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berth-dev/berth/engine/ociruntime"
)

func TestWithInitInterpreter(t *testing.T) {
	libs := map[string]string{"libc.so.6": "/lib/x86_64-linux-gnu/libc.so.6", "libm.so.6": "/lib/x86_64-linux-gnu/libm.so.6"}
	s, err := ociruntime.NewSpec(ociruntime.WithArgs("sleep", "1"), ociruntime.WithInit("/usr/bin/berth", "__init", "--"),
		ociruntime.WithInitInterpreter("/lib64/ld-linux-x86-64.so.2", libs))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ociruntime.InitInterpPath, "--library-path", ociruntime.InitLibDir, ociruntime.InitPath, "__init", "--", "sleep", "1"}
	if !slices.Equal(s.Process.Args, want) {
		t.Errorf("args %q, want %q", s.Process.Args, want)
	}
	got := map[string]string{}
	for _, m := range s.Mounts {
		if slices.Contains(m.Options, "ro") && slices.Contains(m.Options, "nosuid") {
			got[m.Destination] = m.Source
		}
	}
	for dst, src := range map[string]string{
		ociruntime.InitPath:                  "/usr/bin/berth",
		ociruntime.InitInterpPath:            "/lib64/ld-linux-x86-64.so.2",
		ociruntime.InitLibDir + "/libc.so.6": libs["libc.so.6"],
		ociruntime.InitLibDir + "/libm.so.6": libs["libm.so.6"],
	} {
		if got[dst] != src {
			t.Errorf("read-only mount at %s: %q, want %q", dst, got[dst], src)
		}
	}
	if _, err := ociruntime.NewSpec(ociruntime.WithArgs("sleep", "1"), ociruntime.WithInitInterpreter("/lib64/ld.so", nil)); err == nil {
		t.Error("WithInitInterpreter without WithInit accepted")
	}
}

// TestInitDeps reads a dynamically linked host program (the shell) and a
// static one (a Go program built with CGO_ENABLED=0).
func TestInitDeps(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	sh, _ = filepath.EvalSymlinks(sh)
	f, err := elf.Open(sh)
	if err != nil {
		t.Skipf("sh is not ELF: %v", err)
	}
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	f.Close()
	if !dynamic {
		t.Skip("sh is static here")
	}
	interp, libs, err := ociruntime.InitDeps(sh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(interp); err != nil || libs["libc.so.6"] == "" {
		t.Errorf("InitDeps(%s) = %q, %v; want the loader and libc", sh, interp, libs)
	}
	for name, p := range libs {
		if filepath.Base(p) != name {
			t.Errorf("library %s found at %s", name, p)
		}
	}

	if _, err := exec.LookPath("go"); err != nil {
		return
	}
	static := filepath.Join(t.TempDir(), "static")
	src := filepath.Join(t.TempDir(), "main.go")
	os.WriteFile(src, []byte("package main\nfunc main() {}\n"), 0o644)
	cmd := exec.Command("go", "build", "-o", static, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("go build: %v\n%s", err, out)
	}
	if interp, libs, err := ociruntime.InitDeps(static); err != nil || interp != "" || len(libs) != 0 {
		t.Errorf("InitDeps(static) = %q, %v, %v; want nothing needed", interp, libs, err)
	}
}
