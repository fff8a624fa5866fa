package translate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/project"
)

// loadDir loads the compose.yaml in dir as berth does, with a fixed
// environment so results do not depend on the machine.
func loadDir(t *testing.T, dir string) *types.Project {
	t.Helper()
	p, _ := loadDirModel(t, dir)
	return p
}

// loadDirModel is loadDir and the file's raw model (Options.Model).
func loadDirModel(t *testing.T, dir string) (*types.Project, map[string]any) {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	o := project.Options{WorkingDir: abs, ProjectDir: abs, Environ: []string{"BERTH_TEST=1"}}
	p, err := project.Load(t.Context(), o)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	m, err := project.Model(t.Context(), o)
	if err != nil {
		t.Fatalf("model %s: %v", dir, err)
	}
	return p, m
}

// loadYAML writes a compose file (and extra files) to a temporary
// directory and loads it.
func loadYAML(t *testing.T, compose string, files ...string) *types.Project {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(compose), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(files); i += 2 {
		p := filepath.Join(dir, files[i])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(files[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return loadDir(t, dir)
}

// mustTranslate translates and fails the test on refusal.
func mustTranslate(t *testing.T, p *types.Project, o Options) *Result {
	t.Helper()
	r, err := Translate(p, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// find returns the object of kind and name.
func find[T any](t *testing.T, r *Result, kind, name string) T {
	t.Helper()
	for _, o := range r.Objects {
		if o.Obj.GetObjectKind().GroupVersionKind().Kind == kind && objectName(o) == name {
			if v, ok := o.Obj.(T); ok {
				return v
			}
			t.Fatalf("%s/%s is a %T", kind, name, o.Obj)
		}
	}
	var names []string
	for _, o := range r.Objects {
		names = append(names, objectID(o))
	}
	t.Fatalf("no %s/%s among %s", kind, name, strings.Join(names, ", "))
	var zero T
	return zero
}

// line returns the first report line for key.
func reportLine(t *testing.T, r *Result, key string) ReportLine {
	t.Helper()
	for _, l := range r.Report {
		if l.Key == key {
			return l
		}
	}
	t.Fatalf("no report line for %s", key)
	return ReportLine{}
}
