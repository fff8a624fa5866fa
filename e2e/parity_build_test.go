package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testimages"
)

// Docker Compose's pkg/e2e scenarios about builds, ported as Compose
// states them (see parity_compose_test.go). berth has one builder
// (BuildKit's Dockerfile parser, no buildx): the scenarios that need
// buildx, bake or Docker's classic builder are in COMPOSE-PARITY.md.

// builtOnce: the build of project-service was named exactly once in the
// output (Compose's builtOnce, on BuildKit's "naming to … done" lines).
func builtOnce(t *testing.T, r Result, project, service string) {
	t.Helper()
	re := regexp.MustCompile(`naming to .*` + regexp.QuoteMeta(project) + `-` + regexp.QuoteMeta(service) + `.* done`)
	if n := len(re.FindAllString(r.Stdout+r.Stderr, -1)); n != 1 {
		t.Errorf("%s-%s built %d times, want once:\n%s", project, service, n, r)
	}
}

// wantBuilt: the progress reports service built (Compose: "<service> Built";
// berth aligns its columns with more spaces).
func wantBuilt(t *testing.T, r Result, service string) {
	t.Helper()
	if !regexp.MustCompile(`\b` + regexp.QuoteMeta(service) + `\s+Built`).MatchString(r.Stdout + r.Stderr) {
		t.Errorf("output does not report %s built:\n%s", service, r)
	}
}

// Compose: compose_run_build_once_test.go TestRunBuildOnceDependency.
func TestParityComposeRunBuildOnceDependency(t *testing.T) {
	e := parityEnv(t, `services:
  nginx:
    pull_policy: build
    build:
      dockerfile_inline: |
        FROM alpine
        RUN echo "Nginx built at $(date)" > /build-time.txt
        CMD sleep 3600

  curl:
    image: alpine
    depends_on:
      - nginx
    command: echo "curl service"
`)
	r := e.MustBerth(t, "run", "--build", "--rm", "curl")
	builtOnce(t, r, e.Project, "nginx")
	if !strings.Contains(r.Stdout, "curl service") {
		t.Errorf("stdout lacks the service's output:\n%s", r)
	}
}

// Compose: compose_run_build_once_test.go TestRunBuildOnceNestedDependencies.
func TestParityComposeRunBuildOnceNestedDependencies(t *testing.T) {
	e := parityEnv(t, `services:
  db:
    pull_policy: build
    build:
      dockerfile_inline: |
        FROM alpine
        RUN echo "DB built at $(date)" > /db-build.txt
        CMD sleep 3600

  api:
    pull_policy: build
    build:
      dockerfile_inline: |
        FROM alpine
        RUN echo "API built at $(date)" > /api-build.txt
        CMD sleep 3600
    depends_on:
      - db

  app:
    pull_policy: build
    build:
      dockerfile_inline: |
        FROM alpine
        RUN echo "App built at $(date)" > /app-build.txt
        CMD echo "App running"
    depends_on:
      - api
`)
	e.Timeout = 3 * time.Minute
	r := e.MustBerth(t, "run", "--build", "--rm", "app")
	for _, svc := range []string{"db", "api", "app"} {
		builtOnce(t, r, e.Project, svc)
	}
	if !strings.Contains(r.Stdout, "App running") {
		t.Errorf("stdout lacks the service's output:\n%s", r)
	}
}

// Compose: compose_run_build_once_test.go TestRunBuildOnceNoDeps.
func TestParityComposeRunBuildOnceNoDeps(t *testing.T) {
	e := parityEnv(t, `services:
  simple:
    pull_policy: build
    build:
      dockerfile_inline: |
        FROM alpine
        RUN echo "Simple built at $(date)" > /build.txt
        CMD echo "Simple service"
`)
	r := e.MustBerth(t, "run", "--build", "--rm", "simple")
	builtOnce(t, r, e.Project, "simple")
	if !strings.Contains(r.Stdout, "Simple service") {
		t.Errorf("stdout lacks the service's output:\n%s", r)
	}
}

