package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/testregistry"
)

// registryEnv is an Env whose HOME and DOCKER_CONFIG are the test's own,
// with a registry on 127.0.0.1 that needs user "alice", password "s3cret".
func registryEnv(t *testing.T, opts ...testregistry.Opt) (*Env, *testregistry.Registry, string) {
	t.Helper()
	reg, err := testregistry.Start(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	e := NewEnv(t)
	home := t.TempDir()
	dockerDir := filepath.Join(home, ".docker")
	e.ExtraEnv = append(e.ExtraEnv, "HOME="+home, "DOCKER_CONFIG="+dockerDir)
	return e, reg, dockerDir
}

// dockerAuths reads the auths of config.json, checking it is 0600.
func dockerAuths(t *testing.T, dockerDir string) (map[string]map[string]string, string) {
	t.Helper()
	p := filepath.Join(dockerDir, "config.json")
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v, want 0600", st.Mode().Perm())
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var cf struct {
		Auths map[string]map[string]string `json:"auths"`
	}
	if err := json.Unmarshal(data, &cf); err != nil {
		t.Fatalf("config.json: %v\n%s", err, data)
	}
	return cf.Auths, string(data)
}

// TestRegistryRoundTrip: build → tag → push with auth → rm → pull → run,
// against a registry with basic auth and one with the token flow. A wrong
// password is refused with the registry's message; login then push works;
// a push of layers the registry has uploads only the manifest, and to
// another repository mounts them; logout removes the entry.
func TestRegistryRoundTrip(t *testing.T) {
	for mode, opt := range map[string]testregistry.Opt{
		"basic": testregistry.WithBasicAuth("alice", "s3cret"),
		"token": testregistry.WithTokenAuth("alice", "s3cret"),
	} {
		t.Run(mode, func(t *testing.T) {
			e, reg, dockerDir := registryEnv(t, opt, testregistry.WithRepoScopedBlobs())
			ref := reg.Addr() + "/team/app:1"
			e.WriteFile(t, "Dockerfile", "FROM busybox\nRUN echo hello from the registry > /greeting\nCMD [\"cat\", \"/greeting\"]\n")
			e.MustBerth(t, "image", "build", "-t", "app:dev", ".")
			e.MustBerth(t, "image", "tag", "app:dev", ref)

			r := e.Berth(t, "image", "push", ref)
			if r.Code == 0 || !strings.Contains(r.Stderr, "registry "+reg.Addr()) || !strings.Contains(r.Stderr, "berth login") {
				t.Errorf("push before login: want a refusal naming the registry and `berth login`:\n%s", r)
			}

			r = e.Berth(t, "login", reg.Addr(), "-u", "alice", "-p", "wrong")
			if r.Code == 0 || !strings.Contains(r.Stderr, testregistry.ErrorMessage) || !strings.Contains(r.Stderr, reg.Addr()) {
				t.Errorf("wrong password: want the registry's message:\n%s", r)
			}
			if !strings.Contains(r.Stderr, "WARNING! Using --password via the CLI is insecure") {
				t.Errorf("-p: want Docker's warning:\n%s", r)
			}
			if strings.Contains(r.Stdout+strings.ReplaceAll(r.Stderr, "-p wrong", ""), "wrong") {
				t.Errorf("the password is shown:\n%s", r)
			}
			if _, err := os.Stat(filepath.Join(dockerDir, "config.json")); err == nil {
				t.Error("a refused login wrote config.json")
			}

			r = e.BerthStdin(t, "s3cret\n", "login", reg.Addr(), "-u", "alice", "--password-stdin")
			if r.Code != 0 || !strings.Contains(r.Stdout, "Login Succeeded") {
				t.Fatalf("login: %s", r)
			}
			auths, raw := dockerAuths(t, dockerDir)
			if got := auths[reg.Addr()]["auth"]; got != base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) {
				t.Errorf("config.json auths[%s].auth = %q:\n%s", reg.Addr(), got, raw)
			}
			// No credentials given: the stored ones are tried first, as Docker.
			if r := e.Berth(t, "login", reg.Addr()); r.Code != 0 || !strings.Contains(r.Stdout, "Authenticating with existing credentials...") {
				t.Errorf("login with stored credentials:\n%s", r)
			}

			reg.ResetStats()
			r = e.MustBerth(t, "image", "push", ref)
			if !strings.Contains(r.Stdout, "The push refers to repository ["+reg.Addr()+"/team/app]") ||
				!strings.Contains(r.Stdout, ": Pushed") || !strings.Contains(r.Stdout, "1: digest: sha256:") {
				t.Errorf("push output:\n%s", r)
			}
			if st := reg.Stats(); st.BlobUploads < 2 || st.ManifestPuts != 1 {
				t.Errorf("first push: %+v", st)
			}

			e.MustBerth(t, "image", "rm", ref, "app:dev")
			if r := e.Berth(t, "image", "inspect", ref); r.Code == 0 {
				t.Fatalf("image still there after rm:\n%s", r)
			}
			e.MustBerth(t, "image", "pull", ref)
			e.Compose(t, fmt.Sprintf("services:\n  app:\n    image: %s\n    network_mode: none\n", ref))
			r = e.MustBerth(t, "run", "--rm", "app")
			if !strings.Contains(r.Stdout, "hello from the registry") {
				t.Errorf("run of the pulled image:\n%s", r)
			}

			// Layers the registry has: only the manifest goes up.
			e.MustBerth(t, "image", "tag", ref, reg.Addr()+"/team/app:2")
			reg.ResetStats()
			r = e.MustBerth(t, "image", "push", reg.Addr()+"/team/app:2")
			if st := reg.Stats(); st.BlobUploads != 0 || st.ManifestPuts != 1 {
				t.Errorf("push of known layers: registry saw %+v, want only a manifest", st)
			}
			if !strings.Contains(r.Stdout, "Layer already exists") {
				t.Errorf("push of known layers:\n%s", r)
			}
			// Another repository of the same registry: mounted.
			e.MustBerth(t, "image", "tag", ref, reg.Addr()+"/other/app:1")
			reg.ResetStats()
			r = e.MustBerth(t, "image", "push", reg.Addr()+"/other/app:1")
			if st := reg.Stats(); st.BlobUploads != 0 || st.BlobMounts < 2 || st.ManifestPuts != 1 {
				t.Errorf("push to another repository: registry saw %+v, want mounts only", st)
			}
			if !strings.Contains(r.Stdout, "Mounted from team/app") {
				t.Errorf("push to another repository:\n%s", r)
			}

			r = e.MustBerth(t, "logout", reg.Addr())
			if !strings.Contains(r.Stdout, "Removing login credentials for "+reg.Addr()) {
				t.Errorf("logout:\n%s", r)
			}
			if auths, raw := dockerAuths(t, dockerDir); auths[reg.Addr()] != nil {
				t.Errorf("logout left the entry:\n%s", raw)
			}
			if r := e.Berth(t, "logout", reg.Addr()); r.Code != 0 || !strings.Contains(r.Stdout, "Not logged in to "+reg.Addr()) {
				t.Errorf("second logout:\n%s", r)
			}
			if r := e.Berth(t, "logout"); r.Code != 0 || !strings.Contains(r.Stdout, "Not logged in to https://index.docker.io/v1/") {
				t.Errorf("logout of Docker Hub:\n%s", r)
			}
			if r := e.Berth(t, "login", reg.Addr()); r.Code == 0 || !strings.Contains(r.Stderr, "non TTY") {
				t.Errorf("login with nothing stored and no terminal: want an error:\n%s", r)
			}
		})
	}
}

