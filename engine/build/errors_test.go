package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/image"
)

func TestBadInputs(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"ok.txt": "ok\n"})
	// a tag that exists already must keep pointing where it did
	prev, _ := e.mustBuild(t, dir, "FROM busybox\nENV PREVIOUS=1\n", Options{Tags: []string{"keep:me"}})
	cases := []struct {
		name, df string
		is       error
		contains []string
	}{
		{"syntax: unknown instruction", "FROM busybox\nRUN true\nFROBNICATE now\n", ErrSyntax, []string{"line 3", "FROBNICATE"}},
		{"syntax: COPY with one argument", "FROM busybox\n\nCOPY onlyone\n", ErrSyntax, []string{"line 3"}},
		{"empty", "# just a comment\n", ErrSyntax, []string{"no instructions"}},
		{"no FROM", "ENV A=1\n", ErrSyntax, []string{"FROM"}},
		{"missing context file", "FROM busybox\nRUN true\nCOPY ok.txt missing.txt /dst/\n", ErrNotInContext, []string{"missing.txt", ":3"}},
		{"glob matches nothing", "FROM busybox\nCOPY *.nope /dst/\n", ErrNotInContext, []string{"*.nope"}},
		{"outside the context", "FROM busybox\nCOPY ../etc/passwd /x\n", ErrNotInContext, []string{"../etc/passwd"}},
		{"unknown --from stage", "FROM busybox AS one\nFROM busybox\nCOPY --from=nosuch /x /x\n", ErrUnknownStage, []string{"nosuch", "one"}},
		{"unknown target", "FROM busybox AS one\n", ErrUnknownStage, []string{"two"}},
		{"failing RUN", "FROM busybox\nRUN echo to-stdout; echo to-stderr >&2; exit 3\n", ErrStepFailed, []string{"exit code 3", "to-stdout", "to-stderr", ":2"}},
		{"failing RUN after a RUN", "FROM busybox\nRUN touch /made\nRUN false\n", ErrStepFailed, []string{"exit code 1"}},
		{"unknown base image", "FROM nosuchimage:1\n", errOffline, []string{"nosuchimage", ":1"}},
		{"platform", "FROM --platform=linux/arm64 busybox\n", ErrPlatform, []string{"linux/arm64"}},
		{"chown to unknown user", "FROM busybox\nCOPY --chown=nobodyhere ok.txt /x\n", nil, []string{"nobodyhere"}},
		{"RUN --mount secret", "FROM busybox\nRUN --mount=type=secret,id=tok,required true\n", ErrMissingSecret, []string{"--mount=type=secret", `"tok"`, "Dockerfile (inline):2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Options{Tags: []string{"keep:me", "new:tag"}}
			if c.name == "unknown target" {
				o.Target = "two"
			}
			_, rec, err := e.build(t, dir, c.df, o)
			if err == nil {
				t.Fatalf("build succeeded\n%s", rec.log())
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v, want %v", err, c.is)
			}
			for _, s := range c.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if got, gerr := e.store.Get("keep:me"); gerr != nil || got.ID() != prev.ID() {
				t.Errorf("failed build moved tag keep:me: %v %v", gerr, got)
			}
			if _, gerr := e.store.Get("new:tag"); !errors.Is(gerr, image.ErrNotFound) {
				t.Errorf("failed build created tag new:tag: %v", gerr)
			}
			e.checkNoLeaks(t)
		})
	}
	var re *RunError
	_, _, err := e.build(t, dir, "FROM busybox\nRUN for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25; do echo line$i; done; exit 42\n", Options{})
	if !errors.As(err, &re) {
		t.Fatalf("failing RUN: %v, want a *RunError", err)
	}
	if re.ExitCode != 42 || len(re.Output) != outputTail || re.Output[len(re.Output)-1] != "line25" || re.Output[0] != "line6" {
		t.Errorf("RunError: code %d output %q", re.ExitCode, re.Output)
	}
}

func TestMissingDockerfileAndContext(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, nil)
	_, err := e.b.Build(t.Context(), Options{ContextDir: dir})
	if !errors.Is(err, ErrNoDockerfile) || !strings.Contains(err.Error(), filepath.Join(dir, "Dockerfile")) {
		t.Errorf("no Dockerfile: %v", err)
	}
	_, err = e.b.Build(t.Context(), Options{ContextDir: filepath.Join(dir, "nope"), DockerfileInline: "FROM busybox\n"})
	if !errors.Is(err, ErrContextAccess) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing context dir: %v", err)
	}
	_, err = e.b.Build(t.Context(), Options{ContextDir: dir, DockerfileInline: "FROM busybox\n", Network: "bridge"})
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("network bridge: %v", err)
	}
	_, err = e.b.Build(t.Context(), Options{ContextDir: dir, DockerfileInline: "FROM busybox\n", Tags: []string{"Bad:Tag:x"}})
	if err == nil {
		t.Errorf("bad tag accepted")
	}
	// a named Dockerfile in a subdir, with its own ignore file
	writeFiles(t, dir, map[string]string{
		"docker/app.Dockerfile": "FROM busybox\nCOPY . /ctx/\n", "docker/app.Dockerfile.dockerignore": "secret\n",
		".dockerignore": "other\n", "secret": "s", "other": "o",
	})
	img, err := e.b.Build(t.Context(), Options{ContextDir: dir, Dockerfile: "docker/app.Dockerfile"})
	if err != nil {
		t.Fatal(err)
	}
	fs := flat(t, img)
	if _, ok := fs["ctx/secret"]; ok {
		t.Errorf("<Dockerfile>.dockerignore not honoured")
	}
	if _, ok := fs["ctx/other"]; !ok {
		t.Errorf("the context's .dockerignore applied although the Dockerfile has its own")
	}
}

func TestCancelDuringRun(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	started := make(chan struct{}, 1)
	go func() {
		_, err := e.b.Build(ctx, Options{ContextDir: dir, DockerfileInline: "FROM busybox\nRUN echo go; sleep 60\n", Tags: []string{"cancel:me"},
			Progress: func(s Step) {
				if s.Status == StatusOutput && s.Line == "go" {
					select {
					case started <- struct{}{}:
					default:
					}
				}
			}})
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("build ended before the RUN started: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("RUN did not start")
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("canceled build succeeded")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("build did not end after cancel")
	}
	if _, err := e.store.Get("cancel:me"); !errors.Is(err, image.ErrNotFound) {
		t.Errorf("canceled build tagged: %v", err)
	}
	e.checkNoLeaks(t)
	ents, _ := os.ReadDir(filepath.Join(e.cacheDir, "keys"))
	if len(ents) != 0 {
		t.Errorf("canceled step cached: %d keys", len(ents))
	}
}
