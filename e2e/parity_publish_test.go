package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parityPublishFixtures are Compose's fixtures/publish files. Those the
// Compose tests below name but the stored copy of docker/compose lacks
// (compose-build-only.yml, common.yaml, oci/test.env) or has only in an
// older version (compose-environment.yml and compose-multi-env-config.yml
// before MYSQL_ROOT_PASSWORD, DB_PASSWORD and API_KEY) are written from
// what the tests assert of them.
var parityPublishFixtures = map[string]string{
	"compose-env-file.yml": `services:
  serviceA:
    image: "alpine:3.12"
    env_file:
      - publish.env
  serviceB:
    image: "alpine:3.12"
`,
	"compose-environment.yml": `services:
  serviceA:
    image: "alpine:3.12"
    environment:
        - "FOO=bar"
        - "MYSQL_ROOT_PASSWORD=example"
  serviceB:
    image: "alpine:3.12"
`,
	"compose-interpolated-env.yml": `services:
  serviceA:
    image: "alpine:3.12"
    environment:
      TEST: "${SOMEVAR}"
`,
	"compose-multi-env-config.yml": `services:
  serviceA:
    image: "alpine:3.12"
    environment:
      - "FOO=bar"
      - "DB_PASSWORD=example"
  serviceB:
    image: "alpine:3.12"
    env_file:
      - publish.env
    environment:
      - "BAR=baz"
      - "API_KEY=example"
`,
	"compose-with-extends.yml": `services:
  test:
    extends:
      file: common.yaml
      service: foo
`,
	"common.yaml": `services:
  foo:
    image: bar
`,
	"compose-bind-mount.yml": `services:
  serviceA:
    image: a
    volumes:
      - .:/user-data
`,
	"compose-build-only.yml": `services:
  serviceA:
    build: .
  serviceB:
    build:
      context: .
      dockerfile: Dockerfile
`,
	"Dockerfile": "FROM alpine:latest\n",
	"compose-local-include.yml": `include:
  - common.yaml

services:
  test:
    image: test`,
	"compose-sensitive.yml": `services:
  serviceA:
    image: "alpine:3.12"
    environment:
      - AWS_ACCESS_KEY_ID=A3TX1234567890ABCDEF
      - AWS_SECRET_ACCESS_KEY=aws"12345+67890/abcdefghijklm+NOPQRSTUVWXYZ+"
    configs:
      - myconfig
  serviceB:
    image: "alpine:3.12"
    env_file:
      - publish-sensitive.env
    secrets:
      - mysecret
configs:
  myconfig:
    file: config.txt
secrets:
  mysecret:
    file: secret.txt`,
	"publish.env":           "FOO=bar\n",
	"publish-sensitive.env": "GITHUB_TOKEN=ghp_1234567890abcdefghijklmnopqrstuvwxyz\n",
	"secret.txt":            "-----BEGIN DSA PRIVATE KEY-----\nwxyz+ABC=\n-----END DSA PRIVATE KEY-----",
	"config.txt":            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
	"another/compose.yml":   "services:\n  foo:\n    image: bar",
	"oci/compose.yaml": `services:
  app:
    extends:
      file: extends.yaml
      service: test`,
	"oci/compose-override.yaml": "services:\n  app:\n    env_file: test.env",
	"oci/extends.yaml":          "services:\n  test:\n    image: alpine",
	"oci/test.env":              "HELLO=WORLD\n",
}

// publishEnv is a test's Env with Compose's publish fixtures in its
// project dir; publish runs the `publish` command of Compose's step on
// fixture file (with -p, as Compose's tests do).
func publishEnv(t *testing.T) *Env {
	t.Helper()
	e := parityEnv(t, "")
	for name, content := range parityPublishFixtures {
		e.WriteFile(t, name, content)
	}
	return e
}

func publishArgs(e *Env, file string, args ...string) []string {
	return append([]string{"-f", file, "-p", e.Project, "publish"}, args...)
}

// Compose: publish_test.go TestPublishPromptEnvFile.
func TestParityComposePublishPromptEnvFile(t *testing.T) {
	e := publishEnv(t)
	// declining the env prompt aborts the publication
	r := e.BerthStdin(t, "n\n", publishArgs(e, "compose-env-file.yml", "test/test", "--dry-run")...)
	wantCode(t, r, 130, "publish, env prompt declined")
	wantOut(t, r, "you are about to publish env-related declarations within your OCI artifact.",
		`service "serviceA": env_file declared`,
		"Are you ok to publish these env declarations?")
	wantNotOut(t, r, "test/test published")
	// --with-env publishes without prompting
	r = e.MustBerth(t, publishArgs(e, "compose-env-file.yml", "test/test", "--with-env", "-y", "--dry-run")...)
	wantOut(t, r, "test/test publishing", "test/test published")
}

