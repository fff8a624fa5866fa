package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// Docker Compose's pkg/e2e scenarios about the model: env files and their
// precedence, interpolation, config, configs and secrets, ported as
// Compose states them (see parity_compose_test.go).

const parityEnvPriorityDockerfile = `FROM alpine
ENV  WHEREAMI=Dockerfile
CMD ["printenv", "WHEREAMI"]
`

// parityEnvPriority is the env-priority project: its compose file, the
// Dockerfile and the env files Compose's fixture holds.
func parityEnvPriority(t *testing.T, compose string) *Env {
	t.Helper()
	e := parityEnv(t, compose)
	e.WriteFile(t, "Dockerfile", parityEnvPriorityDockerfile)
	e.WriteFile(t, ".env", "WHEREAMI=Env File")
	e.WriteFile(t, ".env.override", "WHEREAMI=override")
	e.WriteFile(t, ".env.empty", "\n")
	e.WriteFile(t, ".env.override.with.default", "WHEREAMI=${WHEREAMI:-EnvFileDefaultValue}\n")
	return e
}

func wantStdout(t *testing.T, r Result, what, sub string) {
	t.Helper()
	if r.Code != 0 || !strings.Contains(r.Stdout, sub) {
		t.Errorf("%s: want exit 0 and %q on stdout, got %s", what, sub, r)
	}
}

// Compose: compose_environment_test.go TestEnvPriorityComposeEnvironment.
func TestParityComposeEnvPriorityComposeEnvironment(t *testing.T) {
	e := parityEnvPriority(t, `services:
  env-compose-priority:
    build:
      context: .
    environment:
      WHEREAMI: "Compose File"
`)
	override := filepath.Join(e.Dir, ".env.override")
	e.ExtraEnv = []string{"WHEREAMI=shell"}
	wantStdout(t, e.Berth(t, "--env-file", override, "run", "--rm", "-e", "WHEREAMI", "env-compose-priority"), "run -e WHEREAMI from the shell", "shell")
	e.ExtraEnv = nil
	wantStdout(t, e.Berth(t, "--env-file", override, "run", "--rm", "-e", "WHEREAMI=shell", "env-compose-priority"), "run -e WHEREAMI=shell", "shell")
}

// Compose: compose_environment_test.go TestEnvPriority.
func TestParityComposeEnvPriority(t *testing.T) {
	e := parityEnvPriority(t, `services:
  env-compose-priority:
    build:
      context: .
`)
	f := func(name string) string { return filepath.Join(e.Dir, name) }
	run := []string{"run", "--rm", "-e", "WHEREAMI", "env-compose-priority"}
	e.ExtraEnv = []string{"WHEREAMI=shell"}
	wantStdout(t, e.Berth(t, append([]string{"--env-file", f(".env.override")}, run...)...), "shell over an override env file", "shell")
	wantStdout(t, e.Berth(t, append([]string{"--env-file", f(".env.override.with.default")}, run...)...), "shell over a defaulting env file", "shell")
	e.ExtraEnv = nil
	wantStdout(t, e.Berth(t, append([]string{"--env-file", f(".env.override.with.default")}, run...)...), "the env file's default", "EnvFileDefaultValue")
	// Compose's step "COMPOSE_ENV_FILES designates the env file like
	// --env-file would" is the cli work's (COMPOSE_* variables).
	wantStdout(t, e.Berth(t, "--env-file", f(".env.override"), "run", "--rm", "-e", "WHEREAMI=shell-run", "env-compose-priority"), "run -e with a value", "shell-run")
	wantStdout(t, e.Berth(t, append([]string{"--env-file", f(".env.override")}, run...)...), "an override env file over .env", "override")
	wantStdout(t, e.Berth(t, run...), "the project's .env", "Env File")
	wantStdout(t, e.Berth(t, append([]string{"--env-file", f(".env.empty")}, run...)...), "an empty env file leaves the image's ENV", "Dockerfile")
}

