package e2e

import (
	"archive/tar"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// buildSteps parses berth build's plain progress into step number →
// what became of it ("CACHED", "DONE", "ERROR") and step number → title.
func buildSteps(stderr string) (status, title map[string]string) {
	status, title = map[string]string{}, map[string]string{}
	head := regexp.MustCompile(`^#(\d+) (\[.*)$`)
	end := regexp.MustCompile(`^#(\d+) (CACHED|DONE|ERROR)\b`)
	for _, l := range strings.Split(stderr, "\n") {
		if m := head.FindStringSubmatch(l); m != nil {
			title[m[1]] = m[2]
		}
		if m := end.FindStringSubmatch(l); m != nil {
			status[m[1]] = m[2]
		}
	}
	return status, title
}

// stepStatus returns what became of the step whose title contains instr.
func stepStatus(t *testing.T, stderr, instr string) string {
	t.Helper()
	status, title := buildSteps(stderr)
	for id, ti := range title {
		if strings.Contains(ti, instr) {
			return status[id]
		}
	}
	t.Fatalf("no build step %q in:\n%s", instr, stderr)
	return ""
}

// imageID is the full ID of a local image.
func imageID(t *testing.T, e *Env, ref string) string {
	t.Helper()
	r := e.MustBerth(t, "image", "inspect", "--format", "{{.Id}}", ref)
	return strings.TrimSpace(r.Stdout)
}

// layerFiles saves ref with `berth image save` and returns every file of
// every layer: path → content (regular files only).
func layerFiles(t *testing.T, e *Env, ref string) []map[string]string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "img.tar")
	e.MustBerth(t, "image", "save", "-o", out, ref)
	img, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatalf("image save of %s is not a docker-save tarball: %v", ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var all []map[string]string
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var b []byte
			if h.Typeflag == tar.TypeReg {
				b, _ = io.ReadAll(tr)
			}
			files[strings.TrimPrefix(h.Name, "./")] = string(b)
		}
		rc.Close()
		all = append(all, files)
	}
	return all
}

// TestBuildMultiStageAndCache: a two-stage build (busybox tools make the
// artifact, scratch ships it) through `up`, which builds the missing image;
// a second build is all cache hits with the same image ID; changing one
// file rebuilds from its COPY on, and `up --build` replaces the container.
func TestBuildMultiStageAndCache(t *testing.T) {
	e := NewEnv(t)
	e.WriteFile(t, "app/Dockerfile", `# the tools stage
FROM busybox AS tools
WORKDIR /src
COPY static.txt ./
COPY page.txt ./
RUN mkdir -p /out && sed 's/^/served: /' page.txt > /out/page && cp /bin/busybox /out/busybox

FROM scratch
COPY --from=tools /out/ /
EXPOSE 8080
ENTRYPOINT ["/busybox"]
CMD ["cat", "/page"]
`)
	e.WriteFile(t, "app/static.txt", "never changes\n")
	e.WriteFile(t, "app/page.txt", "version one\n")
	e.Compose(t, `services:
  app:
    build: ./app
    network_mode: none
`)
	ref := e.Project + "-app"
	r := e.MustBerth(t, "up")
	if !strings.Contains(r.Stdout, "served: version one") {
		t.Fatalf("up did not build and run the image:\n%s", r)
	}
	id1 := imageID(t, e, ref)

	// Everything cached the second time: the same image.
	r = e.MustBerth(t, "build")
	for _, step := range []string{"WORKDIR /src", "COPY static.txt", "COPY page.txt", "RUN mkdir", "COPY --from=tools"} {
		if got := stepStatus(t, r.Stderr, step); got != "CACHED" {
			t.Errorf("second build: %s is %q, want CACHED:\n%s", step, got, r.Stderr)
		}
	}
	if id2 := imageID(t, e, ref); id2 != id1 {
		t.Errorf("an all-cached build made another image: %s, then %s", id1, id2)
	}

	// One source changes: the steps before its COPY stay cached.
	e.WriteFile(t, "app/page.txt", "version two\n")
	r = e.MustBerth(t, "up", "--build")
	if got := stepStatus(t, r.Stderr, "COPY static.txt"); got != "CACHED" {
		t.Errorf("COPY static.txt: %q, want CACHED", got)
	}
	for _, step := range []string{"COPY page.txt", "RUN mkdir", "COPY --from=tools"} {
		if got := stepStatus(t, r.Stderr, step); got != "DONE" {
			t.Errorf("after a change, %s is %q, want DONE (rebuilt):\n%s", step, got, r.Stderr)
		}
	}
	if !strings.Contains(r.Stdout, "served: version two") {
		t.Errorf("up --build did not run the rebuilt image:\n%s", r)
	}
	if imageID(t, e, ref) == id1 {
		t.Error("the rebuilt image has the old ID")
	}

	// builder prune empties the step cache: the next build runs again.
	r = e.MustBerth(t, "builder", "prune", "-f")
	if !strings.Contains(r.Stdout, "Total reclaimed space") {
		t.Errorf("builder prune:\n%s", r)
	}
	r = e.MustBerth(t, "build")
	if got := stepStatus(t, r.Stderr, "COPY static.txt"); got != "DONE" {
		t.Errorf("after builder prune, COPY static.txt is %q, want DONE", got)
	}

	// The final image holds only what the scratch stage copied.
	var names []string
	for _, l := range layerFiles(t, e, ref) {
		for n := range l {
			names = append(names, n)
		}
	}
	for _, n := range names {
		if strings.Contains(n, "src") || strings.Contains(n, "static.txt") {
			t.Errorf("the scratch stage's image has %s from the tools stage", n)
		}
	}
}