// Compose: publish_test.go TestPublishPromptSuspiciousEnv.
func TestParityComposePublishPromptSuspiciousEnv(t *testing.T) {
	e := publishEnv(t)
	r := e.BerthStdin(t, "n\n", publishArgs(e, "compose-environment.yml", "test/test", "--dry-run")...)
	wantCode(t, r, 130, "publish, env prompt declined")
	wantOut(t, r, `service "serviceA": literal value for "MYSQL_ROOT_PASSWORD"`)
	wantNotOut(t, r, `"FOO"`) // FOO does not look like a secret
	r = e.MustBerth(t, publishArgs(e, "compose-environment.yml", "test/test", "--with-env", "-y", "--dry-run")...)
	wantOut(t, r, "test/test publishing", "test/test published")
}

// Compose: publish_test.go TestPublishInterpolatedEnv.
func TestParityComposePublishInterpolatedEnv(t *testing.T) {
	e := publishEnv(t)
	r := e.MustBerth(t, publishArgs(e, "compose-interpolated-env.yml", "test/test", "-y", "--dry-run")...)
	wantOut(t, r, "test/test publishing", "test/test published")
	// and without -y: no prompt at all (stdin is empty, a prompt would decline)
	r = e.MustBerth(t, publishArgs(e, "compose-interpolated-env.yml", "test/test", "--dry-run")...)
	wantNotOut(t, r, "env-related declarations")
	wantOut(t, r, "test/test published")
}

// Compose: publish_test.go TestPublishPromptAggregatesFindings.
func TestParityComposePublishPromptAggregatesFindings(t *testing.T) {
	e := publishEnv(t)
	r := e.BerthStdin(t, "n\n", publishArgs(e, "compose-multi-env-config.yml", "test/test", "--dry-run")...)
	wantCode(t, r, 130, "publish, env prompt declined")
	wantOut(t, r, `service "serviceB": env_file declared`,
		`service "serviceA": literal value for "DB_PASSWORD"`,
		`service "serviceB": literal value for "API_KEY"`,
		"Use --with-env to silence this prompt")
}

// Compose: publish_test.go TestPublishWithExtends.
func TestParityComposePublishWithExtends(t *testing.T) {
	e := publishEnv(t)
	r := e.MustBerth(t, publishArgs(e, "compose-with-extends.yml", "test/test", "--dry-run")...)
	wantOut(t, r, "test/test published")
}

// Compose: publish_test.go TestPublishBindMount.
func TestParityComposePublishBindMount(t *testing.T) {
	e := publishEnv(t)
	r := e.BerthStdin(t, "n\n", publishArgs(e, "compose-bind-mount.yml", "test/test", "--dry-run")...)
	wantCode(t, r, 130, "publish, bind-mount prompt declined")
	wantOut(t, r, "you are about to publish bind mounts declaration within your OCI artifact.",
		e.Dir+":/user-data", "Are you ok to publish these bind mount declarations?")
	wantNotOut(t, r, "test/test published")
	r = e.BerthStdin(t, "y\n", publishArgs(e, "compose-bind-mount.yml", "test/test", "--dry-run")...)
	wantCode(t, r, 0, "publish, bind-mount prompt accepted")
	wantOut(t, r, ":/user-data", "test/test published")
}

// Compose: publish_test.go TestPublishBuildOnly.
func TestParityComposePublishBuildOnly(t *testing.T) {
	e := publishEnv(t)
	r := e.Berth(t, publishArgs(e, "compose-build-only.yml", "test/test", "--with-env", "-y", "--dry-run")...)
	wantCode(t, r, 1, "publish of build-only services")
	wantOut(t, r, "your Compose stack cannot be published as it only contains a build section for service(s):",
		"serviceA", "serviceB")
}

// Compose: publish_test.go TestPublishLocalInclude.
func TestParityComposePublishLocalInclude(t *testing.T) {
	e := publishEnv(t)
	r := e.Berth(t, publishArgs(e, "compose-local-include.yml", "test/test", "--dry-run")...)
	wantCode(t, r, 1, "publish with a local include")
	wantOut(t, r, "cannot publish compose file with local includes")
}