// TestRegistryCredentialHelper: with credsStore set, login stores through
// the helper (config.json keeps an empty entry, no secret), push gets the
// credentials from it, logout erases them.
func TestRegistryCredentialHelper(t *testing.T) {
	e, reg, dockerDir := registryEnv(t, testregistry.WithTokenAuth("alice", "s3cret"))
	bin := t.TempDir()
	build := exec.CommandContext(t.Context(), "go", "build", "-o", filepath.Join(bin, "docker-credential-berthtest"), "./testdata/credhelper")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the helper: %v\n%s", err, out)
	}
	store := filepath.Join(t.TempDir(), "creds.json")
	e.ExtraEnv = append(e.ExtraEnv, "PATH="+bin+":"+os.Getenv("PATH"), "BERTHTEST_CRED_FILE="+store)
	if err := os.MkdirAll(dockerDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dockerDir, "config.json"), []byte(`{"credsStore": "berthtest"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	calls := func() string {
		b, _ := os.ReadFile(store + ".log")
		return strings.Join(strings.Fields(string(b)), ",")
	}

	r := e.BerthStdin(t, "s3cret", "login", "-u", "alice", "--password-stdin", "http://"+reg.Addr())
	if r.Code != 0 || strings.Contains(r.Stderr, "unencrypted") {
		t.Fatalf("login through a helper: %s", r)
	}
	if !strings.HasSuffix(calls(), "store") {
		t.Errorf("helper calls after login: %s", calls())
	}
	auths, raw := dockerAuths(t, dockerDir)
	if a, ok := auths[reg.Addr()]; !ok || len(a) != 0 || strings.Contains(raw, "s3cret") || !strings.Contains(raw, `"credsStore": "berthtest"`) {
		t.Errorf("config.json with a helper:\n%s", raw)
	}
	if b, _ := os.ReadFile(store); !strings.Contains(string(b), `"Secret":"s3cret"`) {
		t.Errorf("the helper did not get the secret: %s", b)
	}

	e.MustBerth(t, "image", "pull", "busybox")
	e.MustBerth(t, "image", "tag", "busybox", reg.Addr()+"/bb:1")
	before := calls()
	e.MustBerth(t, "image", "push", reg.Addr()+"/bb:1")
	if after := calls(); !strings.Contains(strings.TrimPrefix(after, before), "get") {
		t.Errorf("push did not ask the helper: %s → %s", before, after)
	}

	e.MustBerth(t, "logout", reg.Addr())
	if !strings.HasSuffix(calls(), "erase") {
		t.Errorf("helper calls after logout: %s", calls())
	}
	if b, _ := os.ReadFile(store); strings.Contains(string(b), "s3cret") {
		t.Errorf("the helper still holds the secret: %s", b)
	}
	if auths, raw := dockerAuths(t, dockerDir); auths[reg.Addr()] != nil {
		t.Errorf("logout left the entry:\n%s", raw)
	}
}

// TestRegistryComposePush ports Compose's push as its code
// (pkg/compose/push.go) and reference (docs/reference/compose_push.md:
// `build: .` with `image: localhost:5000/…` goes to that registry) define
// it, offline, against a registry on 127.0.0.1: services
// without build: or image: are skipped; image: and build.tags are all
// pushed; a failing push fails the command unless --ignore-push-failures;
// -q prints nothing.
func TestRegistryComposePush(t *testing.T) {
	e, reg, _ := registryEnv(t, testregistry.WithBasicAuth("alice", "s3cret"))
	e.WriteFile(t, "Dockerfile", "FROM busybox\nRUN echo built > /built\n")
	e.Compose(t, fmt.Sprintf(`services:
  built:
    build:
      context: .
      tags: [%[1]s/proj/built:extra]
    image: %[1]s/proj/built:1
  plain:
    image: busybox
  buildonly:
    build: .
`, reg.Addr()))
	e.MustBerth(t, "build", "built")
	e.BerthStdin(t, "s3cret", "login", "-u", "alice", "--password-stdin", reg.Addr())
	r := e.MustBerth(t, "push")
	for _, want := range []string{"plain Skipped", "buildonly Skipped", "Pushing " + reg.Addr() + "/proj/built:1: Pushed", "Pushing " + reg.Addr() + "/proj/built:extra: Pushed"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("push: want %q in:\n%s", want, r)
		}
	}
	if st := reg.Stats(); st.ManifestPuts != 2 {
		t.Errorf("registry: %+v, want the two tags", st)
	}
	if r := e.MustBerth(t, "push", "-q", "built"); r.Stdout+r.Stderr != "" {
		t.Errorf("push -q printed:\n%s", r)
	}

	// --include-deps: a named service's dependencies are pushed too.
	e.Compose(t, fmt.Sprintf(`services:
  app:
    build: .
    image: %[1]s/proj/app:1
    depends_on: [lib]
  lib:
    build: .
    image: %[1]s/proj/lib:1
`, reg.Addr()))
	e.MustBerth(t, "build")
	reg.ResetStats()
	r = e.MustBerth(t, "push", "app")
	if strings.Contains(r.Stderr, "proj/lib") || reg.Stats().ManifestPuts != 1 {
		t.Errorf("push app: pushed its dependency too (%+v):\n%s", reg.Stats(), r)
	}
	r = e.MustBerth(t, "push", "--include-deps", "app")
	if !strings.Contains(r.Stderr, "Pushing "+reg.Addr()+"/proj/lib:1: Pushed") {
		t.Errorf("push --include-deps app:\n%s", r)
	}

	// image push -a: every tag of the repository.
	e.MustBerth(t, "image", "tag", reg.Addr()+"/proj/app:1", reg.Addr()+"/proj/app:2")
	e.MustBerth(t, "image", "tag", reg.Addr()+"/proj/app:1", reg.Addr()+"/proj/app:3")
	reg.ResetStats()
	r = e.MustBerth(t, "image", "push", "-a", reg.Addr()+"/proj/app")
	for _, tag := range []string{"1", "2", "3"} {
		if !strings.Contains(r.Stdout, tag+": digest: sha256:") {
			t.Errorf("image push -a: no line for tag %s:\n%s", tag, r)
		}
	}
	if st := reg.Stats(); st.ManifestPuts != 2 || st.BlobUploads != 0 {
		t.Errorf("image push -a: registry %+v, want the manifests of :2 and :3 (:1 is there) and no blob", st)
	}
	if r := e.Berth(t, "image", "push", "-a", reg.Addr()+"/proj/app:1"); r.Code == 0 {
		t.Errorf("image push -a NAME:TAG: want an error:\n%s", r)
	}

	// A service whose registry refuses: the push fails, unless ignored.
	e.Compose(t, fmt.Sprintf(`services:
  built:
    build: .
    image: %[1]s/proj/built:1
  denied:
    build: .
    image: %[1]s/proj/built:1-denied
`, reg.Addr()))
	e.MustBerth(t, "build")
	e.MustBerth(t, "logout", reg.Addr())
	r = e.Berth(t, "push")
	if r.Code == 0 || !strings.Contains(r.Stderr, "registry "+reg.Addr()) {
		t.Errorf("push without credentials: want a failure naming the registry:\n%s", r)
	}
	r = e.Berth(t, "push", "--ignore-push-failures")
	if r.Code != 0 || !strings.Contains(r.Stderr, "WARNING: Pushing service") {
		t.Errorf("push --ignore-push-failures: want success with warnings:\n%s", r)
	}
}

// TestRegistryLoginPrompt: on a terminal, login asks for the user name
// and the password, and the password is not echoed.
func TestRegistryLoginPrompt(t *testing.T) {
	e, reg, dockerDir := registryEnv(t, testregistry.WithBasicAuth("alice", "s3cret"))
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()

	var mu sync.Mutex
	var seen strings.Builder
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := master.Read(buf)
			mu.Lock()
			seen.Write(buf[:k])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	waitFor := func(s string) {
		t.Helper()
		Eventually(t, 30*time.Second, func() error {
			mu.Lock()
			defer mu.Unlock()
			if !strings.Contains(seen.String(), s) {
				return fmt.Errorf("no %q on the terminal yet: %q", s, seen.String())
			}
			return nil
		})
	}
	cmd := e.Cmd(t.Context(), "login", reg.Addr())
	cmd.Stdin, cmd.Stdout = slave, slave
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor("Username (for " + reg.Addr() + "): ")
	master.Write([]byte("alice\n"))
	waitFor("Password: ")
	mu.Lock()
	before := seen.Len()
	mu.Unlock()
	master.Write([]byte("s3cret\n"))
	waitFor("Login Succeeded")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, stderr.String())
	}
	mu.Lock()
	after := seen.String()[before:]
	mu.Unlock()
	if strings.Contains(after, "s3cret") {
		t.Errorf("the password was echoed: %q", after)
	}
	if auths, raw := dockerAuths(t, dockerDir); auths[reg.Addr()]["auth"] != base64.StdEncoding.EncodeToString([]byte("alice:s3cret")) {
		t.Errorf("config.json:\n%s", raw)
	}
}
