package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunMounts: RUN --mount of type cache (kept between builds, not in
// the image), bind (context files, .dockerignore honoured, read-only, its
// content in the cache key; and from a stage) and tmpfs; a secret mount
// that is not required is skipped.
func TestRunMounts(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{
		"src/a.txt":     "alpha\n",
		"src/skip.key":  "secret\n",
		".dockerignore": "**/*.key\n",
	})
	df := `FROM busybox AS gen
RUN mkdir -p /gen && echo generated > /gen/out
FROM busybox
RUN --mount=type=cache,target=/cache n=$(cat /cache/n 2>/dev/null || echo 0); echo $((n+1)) > /cache/n; cat /cache/n > /runs
RUN --mount=type=bind,source=src,target=/in cat /in/a.txt > /got && ls /in > /listed && if touch /in/x 2>/dev/null; then echo writable > /bind-rw; fi
RUN --mount=type=bind,from=gen,source=/gen,target=/g cp /g/out /from-stage
RUN --mount=type=tmpfs,target=/scratch echo tmp > /scratch/f && grep -c tmpfs /proc/mounts > /tmpfs-count
RUN --mount=type=secret,id=token cat /run/secrets/token 2>/dev/null > /secret || echo none > /secret
`
	img, rec := e.mustBuild(t, dir, df, Options{})
	fs := flat(t, img)
	for p, want := range map[string]string{
		"/runs": "1\n", "/got": "alpha\n", "/listed": "a.txt\n", "/from-stage": "generated\n", "/secret": "none\n",
	} {
		if got := fileOf(t, fs, p); got != want {
			t.Errorf("%s = %q, want %q\n%s", p, got, want, rec.log())
		}
	}
	for p := range fs {
		if strings.HasPrefix(p, "/cache/") || strings.HasPrefix(p, "/in/") || strings.HasPrefix(p, "/scratch/") || p == "/bind-rw" {
			t.Errorf("%s from a mount landed in the image", p)
		}
	}
	// The cache mount keeps its content; the steps stay cached until a
	// bound file changes.
	e.mustBuild(t, dir, df, Options{NoCache: true})
	img2, _ := e.mustBuild(t, dir, df, Options{NoCache: true})
	if got := fileOf(t, flat(t, img2), "/runs"); got != "3\n" {
		t.Errorf("cache mount across three builds: /runs = %q, want 3", got)
	}
	writeFiles(t, dir, map[string]string{"src/a.txt": "beta\n"})
	img3, rec := e.mustBuild(t, dir, df, Options{})
	st := fsStatuses(rec)
	for title, s := range st {
		switch {
		case strings.Contains(title, "type=cache") && s != StatusCached:
			t.Errorf("%s: %s, want cached", title, s)
		case strings.Contains(title, "source=src") && s != StatusDone:
			t.Errorf("a bound file changed, yet %s: %s", title, s)
		}
	}
	if got := fileOf(t, flat(t, img3), "/got"); got != "beta\n" {
		t.Errorf("/got = %q after the bound file changed", got)
	}
}

// TestRunMountBindSymlinks: a RUN --mount=type=bind source that is, or
// passes through, a symlink resolves inside its stage or the build
// context (as the container would see it), never on the host: the host
// canary is not read into the image. A context from the internet is not
// trusted more than an image.
func TestRunMountBindSymlinks(t *testing.T) {
	e := newEnv(t)
	hostDir := t.TempDir()
	canary := filepath.Join(hostDir, "canary.txt")
	if err := os.WriteFile(canary, []byte("host canary\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := writeContext(t, map[string]string{"real/mark": "context\n"})
	for name, to := range map[string]string{"abs": canary, "absdir": hostDir, "up": "../../../../../../.." + hostDir, "rel": "real/mark"} {
		if err := os.Symlink(to, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	stage := `FROM busybox AS gen
RUN ln -s / /link && ln -s ../../../../../.. /up && mkdir -p /g && echo stage > /g/mark
FROM busybox
RUN --mount=type=bind,from=gen,source=/link,target=/l cat /l` + canary + ` > /got 2>/dev/null || echo none > /got
RUN --mount=type=bind,from=gen,source=up/g,target=/u cat /u/mark > /stage-up
RUN --mount=type=bind,from=gen,source=/link/g,target=/x cat /x/mark > /stage-link
`
	img, rec := e.mustBuild(t, dir, stage, Options{})
	fs := flat(t, img)
	for p, want := range map[string]string{"/got": "none\n", "/stage-up": "stage\n", "/stage-link": "stage\n"} {
		if got := fileOf(t, fs, p); got != want {
			t.Errorf("%s = %q, want %q\n%s", p, got, want, rec.log())
		}
	}
	// A symlink inside the context shows its target.
	img, rec = e.mustBuild(t, dir, "FROM busybox\nRUN --mount=type=bind,source=rel,target=/c cat /c > /got\n", Options{})
	if got := fileOf(t, flat(t, img), "/got"); got != "context\n" {
		t.Errorf("source=rel: /got = %q, want the context file\n%s", got, rec.log())
	}
	// From the context: refused, or resolved inside it.
	for src, read := range map[string]string{"abs": "/c", "absdir": "/c/canary.txt", "up": "/c/canary.txt", "real/../abs": "/c"} {
		df := "FROM busybox\nRUN --mount=type=bind,source=" + src + ",target=/c cat " + read + " > /got 2>/dev/null || echo none > /got\n"
		img, _, err := e.build(t, dir, df, Options{})
		if err != nil {
			if strings.Contains(err.Error(), "host canary") {
				t.Errorf("source=%s: the error shows the host canary: %v", src, err)
			}
			continue
		}
		if got := fileOf(t, flat(t, img), "/got"); strings.Contains(got, "host canary") {
			t.Errorf("source=%s: the host canary was read through a context symlink", src)
		}
	}
}