// Compose: compose_environment_test.go TestEnvPriorityComposeEnvFile.
func TestParityComposeEnvPriorityComposeEnvFile(t *testing.T) {
	e := parityEnvPriority(t, `services:
  env-compose-priority:
    build:
      context: .
    env_file:
      - .env.override
`)
	wantStdout(t, e.Berth(t, "run", "--rm", "-e", "WHEREAMI", "env-compose-priority"), "run -e forwards the .env value", "Env File")
}

// Compose: compose_environment_test.go TestEnvInterpolation.
func TestParityComposeEnvInterpolation(t *testing.T) {
	e := parityEnv(t, `services:
  env-interpolation:
    image: bash
    environment:
      IMAGE: ${IMAGE}
    command: echo "$IMAGE"
`)
	e.WriteFile(t, ".env", "WHEREAMI=EnvFile\nIMAGE=default_env:${WHEREAMI}\n")
	e.ExtraEnv = []string{"WHEREAMI=shell"}
	wantOut(t, e.MustBerth(t, "config"), "IMAGE: default_env:shell")
}

// Compose: compose_environment_test.go TestEnvInterpolationDefaultValue.
func TestParityComposeEnvInterpolationDefaultValue(t *testing.T) {
	e := parityEnv(t, `services:
  env-interpolation:
    image: bash
    environment:
      IMAGE: ${IMAGE}
    command: echo "$IMAGE"
`)
	e.WriteFile(t, ".env", "IMAGE=default_env:${WHEREAMI:-EnvFileDefaultValue}\n")
	wantOut(t, e.MustBerth(t, "config"), "IMAGE: default_env:EnvFileDefaultValue")
}

