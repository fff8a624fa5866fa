package build

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/internal/testimages"
)

func TestRunLeavesNoStubs(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, nil)
	df := `FROM busybox AS bb
FROM scratch
COPY --from=bb /bin /bin
RUN true
WORKDIR /
RUN ["/bin/true"]
`
	img, rec := e.mustBuild(t, dir, df, Options{})
	ls := layers(t, img)
	// only the COPY makes a layer: the RUNs on a rootfs lacking /proc,
	// /dev, /sys, /etc/hosts... leave none (the mount points the runtime
	// makes are removed)
	if len(ls) != 1 {
		for i, l := range ls {
			var names []string
			for n := range l {
				names = append(names, n)
			}
			t.Logf("layer %d: %v", i, names)
		}
		t.Errorf("%d layers, want 3\n%s", len(ls), rec.log())
	}
}

func TestScratchConfigOnly(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, nil)
	img, rec := e.mustBuild(t, dir, "FROM scratch\nENV A=1\nLABEL x=y\n", Options{Tags: []string{"empty:1"}})
	if n := len(layers(t, img)); n != 0 {
		t.Errorf("%d layers", n)
	}
	_ = rec
}

func TestAbsoluteSymlinkInPath(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"f": "f\n", "d/x": "x\n", "tree/abs/inner": "i\n", "tree/top": "t\n"})
	df := `FROM busybox
RUN mkdir -p /real/sub && ln -s /real /abs && ln -s real /rel && ln -s /loop1 /loop2 && ln -s /loop2 /loop1
WORKDIR /abs/work
COPY f /abs/sub/
COPY d /abs/d/
COPY f /rel/relf
COPY tree /
RUN ls /real/work && cat /real/sub/f /real/d/x /real/relf /real/inner /top
`
	img, rec := e.mustBuild(t, dir, df, Options{})
	fs := flat(t, img)
	fileOf(t, fs, "/real/sub/f")
	fileOf(t, fs, "/real/d/x")
	fileOf(t, fs, "/real/relf")
	fileOf(t, fs, "/real/inner")
	if cfg := configOf(t, img); cfg.Config.WorkingDir != "/abs/work" {
		t.Errorf("WorkingDir = %q", cfg.Config.WorkingDir)
	}
	if h := fs["abs"].hdr; h == nil || h.Typeflag != '2' {
		t.Errorf("/abs is no longer a symlink: %+v\n%s", h, rec.log())
	}
}

func TestSymlinkLoopIsAnError(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"f": "f\n"})
	_, _, err := e.build(t, dir, "FROM busybox\nRUN ln -s /loop2 /loop1 && ln -s /loop1 /loop2\nCOPY f /loop1/\n", Options{})
	if err == nil || !strings.Contains(err.Error(), "loop1") {
		t.Errorf("COPY through a symlink loop: %v", err)
	}
}

func TestOnbuildTriggersRunInChild(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"f": "from-child-context\n"})
	parent, _ := e.mustBuild(t, dir, "FROM busybox\nONBUILD RUN echo trig > /trig\nONBUILD COPY f /f\n", Options{Tags: []string{"parent:1"}})
	if n := len(configOf(t, parent).Config.OnBuild); n != 2 {
		t.Fatalf("parent records %d triggers", n)
	}
	if _, ok := flat(t, parent)["trig"]; ok {
		t.Fatalf("trigger ran in the image that declared it")
	}
	child, rec := e.mustBuild(t, dir, "FROM parent:1\nRUN cat /trig /f > /both\n", Options{})
	if got := fileOf(t, flat(t, child), "/both"); got != "trig\nfrom-child-context\n" {
		t.Errorf("/both = %q\n%s", got, rec.log())
	}
	if ob := configOf(t, child).Config.OnBuild; len(ob) != 0 {
		t.Errorf("child keeps the triggers: %q", ob)
	}
	// a forbidden trigger is refused where it is declared
	if _, _, err := e.build(t, dir, "FROM busybox\nONBUILD MAINTAINER x\n", Options{}); !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("forbidden trigger: %v", err)
	}
	if _, err := onbuildTriggers([]string{"FROM x"}); !errors.Is(err, ErrSyntax) {
		t.Errorf("FROM trigger of a foreign image: %v", err)
	}
}

// TestManyLayers builds past the ~30 cache paths that fit in mount(2)'s
// one page of overlay options.
func TestManyLayers(t *testing.T) {
	e := newEnv(t)
	files := map[string]string{}
	var df strings.Builder
	df.WriteString("FROM busybox\n")
	for i := range 60 {
		files[fmt.Sprintf("f%d", i)] = fmt.Sprint(i)
		fmt.Fprintf(&df, "COPY f%d /f%d\n", i, i)
	}
	df.WriteString("RUN cat /f0 /f59 /etc/berth-testimage > /out\n")
	dir := writeContext(t, files)
	img, rec := e.mustBuild(t, dir, df.String(), Options{})
	if got := fileOf(t, flat(t, img), "/out"); !strings.HasPrefix(got, "059") {
		t.Errorf("/out = %q\n%s", got, rec.log())
	}
	if n := len(layers(t, img)); n != 63 {
		t.Errorf("%d layers, want 63", n)
	}
}

// importingPuller "pulls" by importing the busybox test image under the
// asked name, counting its calls.
type importingPuller struct {
	store *image.Store
	calls []string
}

func (p *importingPuller) Pull(ctx context.Context, ref string, o image.PullOptions) (*image.Image, error) {
	p.calls = append(p.calls, ref)
	bb, err := testimages.Busybox()
	if err != nil {
		return nil, err
	}
	return p.store.Import(ctx, bb, image.ImportOptions{Tags: []string{ref}})
}

func TestBaseImagePull(t *testing.T) {
	e := newEnv(t)
	p := &importingPuller{store: e.store}
	b, err := New(e.store, nil, t.TempDir(), WithPuller(p))
	if err != nil {
		t.Fatal(err)
	}
	dir := writeContext(t, nil)
	if _, err := b.Build(t.Context(), Options{ContextDir: dir, DockerfileInline: "FROM example.invalid/base:1\nENV A=1\n"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(t.Context(), Options{ContextDir: dir, DockerfileInline: "FROM example.invalid/base:1\nENV A=1\n"}); err != nil {
		t.Fatal(err)
	}
	if len(p.calls) != 1 {
		t.Errorf("pulls %v: a present base image is not pulled again", p.calls)
	}
	if _, err := b.Build(t.Context(), Options{ContextDir: dir, DockerfileInline: "FROM busybox\nENV A=1\n", Pull: true}); err != nil {
		t.Fatal(err)
	}
	if len(p.calls) != 2 || p.calls[1] != "busybox" {
		t.Errorf("pulls %v: Pull asks for the base image", p.calls)
	}
	// Pull with an unreachable registry keeps the local image
	if _, _, err := e.build(t, dir, "FROM busybox\nENV A=1\n", Options{Pull: true}); err != nil {
		t.Errorf("--pull offline with a local base: %v", err)
	}
	// a RUN with no runtime configured is a clear error, and nothing leaks
	if _, err := b.Build(t.Context(), Options{ContextDir: dir, DockerfileInline: "FROM busybox\nRUN true\n"}); err == nil || !strings.Contains(err.Error(), "runtime") {
		t.Errorf("RUN without a runtime: %v", err)
	}
}
