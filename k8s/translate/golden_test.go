package translate

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGolden translates every compose file of the corpus (berth's
// examples, Docker Compose's e2e fixtures, the compose-spec conformance
// tests): each either translates, with objects whose names and labels
// the API server accepts and a report line for every key of the file, or
// is refused with report lines naming the key. The manifests and reports
// are compared with testdata/golden (go test -update rewrites them).
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/compose/*/compose.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	var rendered, refused []string
	for _, f := range dirs {
		dir := filepath.Dir(f)
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			p, model := loadDirModel(t, dir)
			r, err := Translate(p, Options{Model: model})
			var rerr *RefusalError
			switch {
			case errors.As(err, &rerr):
				refused = append(refused, name)
				for _, l := range rerr.Refusals {
					if !strings.Contains(l.Detail, "") || l.Key == "" || l.Detail == "" {
						t.Errorf("refusal without key or reason: %+v", l)
					}
				}
			case err != nil:
				t.Fatal(err)
			default:
				rendered = append(rendered, name)
				checkObjects(t, r)
			}
			checkCoverage(t, f, r)
			var report bytes.Buffer
			if err := WriteReport(&report, r); err != nil {
				t.Fatal(err)
			}
			compareGolden(t, filepath.Join("testdata/golden", name+".report.md"), report.Bytes())
			if err == nil {
				y, merr := Manifests(r)
				if merr != nil {
					t.Fatal(merr)
				}
				compareGolden(t, filepath.Join("testdata/golden", name+".yaml"), y)
			}
		})
	}
	sort.Strings(refused)
	t.Logf("corpus: %d compose files, %d rendered, %d refused (%s)", len(dirs), len(rendered), len(refused), strings.Join(refused, ", "))
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./k8s/translate -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the translation (go test ./k8s/translate -update rewrites it); got:\n%s", path, got)
	}
}

// checkObjects checks what the API server would check first: names,
// namespaces and labels, and that the YAML is one object per document.
func checkObjects(t *testing.T, r *Result) {
	t.Helper()
	seen := map[string]bool{}
	for _, o := range r.Objects {
		y, err := MarshalObject(o.Obj)
		if err != nil {
			t.Fatal(err)
		}
		var u unstructured.Unstructured
		if err := yaml.Unmarshal(y, &u.Object); err != nil {
			t.Fatalf("%s: %v", objectID(o), err)
		}
		id := u.GetKind() + "/" + u.GetName()
		if seen[id] {
			t.Errorf("%s twice", id)
		}
		seen[id] = true
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			t.Errorf("%s: no apiVersion/kind", id)
		}
		for _, e := range validation.IsDNS1123Subdomain(u.GetName()) {
			t.Errorf("%s: name: %s", id, e)
		}
		if u.GetKind() == "Service" {
			for _, e := range validation.IsDNS1035Label(u.GetName()) {
				t.Errorf("%s: Service name: %s", id, e)
			}
		}
		if u.GetKind() != "Namespace" && u.GetNamespace() != r.Namespace {
			t.Errorf("%s: namespace %q", id, u.GetNamespace())
		}
		checkLabels(t, id, u.GetLabels())
		if tl, ok, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "labels"); ok {
			checkLabels(t, id+" pod template", tl)
		}
		if len(o.Key) == 0 {
			t.Errorf("%s: no compose key", id)
		}
	}
}

func checkLabels(t *testing.T, id string, labels map[string]string) {
	t.Helper()
	if labels[LabelManagedBy] != ManagedBy {
		t.Errorf("%s: no %s label", id, LabelManagedBy)
	}
	for k, v := range labels {
		for _, e := range validation.IsQualifiedName(k) {
			t.Errorf("%s: label key %q: %s", id, k, e)
		}
		for _, e := range validation.IsValidLabelValue(v) {
			t.Errorf("%s: label %s value %q: %s", id, k, v, e)
		}
	}
}

// checkCoverage checks that every key the compose file sets, at the top
// level and in each service, has a report line.
func checkCoverage(t *testing.T, file string, r *Result) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, l := range r.Report {
		have[l.Key] = true
	}
	covered := func(key string) bool {
		if have[key] {
			return true
		}
		for k := range have {
			if strings.HasPrefix(k, key+".") {
				return true
			}
		}
		return false
	}
	var missing []string
	for top, v := range doc {
		switch top {
		case "services", "volumes", "networks", "configs", "secrets":
			m, _ := v.(map[string]any)
			for name, body := range m {
				if top == "networks" && name == "default" && body == nil {
					continue
				}
				if top != "services" {
					if !covered(top + "." + name) {
						missing = append(missing, top+"."+name)
					}
					continue
				}
				sm, _ := body.(map[string]any)
				if !covered("services." + name) {
					missing = append(missing, "services."+name)
				}
				if whole(r, "services."+name) {
					continue
				}
				for key := range sm {
					if key == "x-develop" { // compose-go's legacy name of develop
						key = "develop"
					}
					if k := fmt.Sprintf("services.%s.%s", name, key); !covered(k) {
						missing = append(missing, k)
					}
				}
			}
		case "version", "include":
			// version is obsolete; include is resolved at load time
		default:
			if !covered(top) {
				missing = append(missing, top)
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no report line for %s", m)
	}
}

// whole says whether the service as a whole was dropped or refused.
func whole(r *Result, key string) bool {
	for _, l := range r.Report {
		if l.Key == key && (l.Verdict == Dropped || l.Verdict == Refused) {
			return true
		}
	}
	return false
}
