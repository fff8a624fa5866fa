package cluster

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/internal/kubetest"
	"github.com/berth-dev/berth/k8s/translate"
	"github.com/berth-dev/berth/project"
)

// corpus is every compose project the translation is tried on: the
// translator's corpus (k8s/translate/testdata/compose: directories, or
// single files) and the examples.
func corpus(t *testing.T) map[string]project.Options {
	t.Helper()
	out := map[string]project.Options{}
	root := repoRoot(t)
	for _, base := range []string{filepath.Join(root, "k8s", "translate", "testdata", "compose"), filepath.Join(root, "examples")} {
		ents, err := os.ReadDir(base)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range ents {
			p := filepath.Join(base, e.Name())
			rel, _ := filepath.Rel(root, p)
			switch {
			case e.IsDir():
				out[rel] = project.Options{WorkingDir: p, ProjectDir: p, Environ: []string{"BERTH_TEST=1"}}
			case strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml"):
				out[rel] = project.Options{WorkingDir: base, Files: []string{p}, Environ: []string{"BERTH_TEST=1"}}
			}
		}
	}
	return out
}

// TestRenderValidatesOnServer: every compose file of the corpus either
// renders (translate.WriteDir, what `berth k8s render -o DIR` writes) into
// manifests that `kubectl apply --dry-run=server` of the assets' kubectl
// accepts, or is refused with a report line saying so. A file compose-go
// itself cannot load is counted apart.
func TestRenderValidatesOnServer(t *testing.T) {
	s := kubetest.Start(t)
	c := connect(t, s, "corpus", "")
	var accepted, refused, unloadable, objects int
	for name, o := range corpus(t) {
		t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
			p, err := project.Load(t.Context(), o)
			if err != nil {
				unloadable++
				t.Logf("not loadable (compose-go): %v", err)
				return
			}
			model, err := project.Model(t.Context(), o)
			if err != nil {
				t.Fatalf("model: %v", err)
			}
			res, err := translate.Translate(p, translate.Options{Model: model})
			var ref *translate.RefusalError
			if errors.As(err, &ref) {
				if !hasRefusal(res) {
					t.Errorf("refused without a report line: %v", err)
				}
				refused++
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("translate: %v", err)
			}
			dir := t.TempDir()
			if err := translate.WriteDir(res, dir); err != nil {
				t.Fatal(err)
			}
			ensureNamespace(t, c, res.Namespace)
			args := []string{"--kubeconfig", s.Kubeconfig, "apply", "--dry-run=server", "-o", "name"}
			for _, ob := range res.Objects {
				if ob.Obj.GetObjectKind().GroupVersionKind().Kind != "Namespace" {
					args = append(args, "-f", filepath.Join(dir, translate.FileName(ob)))
				}
			}
			out, err := exec.CommandContext(t.Context(), s.Kubectl, args...).CombinedOutput()
			if err != nil {
				t.Errorf("kubectl apply --dry-run=server rejects the render of %s: %v\n%s", name, err, out)
				return
			}
			if n := strings.Count(strings.TrimSpace(string(out)), "\n") + 1; n != len(res.Objects)-1 {
				t.Errorf("kubectl accepted %d objects, rendered %d (+ namespace):\n%s", n, len(res.Objects)-1, out)
			}
			accepted++
			objects += len(res.Objects)
		})
	}
	t.Logf("corpus: %d projects rendered and accepted by the server (%d objects), %d refused with report lines, %d not loadable",
		accepted, objects, refused, unloadable)
	if accepted == 0 {
		t.Error("no project of the corpus was accepted")
	}
}

func hasRefusal(r *translate.Result) bool {
	if r == nil {
		return false
	}
	for _, l := range r.Report {
		if l.Verdict == translate.Refused && l.Key != "" {
			return true
		}
	}
	return false
}

// ensureNamespace creates ns for real: a dry-run apply of namespaced
// objects needs their namespace to exist.
func ensureNamespace(t *testing.T, c *Client, ns string) {
	t.Helper()
	_, err := c.kube.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}
