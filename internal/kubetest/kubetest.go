package kubetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Version is the Kubernetes release the assets are built from.
const Version = "v1.37.2"

// DefaultAssetsDir is where scripts/kube-assets.sh puts the binaries when
// neither KUBEBUILDER_ASSETS nor BERTH_KUBE_ASSETS_CACHE says otherwise.
func DefaultAssetsDir() string {
	cache := os.Getenv("BERTH_KUBE_ASSETS_CACHE")
	if cache == "" {
		cache = "/root/.cache/berth-kube"
	}
	return filepath.Join(cache, Version)
}

// AssetsDir is the directory holding kube-apiserver, etcd and kubectl:
// $KUBEBUILDER_ASSETS, else DefaultAssetsDir.
func AssetsDir() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	return DefaultAssetsDir()
}

// Server is a running etcd + kube-apiserver pair.
type Server struct {
	URL        string // https://127.0.0.1:PORT
	Token      string // bearer token of user "admin" (group system:masters)
	Kubeconfig string // a kubeconfig file whose current context is this server
	Kubectl    string // the kubectl of the assets dir
	CAData     []byte // the server's self-signed serving certificate chain
	Ready      time.Duration

	dir   string
	procs []*exec.Cmd
}

// Start starts a control plane for t and stops it (by PID) when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("kube tier skipped: needs root (run `make test` as root; it builds the kube-apiserver assets)")
	}
	assets := AssetsDir()
	for _, b := range []string{"etcd", "kube-apiserver", "kubectl"} {
		if _, err := os.Stat(filepath.Join(assets, b)); err != nil {
			t.Fatalf("kube tier: %s missing from %s (run `make kube-assets`, or set KUBEBUILDER_ASSETS): %v", b, assets, err)
		}
	}
	s, err := start(t.Context(), assets, t.TempDir())
	if s != nil {
		t.Cleanup(func() {
			if err := s.Stop(); err != nil {
				t.Errorf("kubetest: stop: %v", err)
			}
			if t.Failed() {
				for _, f := range []string{"etcd.log", "kube-apiserver.log"} {
					data, _ := os.ReadFile(filepath.Join(s.dir, f))
					t.Logf("%s (tail):\n%s", f, tail(data, 3000))
				}
			}
		})
	}
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	return s
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func start(ctx context.Context, assets, dir string) (*Server, error) {
	began := time.Now()
	s := &Server{dir: dir, Kubectl: filepath.Join(assets, "kubectl")}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	if err := s.spawn(filepath.Join(assets, "etcd"), "etcd.log",
		"--name=kubetest",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=kubetest="+peerURL,
	); err != nil {
		return s, err
	}

	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return s, err
	}
	s.Token = hex.EncodeToString(tok)
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(s.Token+`,admin,admin,"system:masters"`+"\n"), 0o600); err != nil {
		return s, err
	}
	saKey := filepath.Join(dir, "sa.key")
	if err := writeRSAKey(saKey); err != nil {
		return s, err
	}
	certDir := filepath.Join(dir, "certs")
	port := strconv.Itoa(ports[2])
	s.URL = "https://127.0.0.1:" + port
	if err := s.spawn(filepath.Join(assets, "kube-apiserver"), "kube-apiserver.log",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+port,
		"--cert-dir="+certDir,
		"--endpoint-reconciler-type=none",
		"--token-auth-file="+tokens,
		"--authorization-mode=RBAC",
		"--service-account-key-file="+saKey,
		"--service-account-signing-key-file="+saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--enable-priority-and-fairness=false",
	); err != nil {
		return s, err
	}
	if err := s.waitReady(ctx, filepath.Join(certDir, "apiserver.crt")); err != nil {
		return s, err
	}
	s.Ready = time.Since(began)
	s.Kubeconfig = filepath.Join(dir, "kubeconfig")
	return s, os.WriteFile(s.Kubeconfig, s.kubeconfig(), 0o600)
}

func (s *Server) spawn(bin, log string, args ...string) error {
	f, err := os.Create(filepath.Join(s.dir, log))
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so a Ctrl-C of `go test` reaches it only
	// through Stop, after the test's own cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	s.procs = append(s.procs, cmd)
	return nil
}

// waitReady polls /readyz with the admin token until it answers 200.
func (s *Server) waitReady(ctx context.Context, crt string) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		// The serving certificate does not exist until the server wrote it;
		// readiness is asked before it is trusted, and the kubeconfig
		// carries the certificate itself.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // 127.0.0.1, our own server
	}}
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		for _, c := range s.procs {
			if c.ProcessState != nil {
				return fmt.Errorf("%s exited: %v", c.Path, c.ProcessState)
			}
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+s.Token)
		resp, err := client.Do(req)
		if err == nil {
			body := make([]byte, 512)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				data, err := os.ReadFile(crt)
				if err != nil {
					return fmt.Errorf("serving certificate: %w", err)
				}
				s.CAData = data
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(body[:n]))
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("kube-apiserver not ready after 60s: %s", last)
}

func (s *Server) kubeconfig() []byte {
	return []byte(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: ` + s.URL + `
    certificate-authority-data: ` + base64.StdEncoding.EncodeToString(s.CAData) + `
users:
- name: admin
  user:
    token: ` + s.Token + `
contexts:
- name: kubetest
  context:
    cluster: kubetest
    user: admin
current-context: kubetest
`)
}

// RSS is the resident memory of the kube-apiserver process in bytes.
func (s *Server) RSS() (int64, error) {
	if len(s.procs) < 2 {
		return 0, errors.New("kube-apiserver not started")
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.procs[1].Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// Stop stops kube-apiserver then etcd, each by its PID: SIGTERM, then
// SIGKILL after 10 s.
func (s *Server) Stop() error {
	var errs []error
	for i := len(s.procs) - 1; i >= 0; i-- {
		c := s.procs[i]
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		_ = c.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.Process.Kill()
			if err := <-done; err != nil && !isSignal(err) {
				errs = append(errs, err)
			}
		}
	}
	s.procs = nil
	return errors.Join(errs...)
}

func isSignal(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func writeRSAKey(path string) error {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der := x509.MarshalPKCS1PrivateKey(k)
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der}), 0o600)
}