// Compose: compose_environment_test.go TestCommentsInEnvFile. Its intent
// says an unquoted # starts a comment, but compose-go's .env parser (berth's
// too) only takes " #" as one, so COMMENT is "1234#5" for both; Compose's
// checks ("COMMENT=1234", a substring) pass either way, and so do these.
func TestParityComposeCommentsInEnvFile(t *testing.T) {
	e := parityEnv(t, `services:
  env-file-comments:
    build:
      context: .
`)
	e.WriteFile(t, ".env", "COMMENT=1234#5\nNO_COMMENT=\"1234#5\"")
	e.WriteFile(t, "Dockerfile", `FROM alpine
ENV  COMMENT=Dockerfile
ENV  NO_COMMENT=Dockerfile
CMD ["sh", "-c", "printenv", "|", "grep", "COMMENT"]
`)
	e.MustBerth(t, "build")
	r := e.MustBerth(t, "run", "--rm", "-e", "COMMENT", "-e", "NO_COMMENT", "env-file-comments")
	for _, want := range []string{"COMMENT=1234", "NO_COMMENT=1234#5"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
}

// Compose: env_file_test.go TestRawEnvFile.
func TestParityComposeRawEnvFile(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    image: alpine
    command: sh -c "echo $$TEST_VAR"
    env_file:
      - path: .env.raw
        format: raw # parse without interpolation
`)
	e.WriteFile(t, ".env.raw", "TEST_VAR='{\"key\": \"value\"}'\n")
	wantOut(t, e.MustBerth(t, "run", "test"), `'{"key": "value"}'`)
}

const parityEnvFileFixture = `services:
  serviceA:
    image: nginx:latest

  serviceB:
    image: nginx:latest
    env_file:
      - /doesnotexist/.env

  serviceC:
    profiles: ["test"]
    image: alpine
    env_file: test.env
`

// Compose: env_file_test.go TestUnusedMissingEnvFile.
func TestParityComposeUnusedMissingEnvFile(t *testing.T) {
	e := parityEnv(t, parityEnvFileFixture)
	e.WriteFile(t, "test.env", "FOO=BAR")
	e.MustBerth(t, "up", "-d", "serviceA")
	e.MustBerth(t, "ps")
	e.MustBerth(t, "logs")
	e.MustBerth(t, "exec", "serviceA", "echo", "hello")
	e.MustBerth(t, "scale", "serviceA=2")
	r := e.Berth(t, "scale", "serviceB=1")
	wantCode(t, r, 1, "scale of the service with the missing env file")
	wantOut(t, r, "env file /doesnotexist/.env not found")
	e.MustBerth(t, "config", "--hash", "serviceA")
	r = e.Berth(t, "config", "--hash", "serviceB")
	wantCode(t, r, 1, "config --hash of the service with the missing env file")
	wantOut(t, r, "env file /doesnotexist/.env not found")
	e.MustBerth(t, "config", "--no-env-resolution", "--hash", "serviceB")
	r = e.Berth(t, "config", "--hash", "*")
	wantCode(t, r, 1, "config --hash '*'")
	wantOut(t, r, "env file /doesnotexist/.env not found")
	r = e.MustBerth(t, "__complete", "exec", "")
	wantOut(t, r, "serviceA", "serviceB")
	e.MustBerth(t, "down")
}

// Compose: compose_test.go TestNestedDotEnv: the .env of the directory
// berth runs in is the project's, found with the compose file upward.
func TestParityComposeNestedDotEnv(t *testing.T) {
	e := parityEnv(t, `services:
  echo:
    image: alpine
    command: echo $ROOT $SUB win=$WIN
`)
	e.WriteFile(t, ".env", "ROOT=root\nWIN=root")
	e.WriteFile(t, "sub/.env", "SUB=sub\nWIN=sub")
	r := e.MustBerth(t, "run", "echo")
	wantOut(t, r, "root win=root")
	cmd := e.Cmd(t.Context(), "run", "echo")
	cmd.Dir = filepath.Join(e.Dir, "sub")
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "root sub win=sub") {
		t.Errorf("run from sub/: want %q, got %q (%v)", "root sub win=sub", out, err)
	}
}

// Compose: configs_test.go TestConfigFromEnv.
func TestParityComposeConfigFromEnv(t *testing.T) {
	e := parityEnv(t, `services:
  from_env:
    image: alpine
    configs:
      - source: from_env
    command: cat /from_env

  from_file:
    image: alpine
    configs:
      - source: from_file
    command: cat /from_file

  inlined:
    image: alpine
    configs:
      - source: inlined
    command: cat /inlined

  target:
    image: alpine
    configs:
      - source: inlined
        target: /target
    command: cat /target

configs:
  from_env:
    environment: CONFIG
  from_file:
    file: config.txt
  inlined:
    content: This is my $CONFIG
`)
	e.WriteFile(t, "config.txt", "This is my config file\n")
	e.ExtraEnv = []string{"CONFIG=config"}
	wantOut(t, e.MustBerth(t, "run", "from_file"), "This is my config file")
	wantOut(t, e.MustBerth(t, "run", "from_env"), "config")
	wantOut(t, e.MustBerth(t, "run", "inlined"), "This is my config")
	wantOut(t, e.MustBerth(t, "run", "target"), "This is my config")
}

const paritySecrets = `include:
  - path: child/compose.yaml
    env_file:
      - secret.env

services:
  foo:
    image: alpine
    secrets:
      - source: secret
        target: bar
        uid: "1005"
        gid: "1005"
        mode: 0440
    command: cat /run/secrets/bar

secrets:
  secret:
    environment: SECRET
`

func paritySecretsEnv(t *testing.T) *Env {
	e := parityEnv(t, paritySecrets)
	e.WriteFile(t, "secret.env", "MY_SECRET='this-is-secret'")
	e.WriteFile(t, "child/compose.yaml", `services:
  included:
    image: alpine
    secrets:
      - my-secret
    command: cat /run/secrets/my-secret

secrets:
  my-secret:
    environment: 'MY_SECRET'
`)
	return e
}

// Compose: secrets_test.go TestSecretFromEnv.
func TestParityComposeSecretFromEnv(t *testing.T) {
	e := paritySecretsEnv(t)
	e.ExtraEnv = []string{"SECRET=BAR"}
	wantOut(t, e.MustBerth(t, "run", "foo"), "BAR")
	wantOut(t, e.MustBerth(t, "run", "foo", "ls", "-al", "/var/run/secrets/bar"), "-r--r-----    1 1005     1005")
}

// Compose: secrets_test.go TestSecretFromInclude.
func TestParityComposeSecretFromInclude(t *testing.T) {
	e := paritySecretsEnv(t)
	wantOut(t, e.MustBerth(t, "run", "included"), "this-is-secret")
}

// Compose: config_test.go TestLocalComposeConfig.
func TestParityComposeLocalComposeConfig(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    image: test
    ports:
      - ${PORT:-8080}:80
`)
	wantOut(t, e.MustBerth(t, "config"), `
    ports:
      - mode: ingress
        target: 80
        published: "8080"
        protocol: tcp`)
	wantOut(t, e.MustBerth(t, "config", "--format", "json"), `"published": "8080"`)
	wantOut(t, e.MustBerth(t, "config", "--no-interpolate"), `- ${PORT:-8080}:80`)
	r := e.MustBerth(t, "config", "--no-interpolate", "test")
	wantOut(t, r, "service filtering is not applied when --no-interpolate is set", `- ${PORT:-8080}:80`)
	wantOut(t, e.MustBerth(t, "config", "--variables", "--format", "json"), `{
    "PORT": {
        "Name": "PORT",
        "DefaultValue": "8080",
        "PresenceValue": "",
        "Required": false
    }
}`)
	wantOut(t, e.MustBerth(t, "config", "--variables", "--format", "yaml"), `PORT:
    name: PORT
    defaultvalue: "8080"
    presencevalue: ""
    required: false`)
	r = e.MustBerth(t, "config", "--variables", "test")
	wantOut(t, r, "service filtering is not applied when --variables is set", "PORT")
}

