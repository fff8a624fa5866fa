//go:build k8s

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestK8sRender(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("name: rendertest\nservices:\n  web:\n    image: nginx\n    ports: [\"8080:80\"]\n"), 0o644)
	out, errs, code := berth(t, dir, "k8s", "render", "--service-type", "LoadBalancer", "--namespace", "demo")
	if code != 0 {
		t.Fatalf("code %d stderr %q", code, errs)
	}
	for _, want := range []string{"kind: Namespace\n", "kind: Deployment\n", "type: LoadBalancer\n", "namespace: demo\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "| services.web.ports | mapped | LoadBalancer Service") {
		t.Errorf("stderr has no report:\n%s", errs)
	}

	outDir := filepath.Join(dir, "manifests")
	if _, errs, code = berth(t, dir, "k8s", "render", "-o", outDir); code != 0 {
		t.Fatalf("-o: code %d stderr %q", code, errs)
	}
	for _, f := range []string{"kustomization.yaml", "translation-report.md", "deployment-web.yaml", "service-web-published.yaml"} {
		if _, err := os.Stat(filepath.Join(outDir, f)); err != nil {
			t.Error(err)
		}
	}

	os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte("services:\n  web:\n    image: nginx\n    volumes: [\"/etc/passwd:/etc/passwd\"]\n"), 0o644)
	out, errs, code = berth(t, dir, "k8s", "render")
	if code == 0 || out != "" || !strings.Contains(errs, "services.web.volumes.0") || !strings.Contains(errs, "/etc/passwd") {
		t.Errorf("refusal: code %d stdout %q stderr %q", code, out, errs)
	}
	if _, errs, code = berth(t, dir, "k8s", "render", "--service-type", "ClusterIP"); code == 0 || !strings.Contains(errs, "--service-type") {
		t.Errorf("bad --service-type: code %d stderr %q", code, errs)
	}
}