// Compose: compose_run_test.go TestComposeRunBuild.
func TestParityComposeRunBuild(t *testing.T) {
	e := parityEnv(t, `services:
  build:
    build:
      dockerfile_inline: "FROM base"
      additional_contexts:
        base: "service:build_base"
  build_base:
    build:
      dockerfile_inline: "FROM alpine"
`)
	r := e.MustBerth(t, "run", "build", "echo", "hello world")
	if !strings.Contains(r.Stdout, "hello world") {
		t.Errorf("stdout lacks the command's output:\n%s", r)
	}
}

// Compose: build_test.go TestBuildDependsOn.
func TestParityComposeBuildDependsOn(t *testing.T) {
	e := parityEnv(t, `services:
  test1:
    pull_policy: build
    build:
      dockerfile_inline: FROM alpine
    command:
      - echo
      - "test 1 success"
  test2:
    image: alpine
    depends_on:
      - test1
    command:
      - echo
      - "test 2 success"
`)
	wantBuilt(t, e.MustBerth(t, "up", "test2"), "test1")
}

// Compose: build_test.go TestBuildSubset.
func TestParityComposeBuildSubset(t *testing.T) {
	e := parityEnv(t, `services:
  main:
    build:
      dockerfile_inline: |
        FROM alpine
    entrypoint: ["echo", "Hello from main"]
    depends_on:
      - dep1

  dep1:
    build:
      dockerfile_inline: |
        FROM alpine
    entrypoint: ["echo", "Hello from dep1"]
`)
	wantBuilt(t, e.MustBerth(t, "build", "main"), "main")
}

// Compose: build_test.go TestBuildTags.
func TestParityComposeBuildTags(t *testing.T) {
	e := parityEnv(t, `services:
  nginx:
    image: ${TAG_IMAGE}
    build:
      context: .
      tags:
        - docker.io/docker/${TAG_IMAGE}:1.0.0
        - ${TAG_IMAGE}-other:v1.0.0
`)
	e.WriteFile(t, "Dockerfile", "FROM alpine\nRUN echo \"SUCCESS\"\n")
	image := e.Project + "-tags"
	e.ExtraEnv = []string{"TAG_IMAGE=" + image}
	e.MustBerth(t, "build", "--no-cache")
	r := e.MustBerth(t, "image", "inspect", image)
	wantOut(t, r, "docker/"+image+":1.0.0", image+":latest", image+"-other:v1.0.0")
}