// TestBuildDockerignore: a secret the .dockerignore excludes never lands
// in a layer, even with `COPY . .`; a file it does not exclude does.
func TestBuildDockerignore(t *testing.T) {
	e := NewEnv(t)
	secret := "s3cr3t-" + netRandHex(8)
	e.WriteFile(t, "Dockerfile", "FROM busybox\nWORKDIR /app\nCOPY . .\nCMD [\"ls\", \"-a\", \"/app\"]\n")
	e.WriteFile(t, ".dockerignore", "secret.env\n**/*.key\n")
	e.WriteFile(t, "secret.env", "TOKEN="+secret+"\n")
	e.WriteFile(t, "keys/id.key", secret+"\n")
	e.WriteFile(t, "keep.txt", "kept\n")
	e.Compose(t, `services:
  app:
    build: .
    image: ignore-test:1
    network_mode: none
`)
	e.MustBerth(t, "build")
	var sawKeep bool
	for _, l := range layerFiles(t, e, "ignore-test:1") {
		for name, body := range l {
			if strings.Contains(body, secret) || strings.HasSuffix(name, "secret.env") || strings.HasSuffix(name, ".key") {
				t.Errorf("an ignored file reached a layer: %s", name)
			}
			if name == "app/keep.txt" && body == "kept\n" {
				sawKeep = true
			}
		}
	}
	if !sawKeep {
		t.Error("app/keep.txt is in no layer")
	}
}

// TestBuildBadInput: each broken build says what is wrong, where, and
// leaves no image tagged.
func TestBuildBadInput(t *testing.T) {
	cases := []struct {
		name       string
		dockerfile string
		files      map[string]string
		want       []string
	}{
		{"syntax", "FROM busybox\nRUN true\nCOPY\n", nil, []string{"Dockerfile", "line 3"}},
		{"unknown-instruction", "FROM busybox\nFROBNICATE x\n", nil, []string{"line 2", "FROBNICATE"}},
		{"missing-file", "FROM busybox\nCOPY nothere.txt /x\n", nil, []string{"nothere.txt", "not found"}},
		{"failing-run", "FROM busybox\nRUN echo about to fail >&2; echo more; exit 3\n", nil, []string{"exit code 3", "about to fail", "more", "RUN echo about to fail"}},
		{"unknown-stage", "FROM busybox AS a\nFROM scratch\nCOPY --from=nosuchstage /x /x\n", nil, []string{"nosuchstage", "stage"}},
		{"remote-add", "FROM busybox\nADD http://127.0.0.1:1/x /x\n", nil, []string{"http://127.0.0.1:1/x", "not supported"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := NewEnv(t)
			e.WriteFile(t, "Dockerfile", c.dockerfile)
			for n, b := range c.files {
				e.WriteFile(t, n, b)
			}
			e.Compose(t, "services:\n  app:\n    build: .\n    image: bad-"+c.name+":1\n    network_mode: none\n")
			r := e.Berth(t, "build")
			if r.Code == 0 {
				t.Fatalf("build succeeded:\n%s", r)
			}
			for _, w := range c.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("error lacks %q:\n%s", w, r.Stderr)
				}
			}
			ls := e.MustBerth(t, "image", "ls")
			if strings.Contains(ls.Stdout, "bad-"+c.name) {
				t.Errorf("a failed build left its tag:\n%s", ls.Stdout)
			}
			// up does not start anything when the build fails.
			if r := e.Berth(t, "up", "-d"); r.Code == 0 {
				t.Errorf("up with a failing build succeeded:\n%s", r)
			}
			if ps := mustPs(t, e, "-a"); len(ps) != 0 {
				t.Errorf("containers exist after a failed build: %+v", ps)
			}
		})
	}
}

// TestBuildNoBuildAndImageBuild: up --no-build refuses a missing image
// naming the service; `berth image build` builds a single image with
// -f, --build-arg and --target.
func TestBuildNoBuildAndImageBuild(t *testing.T) {
	e := NewEnv(t)
	e.WriteFile(t, "Dockerfile", "FROM busybox\nCMD [\"echo\", \"hi\"]\n")
	e.Compose(t, "services:\n  web:\n    build: .\n    network_mode: none\n")
	r := e.Berth(t, "up", "-d", "--no-build")
	if r.Code == 0 || !strings.Contains(r.Stderr, `service "web"`) || !strings.Contains(r.Stderr, e.Project+"-web") {
		t.Errorf("up --no-build with no image: want an error naming the service and image:\n%s", r)
	}

	e.WriteFile(t, "other/build.Dockerfile", `ARG BASE=busybox
FROM ${BASE} AS first
ARG WHO=nobody
RUN echo "first for $WHO" > /who
FROM first AS second
RUN echo second >> /who
FROM first AS last
CMD ["cat", "/who"]
`)
	r = e.MustBerth(t, "image", "build", "-t", "single:dev", "-f", "other/build.Dockerfile",
		"--build-arg", "WHO=tester", "--target", "second", "other")
	if strings.Contains(r.Stderr, "[last") {
		t.Errorf("a stage after the target was built:\n%s", r.Stderr)
	}
	e.Compose(t, "services:\n  one:\n    image: single:dev\n    network_mode: none\n    command: [\"cat\", \"/who\"]\n")
	r = e.MustBerth(t, "run", "--rm", "-T", "one")
	if want := "first for tester\nsecond\n"; r.Stdout != want {
		t.Errorf("image build -f --build-arg --target: ran %q, want %q", r.Stdout, want)
	}
	r = e.Berth(t, "image", "build", "-t", "single:dev2", "--target", "nope", "-f", "other/build.Dockerfile", "other")
	if r.Code == 0 || !strings.Contains(r.Stderr, `"nope"`) {
		t.Errorf("unknown --target: want an error naming it:\n%s", r)
	}
}
