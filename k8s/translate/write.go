package translate

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// ReportFile is the name of the translation report WriteDir writes.
const ReportFile = "translation-report.md"

// MarshalObject is one object as YAML, without the empty status and
// null timestamps typed objects carry.
func MarshalObject(obj runtime.Object) ([]byte, error) {
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	prune(u)
	delete(u, "status") // translated objects have no status to say
	if sp, ok := u["spec"].(map[string]any); ok && len(sp) == 0 {
		delete(u, "spec")
	}
	return yaml.Marshal(u)
}

// prune drops null values (creationTimestamp: null and the like).
func prune(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if m, ok := e.(map[string]any); e == nil || (ok && len(m) == 0 && k == "resources") {
				delete(x, k) // null timestamps, empty container resources
				continue
			}
			prune(e)
		}
	case []any:
		for _, e := range x {
			prune(e)
		}
	}
}

// Manifests is the objects as one multi-document YAML stream, in apply
// order (the Namespace first).
func Manifests(r *Result) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range r.Objects {
		y, err := MarshalObject(o.Obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", objectID(o), err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

// FileName is the file WriteDir writes an object to: kind-name.yaml.
func FileName(o Object) string {
	return strings.ToLower(o.Obj.GetObjectKind().GroupVersionKind().Kind) + "-" + objectName(o) + ".yaml"
}

// WriteDir writes one YAML file per object, a kustomization.yaml listing
// them in apply order, and the translation report, into dir.
func WriteDir(r *Result, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var kust strings.Builder
	kust.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, o := range r.Objects {
		y, err := MarshalObject(o.Obj)
		if err != nil {
			return fmt.Errorf("%s: %w", objectID(o), err)
		}
		name := FileName(o)
		if err := os.WriteFile(filepath.Join(dir, name), y, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&kust, "- %s\n", name)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kust.String()), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, ReportFile))
	if err != nil {
		return err
	}
	if err := WriteReport(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteReport writes the translation report as a Markdown table.
func WriteReport(w io.Writer, r *Result) error {
	counts := map[string]int{}
	for _, l := range r.Report {
		counts[l.Verdict]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Translation report (namespace %s)\n\n", r.Namespace)
	fmt.Fprintf(&b, "%d objects; keys: %d mapped, %d approximated, %d dropped, %d refused.\n\n",
		len(r.Objects), counts[Mapped], counts[Approximated], counts[Dropped], counts[Refused])
	b.WriteString("| key | verdict | detail |\n|---|---|---|\n")
	for _, l := range r.Report {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", l.Key, l.Verdict, strings.ReplaceAll(l.Detail, "|", `\|`))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func objectName(o Object) string {
	if m, ok := o.Obj.(interface{ GetName() string }); ok {
		return m.GetName()
	}
	return ""
}

func objectID(o Object) string {
	return o.Obj.GetObjectKind().GroupVersionKind().Kind + "/" + objectName(o)
}
