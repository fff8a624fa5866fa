package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/berth-dev/berth/internal/testimages"
)

// golangTarball is a docker-save tarball of the Go toolchain image
// (testimages.GolangName), written once per suite: the "loaded base
// image" of builds that compile.
var golangTarball = sync.OnceValues(func() (string, error) {
	img, err := testimages.Golang()
	if err != nil {
		return "", err
	}
	tag, err := name.NewTag(testimages.GolangName)
	if err != nil {
		return "", err
	}
	p := filepath.Join(suite.tmp, "golang.tar")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		return "", fmt.Errorf("save %s: %w", testimages.GolangName, err)
	}
	return p, nil
})

// loadGolang loads the Go toolchain image into the test's store with
// `berth image load`, as a user without a registry would.
func loadGolang(t testing.TB, load func(args ...string)) {
	t.Helper()
	p, err := golangTarball()
	if err != nil {
		t.Fatal(err)
	}
	load("image", "load", "-i", p)
}

const goWebMain = `package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s from a berth-built binary\n", message)
	})
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// TestBuildGoMultiStage: stage 1 compiles a Go web server with the
// toolchain of a loaded base image, stage 2 (FROM scratch) copies the
// binary; it builds, runs and answers on a published port. Built again,
// every step is a cache hit; a changed source rebuilds from its COPY on
// and up recreates the service with the new binary.
func TestBuildGoMultiStage(t *testing.T) {
	e := NewEnv(t)
	loadGolang(t, func(args ...string) { e.MustBerth(t, args...) })
	e.WriteFile(t, "go.mod", "module example.com/web\n\ngo 1.22\n")
	e.WriteFile(t, "main.go", goWebMain)
	e.WriteFile(t, "message.go", "package main\n\nconst message = \"first\"\n")
	e.WriteFile(t, "Dockerfile", `FROM `+testimages.GolangName+` AS build
WORKDIR /src
COPY go.mod ./
COPY *.go ./
RUN go build -o /out/web .

FROM scratch
COPY --from=build /out/web /web
EXPOSE 8080
ENTRYPOINT ["/web"]
`)
	port := netFreePort(t, "tcp")
	e.Compose(t, fmt.Sprintf(`services:
  web:
    build: .
    ports:
      - "127.0.0.1:%d:8080"
`, port))
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)

	r := e.MustBerth(t, "up", "-d")
	if got := stepStatus(t, r.Stderr, "RUN go build"); got != "DONE" {
		t.Errorf("first build: RUN go build is %q, want DONE:\n%s", got, r.Stderr)
	}
	netHostGet(t, url, "first from a berth-built binary")
	ref := e.Project + "-web"
	id1 := imageID(t, e, ref)
	for _, l := range layerFiles(t, e, ref) {
		for n := range l {
			if n != "web" {
				t.Errorf("the scratch image holds %s besides the binary", n)
			}
		}
	}

	r = e.MustBerth(t, "build")
	for _, step := range []string{"WORKDIR /src", "COPY go.mod", "COPY *.go", "RUN go build", "COPY --from=build"} {
		if got := stepStatus(t, r.Stderr, step); got != "CACHED" {
			t.Errorf("second build: %s is %q, want CACHED:\n%s", step, got, r.Stderr)
		}
	}
	if imageID(t, e, ref) != id1 {
		t.Error("an all-cached build made another image")
	}

	e.WriteFile(t, "message.go", "package main\n\nconst message = \"second\"\n")
	r = e.MustBerth(t, "up", "-d", "--build")
	if got := stepStatus(t, r.Stderr, "COPY go.mod"); got != "CACHED" {
		t.Errorf("COPY go.mod after a source change: %q, want CACHED", got)
	}
	for _, step := range []string{"COPY *.go", "RUN go build", "COPY --from=build"} {
		if got := stepStatus(t, r.Stderr, step); got != "DONE" {
			t.Errorf("after a source change, %s is %q, want DONE:\n%s", step, got, r.Stderr)
		}
	}
	if !strings.Contains(r.Stderr, "Recreate") {
		t.Errorf("up --build with a new image did not recreate web:\n%s", r.Stderr)
	}
	netHostGet(t, url, "second from a berth-built binary")
}

// exampleDir is examples/<name> of this checkout.
func exampleDir(t testing.TB, name string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(filepath.Dir(wd), "examples", name)
}