// Compose: config_test.go TestLocalComposeConfigNoConsistency.
func TestParityComposeLocalComposeConfigNoConsistency(t *testing.T) {
	e := parityEnv(t, `services:
  incomplete:
    volumes:
      - data:/data
    networks:
      - internal
    models:
      llm:
  gated:
    profiles: ["extra"]
volumes:
  data:
networks:
  internal:
models:
  llm:
    model: ai/example
`)
	// The model is invalid on purpose: nothing to take down after.
	t.Cleanup(func() { _ = os.Remove(filepath.Join(e.Dir, "compose.yaml")) })
	wantOut(t, e.MustBerth(t, "config", "--no-consistency", "--services"), "incomplete")
	wantOut(t, e.MustBerth(t, "config", "--no-consistency", "--volumes"), "data")
	wantOut(t, e.MustBerth(t, "config", "--no-consistency", "--networks"), "internal")
	wantOut(t, e.MustBerth(t, "config", "--no-consistency", "--models"), "ai/example")
	wantOut(t, e.MustBerth(t, "config", "--no-consistency", "--hash", "*"), "incomplete ")
	wantOut(t, e.MustBerth(t, "--profile", "extra", "config", "--no-consistency", "--services"), "gated")
}

// Compose: config_test.go TestConfigHashMatchesContainerLabel.
func TestParityComposeConfigHashMatchesContainerLabel(t *testing.T) {
	e := parityEnv(t, `services:
  with-env-file:
    image: alpine
    command: ["sleep", "infinity"]
    env_file:
      - app.env

  optional-env:
    image: alpine
    command: ["sleep", "infinity"]
    env_file:
      - path: missing-optional.env
        required: false

  plain:
    image: alpine
    command: ["sleep", "infinity"]
`)
	e.WriteFile(t, "app.env", "EXAMPLE=value\n")
	e.MustBerth(t, "up", "-d", "--force-recreate")
	hashes := map[string]string{}
	for _, svc := range []string{"with-env-file", "optional-env", "plain"} {
		r := e.MustBerth(t, "inspect", "-f", `{{index .Config.Labels "com.docker.compose.config-hash"}}`, e.Project+"-"+svc+"-1")
		hashes[svc] = strings.TrimSpace(r.Stdout)
		r = e.MustBerth(t, "config", "--hash", svc)
		fields := strings.Fields(r.Stdout)
		if len(fields) != 2 || fields[1] != hashes[svc] {
			t.Errorf("config --hash %s = %q, want %s and the container's label %q", svc, r.Stdout, svc, hashes[svc])
		}
	}
	r := e.MustBerth(t, "config", "--hash", "*")
	want := fmt.Sprintf("optional-env %s\nplain %s\nwith-env-file %s", hashes["optional-env"], hashes["plain"], hashes["with-env-file"])
	if got := strings.TrimSpace(r.Stdout); got != want {
		t.Errorf("config --hash '*' = %q, want %q", got, want)
	}
}

