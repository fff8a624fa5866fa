package kubetest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStart: the control plane answers kubectl with the kubeconfig Start
// wrote, reports the pinned version, and serves the core API groups.
func TestStart(t *testing.T) {
	s := Start(t)
	rss, err := s.RSS()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver ready in %v, RSS %d MiB", s.Ready.Round(100e6), rss>>20)
	out, err := exec.CommandContext(t.Context(), s.Kubectl, "--kubeconfig", s.Kubeconfig, "version", "-o", "yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl version: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "gitVersion: "+Version) {
		t.Errorf("kubectl version: want server %s:\n%s", Version, out)
	}
	out, err = exec.CommandContext(t.Context(), s.Kubectl, "--kubeconfig", s.Kubeconfig, "api-resources", "-o", "name").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl api-resources: %v\n%s", err, out)
	}
	for _, r := range []string{"deployments.apps", "jobs.batch", "networkpolicies.networking.k8s.io", "persistentvolumeclaims"} {
		if !strings.Contains(string(out), r+"\n") {
			t.Errorf("api-resources lacks %s", r)
		}
	}
}
