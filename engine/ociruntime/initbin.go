package ociruntime

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// InitDeps says what the init binary at path needs to run in a container
// whose image may hold no libc at all (or another one): nothing when it is
// statically linked (interp ""); else the host's ELF interpreter and the
// host paths of the shared libraries it needs, transitively, by soname.
// A plain `go build` of berth links dynamically where cgo is on; this lets
// that binary be the init too (see WithInitInterpreter).
func InitDeps(path string) (interp string, libs map[string]string, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", nil, fmt.Errorf("init binary %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return "", nil, fmt.Errorf("init binary %s: its interpreter: %w", path, err)
		}
		interp = string(b)
		if i := len(interp); i > 0 && interp[i-1] == 0 {
			interp = interp[:i-1]
		}
	}
	if interp == "" {
		return "", nil, nil
	}
	if _, err := os.Stat(interp); err != nil {
		return "", nil, fmt.Errorf("init binary %s is dynamically linked and its interpreter %s is missing: %w (build berth static: CGO_ENABLED=0, as `make build` does)", path, interp, err)
	}
	dirs := libraryDirs(interp)
	libs = map[string]string{}
	var walk func(file string) error
	walk = func(file string) error {
		ef, err := elf.Open(file)
		if err != nil {
			return err
		}
		needed, err := ef.ImportedLibraries()
		ef.Close()
		if err != nil {
			return err
		}
		for _, name := range needed {
			if _, seen := libs[name]; seen || name == filepath.Base(interp) {
				continue
			}
			found := ""
			for _, d := range dirs {
				if _, err := os.Stat(filepath.Join(d, name)); err == nil {
					found = filepath.Join(d, name)
					break
				}
			}
			if found == "" {
				return fmt.Errorf("library %s not found in %v", name, dirs)
			}
			libs[name] = found
			if err := walk(found); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(path); err != nil {
		return "", nil, fmt.Errorf("init binary %s is dynamically linked: %w (build berth static: CGO_ENABLED=0, as `make build` does)", path, err)
	}
	return interp, libs, nil
}

// libraryDirs are where the host's loader finds libraries by default: the
// multiarch and 64-bit dirs, and the interpreter's own.
func libraryDirs(interp string) []string {
	var dirs []string
	triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "386": "i386-linux-gnu"}[goruntime.GOARCH]
	if triplet != "" {
		dirs = append(dirs, "/lib/"+triplet, "/usr/lib/"+triplet)
	}
	dirs = append(dirs, "/lib64", "/usr/lib64", "/lib", "/usr/lib")
	if real, err := filepath.EvalSymlinks(interp); err == nil {
		dirs = append(dirs, filepath.Dir(real))
	}
	return dirs
}

// Where WithInitInterpreter mounts the host's loader and libraries.
const (
	InitInterpPath = "/.berth/ld.so"
	InitLibDir     = "/.berth/lib"
)

// WithInitInterpreter runs a dynamically linked init (set by WithInit,
// which must come first) through the host's own ELF interpreter, with
// the host's libraries (soname → host path) as its only library path,
// all bind-mounted read-only under /.berth: what libc the image has, if
// any, does not matter. argv becomes InitInterpPath --library-path
// InitLibDir InitPath …, and the loader hands the init its own argv.
func WithInitInterpreter(interp string, libs map[string]string) SpecOpt {
	return func(s *specs.Spec) error {
		p := ensureProcess(s)
		if len(p.Args) == 0 || p.Args[0] != InitPath {
			return errors.New("init interpreter: the process does not run the init (apply WithInit first)")
		}
		p.Args = append([]string{InitInterpPath, "--library-path", InitLibDir}, p.Args...)
		ro := []string{"rbind", "ro", "nosuid", "nodev", "rprivate"}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: InitInterpPath, Type: "bind", Source: interp, Options: ro})
		names := make([]string, 0, len(libs))
		for name := range libs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: InitLibDir + "/" + name, Type: "bind", Source: libs[name], Options: ro})
		}
		return nil
	}
}