// Compose: compose_test.go TestConfig. Compose compares the text; the
// order of a mapping's keys is the marshaller's (compose-go v2.16 puts
// networks before build), so the rendering is compared as YAML.
func TestParityComposeConfig(t *testing.T) {
	e := parityEnv(t, `services:
  nginx:
    build:
      context: nginx-build
      dockerfile: Dockerfile
`)
	e.WriteFile(t, "nginx-build/Dockerfile", "FROM alpine\n")
	wantYAML(t, e.MustBerth(t, "config"), fmt.Sprintf(`name: %s
services:
  nginx:
    build:
      context: %s
      dockerfile: Dockerfile
    networks:
      default: null
networks:
  default:
    name: %s_default
`, e.Project, filepath.Join(e.Dir, "nginx-build"), e.Project))
}

// wantYAML fails unless r's stdout is the YAML document want.
func wantYAML(t *testing.T, r Result, want string) {
	t.Helper()
	var got, exp any
	if err := yaml.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("output is not YAML: %v\n%s", err, r)
	}
	if err := yaml.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("rendering:\n%s\nwant (as YAML):\n%s", r.Stdout, want)
	}
}

// Compose: compose_test.go TestConfigInterpolate (compared as YAML, see
// TestParityComposeConfig).
func TestParityComposeConfigInterpolate(t *testing.T) {
	e := parityEnv(t, `services:
  nginx:
    build:
      context: nginx-build
      dockerfile: ${MYVAR}
`)
	e.WriteFile(t, "nginx-build/Dockerfile", "FROM alpine\n")
	wantYAML(t, e.MustBerth(t, "config", "--no-interpolate"), fmt.Sprintf(`name: %s
networks:
  default:
    name: %s_default
services:
  nginx:
    build:
      context: %s
      dockerfile: ${MYVAR}
    networks:
      default: null
`, e.Project, e.Project, filepath.Join(e.Dir, "nginx-build")))
}

// Compose: compose_test.go TestUnnecessaryResources.
func TestParityComposeUnnecessaryResources(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    image: alpine
    init: true
    command: sleep infinity

  other:
    image: alpine
    init: true
    command: sleep infinity
    networks:
      test_network:
        ipv4_address: 8.8.8.8

networks:
  test_network:
    external: true
    name: foo_bar
`)
	r := e.Berth(t, "up", "-d")
	wantCode(t, r, 1, "up with a missing external network")
	wantOut(t, r, "network foo_bar declared as external, but could not be found")
	e.MustBerth(t, "up", "-d", "test")
	expect(t, e, ServiceState("test", "running"))
}

// Compose: ps_test.go TestPsHonorsPsFormat: psFormat of the Docker CLI's
// config.json shapes `ps` without --format.
func TestParityComposePsHonorsPsFormat(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    image: busybox
    command: sleep infinity
`)
	cfg := t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg, "config.json"), []byte(`{"psFormat":"table {{.Name}}"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ExtraEnv = []string{"DOCKER_CONFIG=" + cfg}
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("app", "running"))
	r := e.MustBerth(t, "ps")
	wantOut(t, r, "NAME")
	wantNotOut(t, r, "IMAGE")
	// --format wins over psFormat; a table template gets its header
	r = e.MustBerth(t, "ps", "--format", "table {{.Service}}\t{{.State}}")
	if lines := strings.Split(strings.TrimSpace(r.Stdout), "\n"); len(lines) != 2 || strings.Fields(lines[0])[0] != "SERVICE" || strings.Fields(lines[1])[1] != "running" {
		t.Errorf("ps --format 'table {{.Service}}\\t{{.State}}':\n%s", r.Stdout)
	}
	if r := e.MustBerth(t, "ps", "--format", "{{.Name}}"); strings.TrimSpace(r.Stdout) != e.Project+"-app-1" {
		t.Errorf("ps --format '{{.Name}}' = %q", r.Stdout)
	}
}