// Compose: build_test.go TestUpBuildUnchangedContext.
func TestParityComposeUpBuildUnchangedContext(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    build: .
`)
	e.WriteFile(t, "Dockerfile", "FROM alpine\nCOPY marker /marker\nCMD [\"sleep\", \"infinity\"]\n")
	e.WriteFile(t, "marker", "v1\n")
	e.MustBerth(t, "up", "-d", "--build")
	before := expect(t, e, ServiceState("app", "running"))
	hash := func() string {
		r := e.MustBerth(t, "inspect", "-f", `{{index .Config.Labels "com.docker.compose.config-hash"}}`, e.Project+"-app-1")
		return strings.TrimSpace(r.Stdout)
	}
	h := hash()
	e.MustBerth(t, "up", "-d", "--build")
	expect(t, e, NotRecreated(before, "app"))
	if got := hash(); got != h {
		t.Errorf("config-hash label %q, was %q", got, h)
	}
}

// Compose: build_test.go TestBuildEscaped.
func TestParityComposeBuildEscaped(t *testing.T) {
	e := parityEnv(t, `services:
  foo:
    build:
      context: .
      args:
        foo: $${bar}

  echo:
    build:
      dockerfile_inline: |
        FROM bash
        RUN <<'EOF'
        echo $(seq 10)
        EOF

  arg:
    build:
      args:
        BOOL: "true"
      dockerfile_inline: |
        FROM alpine:latest
        ARG BOOL
        RUN /bin/$${BOOL}
`)
	e.WriteFile(t, "Dockerfile", "FROM alpine\nARG foo\nRUN echo foo is $foo\n")
	wantOut(t, e.MustBerth(t, "build", "--no-cache", "foo"), "foo is ${bar}")
	e.MustBerth(t, "build", "--no-cache", "echo")
	e.MustBerth(t, "build", "--no-cache", "arg")
}

// Compose: build_test.go TestBuildSecrets.
func TestParityComposeBuildSecrets(t *testing.T) {
	e := parityEnv(t, `services:
  ssh:
    image: ${SECRET_IMAGE}
    build:
      context: .
      secrets:
        - mysecret
        - dotenvsecret
        - source: envsecret
          target: build_secret

secrets:
  mysecret:
    file: ./secret.txt
  envsecret:
    environment: SOME_SECRET
  dotenvsecret:
    environment: ANOTHER_SECRET
`)
	e.WriteFile(t, ".env", "ANOTHER_SECRET=zot")
	e.WriteFile(t, "secret.txt", "foo\n")
	e.WriteFile(t, "Dockerfile", `FROM alpine

RUN echo "foo" > /tmp/expected
RUN --mount=type=secret,id=mysecret cat /run/secrets/mysecret > /tmp/actual
RUN diff /tmp/expected /tmp/actual

RUN echo "bar" > /tmp/expected
RUN --mount=type=secret,id=build_secret cat /run/secrets/build_secret > tmp/actual
RUN diff -w /tmp/expected /tmp/actual

RUN echo "zot" > /tmp/expected
RUN --mount=type=secret,id=dotenvsecret cat /run/secrets/dotenvsecret > tmp/actual
RUN diff -w /tmp/expected /tmp/actual
`)
	image := e.Project + "-secret"
	e.ExtraEnv = []string{"SECRET_IMAGE=" + image, "SOME_SECRET=bar"}
	e.MustBerth(t, "build")
	e.MustBerth(t, "image", "inspect", image)
}

// Compose: build_test.go TestBuildDependentImageWithProfile.
func TestParityComposeBuildDependentImageWithProfile(t *testing.T) {
	e := parityEnv(t, `secrets:
  test-secret:
    file: test-secret.txt

services:
  secret-build-test:
    profiles: ["test"]
    build:
      context: .
      dockerfile: Dockerfile
      secrets:
        - test-secret
`)
	e.WriteFile(t, "test-secret.txt", "SECRET\n")
	e.WriteFile(t, "Dockerfile", `FROM alpine
RUN --mount=type=secret,id=test-secret ls -la /run/secrets/; cp /run/secrets/test-secret /tmp

CMD ["cat", "/tmp/test-secret"]
`)
	wantBuilt(t, e.MustBerth(t, "build", "secret-build-test"), "secret-build-test")
}

// Compose: build_test.go TestBuildLongOutputLine.
func TestParityComposeBuildLongOutputLine(t *testing.T) {
	e := parityEnv(t, `services:
    long-line:
      build:
        context: .
        dockerfile: Dockerfile
`)
	e.WriteFile(t, "Dockerfile", "FROM alpine\n"+strings.Repeat("ARG AWS_SECRET_ACCESS_KEY=FAKE_TO_GENERATE_WARNING_OUTPUT\n", 34))
	wantBuilt(t, e.MustBerth(t, "build", "long-line"), "long-line")
	wantBuilt(t, e.MustBerth(t, "up", "--build", "long-line"), "long-line")
}

// Compose: build_test.go TestBuildSSH (fixtures/build-test/ssh). The
// fixture's `apk add openssh-client` and `diff <(ssh-add -L) fake_rsa.pub`
// become the sshagentls test program listing the agent's keys (berth
// builds offline, and the alpine stand-in is busybox); the key is made
// by the test.
func TestParityComposeBuildSSH(t *testing.T) {
	e := parityEnv(t, `services:
  ssh:
    image: ${SSH_IMAGE}
    build:
      context: .
      ssh:
        - fake-ssh=./fake_rsa
`)
	image := e.Project + "-build-test-ssh"
	e.ExtraEnv = []string{"SSH_IMAGE=" + image, "SSH_AUTH_SOCK="}
	bin, err := testimages.Program("sshagentls")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	e.WriteFile(t, "sshagentls", string(data))
	e.WriteFile(t, "fake_rsa", rsaKey(t))
	e.WriteFile(t, "compose-without-ssh.yaml", "services:\n  ssh:\n    image: ${SSH_IMAGE}\n    build:\n      context: .\n")
	e.WriteFile(t, "Dockerfile", `FROM alpine
COPY --chmod=755 sshagentls /usr/bin/sshagentls
WORKDIR /compose
RUN --mount=type=ssh,id=fake-ssh,required=true sshagentls | grep -qx 'ssh-rsa fake_rsa'
`)
	t.Run("build failed with ssh default value", func(t *testing.T) {
		r := e.Berth(t, "build", "--ssh", "")
		wantCode(t, r, 1, "build --ssh ''")
		wantOut(t, r, "invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set")
	})
	t.Run("build succeed with ssh from Compose file", func(t *testing.T) {
		e.MustBerth(t, "build")
		e.MustBerth(t, "image", "inspect", image)
	})
	t.Run("build succeed with ssh from CLI", func(t *testing.T) {
		e.MustBerth(t, "image", "rm", image)
		e.MustBerth(t, "-f", "compose-without-ssh.yaml", "build", "--no-cache", "--ssh", "fake-ssh=./fake_rsa")
		e.MustBerth(t, "image", "inspect", image)
	})
	t.Run("build succeed as part of up with ssh from Compose file", func(t *testing.T) {
		e.MustBerth(t, "image", "rm", image)
		e.MustBerth(t, "up", "-d", "--build")
		e.MustBerth(t, "image", "inspect", image)
	})
}

// Compose: build_test.go TestBuildDependentImage
// (testdata/TestBuildDependentImage).
func TestParityComposeBuildDependentImage(t *testing.T) {
	e := parityEnv(t, `services:
  firstbuild:
    build:
      dockerfile_inline: |
        FROM alpine
      additional_contexts:
        dep1: service:dep1
    entrypoint: ["echo", "Hello from firstbuild"]
    depends_on:
      - dep1

  secondbuild:
    build:
      dockerfile_inline: |
        FROM alpine
      additional_contexts:
        dep1: service:dep1
    entrypoint: ["echo", "Hello from secondbuild"]
    depends_on:
      - dep1

  dep1:
    build:
      dockerfile_inline: |
        FROM alpine
    entrypoint: ["echo", "Hello from dep1"]
`)
	r := e.MustBerth(t, "build", "firstbuild")
	wantBuilt(t, r, "firstbuild")
	wantBuilt(t, r, "dep1")
	wantBuilt(t, e.MustBerth(t, "build", "secondbuild"), "secondbuild")
}

// Compose: build_test.go TestBuildSubDependencies
// (testdata/TestBuildSubDependencies).
func TestParityComposeBuildSubDependencies(t *testing.T) {
	e := parityEnv(t, `services:
  main:
    build:
      dockerfile_inline: |
        FROM alpine
      additional_contexts:
        dep1: service:dep1
        dep2: service:dep2
    entrypoint: ["echo", "Hello from main"]

  dep1:
    build:
      dockerfile_inline: |
        FROM alpine
      additional_contexts:
        subdep1: service:subdep1
        subdep2: service:subdep2
    entrypoint: ["echo", "Hello from dep1"]

  dep2:
    build:
      dockerfile_inline: |
        FROM alpine
    entrypoint: ["echo", "Hello from dep2"]

  subdep1:
    build:
      dockerfile_inline: |
        FROM alpine
    entrypoint: ["echo", "Hello from subdep1"]

  subdep2:
    build:
      dockerfile_inline: |
        FROM alpine
    entrypoint: ["echo", "Hello from subdep2"]
`)
	r := e.MustBerth(t, "build", "main")
	for _, s := range []string{"main", "dep1", "dep2", "subdep1", "subdep2"} {
		wantBuilt(t, r, s)
	}
	wantBuilt(t, e.MustBerth(t, "up", "--build", "main"), "main")
}
