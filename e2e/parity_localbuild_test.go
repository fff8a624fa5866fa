package e2e

import (
	"testing"
)

// Compose: build_test.go TestLocalComposeBuild. Compose runs the subtests
// under DOCKER_BUILDKIT=0 (Docker's classic builder), =1 and bake; berth
// has one builder, so they run once. The fixtures are Compose's
// build-test, nginx-build, nginx-build2 and multi-args (the index.html
// files rebuilt from the test's steps).
func TestParityComposeLocalComposeBuild(t *testing.T) {
	e := parityEnv(t, `services:
  nginx:
    build: nginx-build
    ports:
      - 80

  nginx2:
    build: nginx-build2
    image: ${CUSTOM_IMAGE}
`)
	custom := e.Project + "-custom-nginx"
	unnamed := e.Project + "-nginx"
	e.ExtraEnv = []string{"CUSTOM_IMAGE=" + custom}
	e.WriteFile(t, "nginx-build/Dockerfile", "FROM nginx:alpine\n\nARG FOO\nLABEL FOO=$FOO\nCOPY static /usr/share/nginx/html\n")
	e.WriteFile(t, "nginx-build/static/index.html", "<h1>Hello from Nginx container</h1>\n")
	e.WriteFile(t, "nginx-build2/Dockerfile", "FROM nginx:alpine\n\nCOPY static2 /usr/share/nginx/html\n")
	e.WriteFile(t, "nginx-build2/static2/index.html", "<h1>Hello from Nginx container</h1>\n")
	e.WriteFile(t, "multi-args/compose.yaml", `services:
  multiargs:
    build:
      context: .
      args:
        IMAGE: alpine
        TAG: latest
      labels:
        - RESULT=SUCCESS
`)
	e.WriteFile(t, "multi-args/Dockerfile", "ARG IMAGE=666\nARG TAG=666\n\nFROM ${IMAGE}:${TAG}\nRUN echo \"SUCCESS\"\n")
	rmi := func(t *testing.T) { e.Berth(t, "image", "rm", "-f", unnamed, custom) }

	t.Run("build named and unnamed images", func(t *testing.T) {
		rmi(t)
		wantOut(t, e.MustBerth(t, "build"), "COPY static /usr/share/nginx/html")
		e.MustBerth(t, "image", "inspect", unnamed)
		e.MustBerth(t, "image", "inspect", custom)
	})
	t.Run("build with build-arg", func(t *testing.T) {
		rmi(t)
		e.MustBerth(t, "build", "--build-arg", "FOO=BAR")
		wantOut(t, e.MustBerth(t, "image", "inspect", unnamed), `"FOO": "BAR"`)
	})
	t.Run("build with build-arg set by env", func(t *testing.T) {
		rmi(t)
		e.ExtraEnv = append(e.ExtraEnv, "FOO=BAR")
		e.MustBerth(t, "build", "--build-arg", "FOO")
		e.ExtraEnv = e.ExtraEnv[:1]
		wantOut(t, e.MustBerth(t, "image", "inspect", unnamed), `"FOO": "BAR"`)
	})
	t.Run("build with multiple build-args", func(t *testing.T) {
		p := e.Project + "-multi"
		e.Berth(t, "image", "rm", "-f", p+"-multiargs")
		e.MustBerth(t, "-p", p, "--project-directory", e.Dir+"/multi-args", "-f", e.Dir+"/multi-args/compose.yaml", "build")
		wantOut(t, e.MustBerth(t, "image", "inspect", p+"-multiargs"), `"RESULT": "SUCCESS"`)
		e.MustBerth(t, "image", "rm", "-f", p+"-multiargs")
	})
	t.Run("build as part of up", func(t *testing.T) {
		rmi(t)
		if r := e.Berth(t, "image", "inspect", unnamed); r.Code == 0 {
			t.Errorf("image %s still there after rmi -f", unnamed)
		}
		r := e.MustBerth(t, "up", "-d")
		wantOut(t, r, "COPY static /usr/share/nginx/html", "COPY static2 /usr/share/nginx/html")
		for _, svc := range []string{"nginx", "nginx2"} {
			wantOut(t, e.MustBerth(t, "exec", "-T", svc, "cat", "/usr/share/nginx/html/index.html"), "Hello from Nginx container")
		}
		e.MustBerth(t, "image", "inspect", unnamed)
		e.MustBerth(t, "image", "inspect", custom)
	})
	t.Run("no rebuild when up again", func(t *testing.T) {
		wantNotOut(t, e.MustBerth(t, "up", "-d"), "COPY static")
	})
	t.Run("rebuild when up --build", func(t *testing.T) {
		r := e.MustBerth(t, "up", "-d", "--build")
		wantOut(t, r, "COPY static /usr/share/nginx/html", "COPY static2 /usr/share/nginx/html")
	})
	t.Run("build --push ignored for unnamed images", func(t *testing.T) {
		wantNotOut(t, e.MustBerth(t, "build", "--push", "nginx"), "failed to push")
	})
	t.Run("cleanup build project", func(t *testing.T) {
		e.MustBerth(t, "down")
		rmi(t)
	})
}
