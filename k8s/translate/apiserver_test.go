package translate

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestGoldenOnAPIServer applies every golden manifest with
// --dry-run=server to a real kube-apiserver (with etcd), so each object
// of the corpus passes the server's validation and defaulting. It runs
// where KUBEBUILDER_ASSETS names a directory holding kube-apiserver,
// etcd and kubectl (the cache `make` builds them into); elsewhere it is
// skipped.
func TestGoldenOnAPIServer(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" || testing.Short() {
		t.Skip("KUBEBUILDER_ASSETS is not set")
	}
	bin := func(name string) string {
		if p := filepath.Join(assets, name); fileExists(p) {
			return p
		}
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("no %s in %s or on PATH", name, assets)
		}
		return p
	}
	kubectl := startAPIServer(t, bin("etcd"), bin("kube-apiserver"), bin("kubectl"))

	files, err := filepath.Glob("testdata/golden/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	// Namespaces are really created (a dry run would not make them), then
	// every file is applied as a dry run in one call.
	namespaces := map[string]bool{}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if _, rest, ok := strings.Cut(string(data), "kind: Namespace\nmetadata:\n"); ok {
			for _, l := range strings.Split(rest, "\n") {
				if n, ok := strings.CutPrefix(l, "  name: "); ok {
					namespaces[n] = true
					break
				}
			}
		}
	}
	var ns bytes.Buffer
	for _, n := range sortedKeys(namespaces) {
		fmt.Fprintf(&ns, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n---\n", n)
	}
	if out, err := kubectl(&ns, "apply", "--server-side", "-f", "-"); err != nil {
		t.Fatalf("namespaces: %v\n%s", err, out)
	}
	args := []string{"apply", "--server-side", "--dry-run=server"}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	out, err := kubectl(nil, args...)
	var rejected []string
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.Contains(l, "serverside-applied (server dry run)") {
			rejected = append(rejected, l)
		}
	}
	sort.Strings(rejected)
	if err != nil || len(rejected) > 0 {
		t.Errorf("the API server rejected objects (%v):\n%s", err, strings.Join(rejected, "\n"))
	}
	t.Logf("%d manifests (%d objects) accepted by the API server", len(files), strings.Count(string(out), "serverside-applied"))
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// freePort is a TCP port on 127.0.0.1 free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startAPIServer starts etcd and kube-apiserver on 127.0.0.1 for the
// test and returns a kubectl bound to it; both stop when the test ends.
func startAPIServer(t *testing.T, etcd, apiserver, kubectlBin string) func(stdin *bytes.Buffer, args ...string) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	start := func(name string, args ...string) {
		log, err := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(name, args...)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			log.Close()
		})
	}
	client, peer, api := freePort(t), freePort(t), freePort(t)
	start(etcd, "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", fmt.Sprintf("http://127.0.0.1:%d", client),
		"--advertise-client-urls", fmt.Sprintf("http://127.0.0.1:%d", client),
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer))

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "sa.key")
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	tokens := filepath.Join(dir, "tokens.csv")
	if os.WriteFile(keyFile, pemKey, 0o600) != nil || os.WriteFile(tokens, []byte("berth-test-token,admin,admin,system:masters\n"), 0o600) != nil {
		t.Fatal("writing the server's key and token files")
	}
	start(apiserver,
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", client),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", api),
		"--cert-dir", filepath.Join(dir, "certs"), "--service-cluster-ip-range=10.250.0.0/24",
		"--token-auth-file", tokens, "--authorization-mode=RBAC",
		// kubelets run privileged pods where the cluster allows them;
		// the API server refuses them unless told so
		"--allow-privileged=true",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file", keyFile, "--service-account-signing-key-file", keyFile,
		"--endpoint-reconciler-type=none")

	kubectl := func(stdin *bytes.Buffer, args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		defer cancel()
		all := append([]string{fmt.Sprintf("--server=https://127.0.0.1:%d", api), "--token=berth-test-token", "--insecure-skip-tls-verify=true"}, args...)
		cmd := exec.CommandContext(ctx, kubectlBin, all...)
		if stdin != nil {
			cmd.Stdin = stdin
		}
		return cmd.CombinedOutput()
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if _, err := kubectl(nil, "get", "--raw", "/readyz"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, filepath.Base(apiserver)+".log"))
			t.Fatalf("kube-apiserver not ready after 90s; its log ends:\n%s", tail(b, 3000))
		}
		time.Sleep(500 * time.Millisecond)
	}
	return kubectl
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
