package build

import (
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
	_, rec = e.mustBuild(t, dir, df, Options{NoCache: true})
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
