package build

import (
	"testing"
)

func TestMultiStageToScratch(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"hello.txt": "hello\n"})
	df := `FROM busybox AS builder
RUN echo built > /out.txt && cat /etc/berth-testimage > /marker
COPY hello.txt /src/

FROM busybox AS unused
RUN echo never > /never

FROM scratch
COPY --from=builder /out.txt /src/hello.txt /
CMD ["/out.txt"]
`
	img, rec := e.mustBuild(t, dir, df, Options{Tags: []string{"multi:latest"}})
	fs := flat(t, img)
	if got := fileOf(t, fs, "/out.txt"); got != "built\n" {
		t.Errorf("/out.txt = %q", got)
	}
	if got := fileOf(t, fs, "/hello.txt"); got != "hello\n" {
		t.Errorf("/hello.txt = %q", got)
	}
	if _, ok := fs["bin/busybox"]; ok {
		t.Errorf("scratch image holds busybox")
	}
	if n := len(layers(t, img)); n != 1 {
		t.Errorf("scratch stage with one COPY has %d layers, want 1", n)
	}
	for _, title := range rec.titles() {
		if contains(title, "unused") || contains(title, "never") {
			t.Errorf("unused stage built: step %q\n%s", title, rec.log())
		}
	}
	got, err := e.store.Get("multi:latest")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != img.ID() {
		t.Errorf("tag points at %s, built %s", got.ID(), img.ID())
	}
}