// Compose: publish_test.go TestPublishDetectSensitiveData.
func TestParityComposePublishDetectSensitiveData(t *testing.T) {
	e := publishEnv(t)
	r := e.BerthStdin(t, "n\n", publishArgs(e, "compose-sensitive.yml", "test/test", "--with-env", "--dry-run")...)
	wantCode(t, r, 130, "publish, sensitive-data prompt declined")
	wantOut(t, r, "you are about to publish sensitive data within your OCI artifact.\n",
		"please double check that you are not leaking sensitive data",
		"AWS Client ID\n\"services.serviceA.environment.AWS_ACCESS_KEY_ID\": A3TX1234567890ABCDEF",
		"AWS Secret Key\n\"services.serviceA.environment.AWS_SECRET_ACCESS_KEY\": aws\"12345+67890/abcdefghijklm+NOPQRSTUVWXYZ+\"",
		"Github authentication\n\"GITHUB_TOKEN\": ghp_1234567890abcdefghijklmnopqrstuvwxyz",
		"JSON Web Token\n\"\": eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."+
			"eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw",
		"Private Key\n\"\": -----BEGIN DSA PRIVATE KEY-----\nwxyz+ABC=\n-----END DSA PRIVATE KEY-----")
}

// Compose: publish_test.go TestPublish. The registry is the suite's (on
// 127.0.0.1) instead of `docker run registry:3`, the repository the
// test's own. The second half of Compose's test (publish of
// compose-interpolated.yaml, then `up` of it declining Compose's
// remote-stack prompt) is not ported: berth's up asks no such question.
func TestParityComposePublish(t *testing.T) {
	e := publishEnv(t)
	registry := suite.registry.Addr()
	repo := fmt.Sprintf("%s/%s", registry, e.Project)
	e.MustBerth(t, "-f", "./oci/compose.yaml", "-f", "./oci/compose-override.yaml",
		"-p", e.Project, "publish", "--with-env", "--yes", "--insecure-registry", repo+":test")

	// Compose's layout: an OCI 1.1 artifact of type
	// application/vnd.docker.compose.project, one layer per file.
	req, _ := http.NewRequest("GET", "http://"+registry+"/v2/"+e.Project+"/manifests/test", nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ArtifactType string `json:"artifactType"`
		Layers       []struct {
			MediaType   string            `json:"mediaType"`
			Annotations map[string]string `json:"annotations"`
		} `json:"layers"`
	}
	err = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var layers []string
	for _, l := range m.Layers {
		layers = append(layers, l.MediaType+" "+l.Annotations["com.docker.compose.file"]+l.Annotations["com.docker.compose.envfile"]+" "+l.Annotations["com.docker.compose.extends"])
	}
	if m.ArtifactType != "application/vnd.docker.compose.project" || len(layers) != 4 ||
		layers[0] != "application/vnd.docker.compose.file+yaml compose.yaml " ||
		layers[1] != "application/vnd.docker.compose.file+yaml compose-override.yaml " ||
		!strings.HasSuffix(layers[2], ".yaml true") || !strings.HasPrefix(layers[3], "application/vnd.docker.compose.envfile ") {
		t.Errorf("artifact %q, layers:\n%s", m.ArtifactType, strings.Join(layers, "\n"))
	}

	cache := t.TempDir()
	e.ExtraEnv = append(e.ExtraEnv, "XDG_CACHE_HOME="+cache)
	r := e.MustBerth(t, "--project-name=oci", "--insecure-registry", registry,
		"-f", "oci://"+repo+":test", "config")
	want := `name: oci
services:
  app:
    environment:
      HELLO: WORLD
    image: alpine
    networks:
      default: null
networks:
  default:
    name: oci_default
`
	if r.Stdout != want {
		t.Errorf("config of the published project:\n%s\nwant:\n%s", r.Stdout, want)
	}
	// The artifact's files landed in the cache, under plain names.
	entries, err := filepath.Glob(filepath.Join(cache, "berth", "oci", "*", "*"))
	if err != nil || len(entries) != 3 {
		t.Errorf("cache holds %v (%v), want compose.yaml, one extends file and one env file", entries, err)
	}
	for _, f := range entries {
		if fi, err := os.Lstat(f); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s: not a regular file (%v)", f, err)
		}
	}
}
