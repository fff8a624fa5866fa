package build

import (
	"bytes"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestImageConfig(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"f": "f\n"})
	df := `FROM busybox
LABEL a=1 "b c"="two words"
ENV E=1
EXPOSE 80 53/udp $PORT
VOLUME /data
VOLUME ["/cache"]
COPY f /f
RUN true
USER app
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=2s --start-period=1s --retries=3 CMD wget -q localhost
ONBUILD RUN echo child
ENTRYPOINT ["/bin/echo"]
MAINTAINER someone
`
	img, rec := e.mustBuild(t, dir, df, Options{Labels: map[string]string{"from.options": "yes", "a": "overridden"}})
	cfg := configOf(t, img)
	c := cfg.Config
	if want := map[string]string{"a": "overridden", "b c": "two words", "from.options": "yes"}; !maps.Equal(c.Labels, want) {
		t.Errorf("Labels = %v, want %v", c.Labels, want)
	}
	if !slices.Contains(c.Env, "E=1") || !slices.ContainsFunc(c.Env, func(s string) bool { return strings.HasPrefix(s, "PATH=") }) {
		t.Errorf("Env = %v, want E=1 and PATH", c.Env)
	}
	if _, ok := c.ExposedPorts["80/tcp"]; !ok || len(c.ExposedPorts) != 2 {
		t.Errorf("ExposedPorts = %v, want 80/tcp and 53/udp", c.ExposedPorts)
	}
	if _, ok := c.ExposedPorts["53/udp"]; !ok {
		t.Errorf("ExposedPorts = %v, want 53/udp", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/cache"]; !ok || len(c.Volumes) != 2 {
		t.Errorf("Volumes = %v", c.Volumes)
	}
	if c.User != "app" || c.StopSignal != "SIGINT" {
		t.Errorf("User %q StopSignal %q", c.User, c.StopSignal)
	}
	hc := c.Healthcheck
	if hc == nil || !slices.Equal(hc.Test, []string{"CMD-SHELL", "wget -q localhost"}) || hc.Interval != 5*time.Second ||
		hc.Timeout != 2*time.Second || hc.StartPeriod != time.Second || hc.Retries != 3 {
		t.Errorf("Healthcheck = %+v", hc)
	}
	if !slices.Equal(c.OnBuild, []string{"RUN echo child"}) {
		t.Errorf("OnBuild = %q", c.OnBuild)
	}
	if !slices.Equal(c.Entrypoint, []string{"/bin/echo"}) || c.Cmd != nil {
		t.Errorf("Entrypoint %q Cmd %q: an ENTRYPOINT drops the CMD of the base", c.Entrypoint, c.Cmd)
	}
	if cfg.Author != "someone" {
		t.Errorf("Author = %q", cfg.Author)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}
	// History: the base's entries, then one per instruction (not ARG);
	// the non-empty ones match the layers one to one.
	vi, _ := img.V1Image()
	ls, _ := vi.Layers()
	nonEmpty := 0
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	if nonEmpty != len(ls) || len(cfg.RootFS.DiffIDs) != len(ls) {
		t.Errorf("%d non-empty history entries, %d diff IDs, %d layers", nonEmpty, len(cfg.RootFS.DiffIDs), len(ls))
	}
	var mine []string
	for _, h := range cfg.History {
		if h.Comment == historyComment {
			mine = append(mine, h.CreatedBy)
		}
		if h.Created.IsZero() {
			t.Errorf("history %q has no time", h.CreatedBy)
		}
	}
	want := []string{
		"LABEL a=1 b c=two words", "ENV E=1", "EXPOSE 53/udp 80", `VOLUME ["/data"]`, `VOLUME ["/cache"]`, "COPY f /f", "RUN /bin/sh -c true",
		"USER app", "STOPSIGNAL SIGINT", `HEALTHCHECK ["CMD-SHELL","wget -q localhost"]`, "ONBUILD RUN echo child",
		`ENTRYPOINT ["/bin/echo"]`, "MAINTAINER someone",
	}
	if !slices.Equal(mine, want) {
		t.Errorf("history:\n got %q\nwant %q\n%s", mine, want, rec.log())
	}
	if err := validate.Image(vi); err != nil {
		t.Errorf("validate: %v", err)
	}

	// CMD then ENTRYPOINT in the same stage keeps the CMD; a later stage
	// FROM it inherits both until its own ENTRYPOINT.
	img2, _ := e.mustBuild(t, dir, "FROM busybox AS a\nCMD [\"x\"]\nENTRYPOINT [\"/e\"]\nFROM a\nENV Z=1\n", Options{})
	c2 := configOf(t, img2).Config
	if !slices.Equal(c2.Cmd, []string{"x"}) || !slices.Equal(c2.Entrypoint, []string{"/e"}) {
		t.Errorf("Cmd %q Entrypoint %q, want [x] [/e]", c2.Cmd, c2.Entrypoint)
	}
}

// TestDockerSaveRoundTrip writes a built image in docker-save form with
// go-containerregistry's tarball and reads it back unchanged.
func TestDockerSaveRoundTrip(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"f": "f\n"})
	img, _ := e.mustBuild(t, dir, "FROM busybox\nCOPY f /f\nRUN rm /etc/berth-testimage\nCMD [\"cat\", \"/f\"]\n", Options{Tags: []string{"saved:1"}})
	vi, err := img.V1Image()
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag("saved:1")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarball.Write(tag, vi, &buf); err != nil {
		t.Fatalf("tarball.Write: %v", err)
	}
	data := buf.Bytes()
	back, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }, &tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Fatalf("read back: %v", err)
	}
	id, _ := back.ConfigName()
	if id.String() != img.ID() {
		t.Errorf("read back config %s, built %s", id, img.ID())
	}
	// and the store's own save loads into a fresh store
	var saved bytes.Buffer
	if err := e.store.Save(t.Context(), &saved, "saved:1"); err != nil {
		t.Fatalf("store save: %v", err)
	}
	other := newEnv(t)
	names, err := other.store.Load(t.Context(), &saved, nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	got, err := other.store.Get("saved:1")
	if err != nil || got.ID() != img.ID() {
		t.Errorf("loaded %v: %v (id %v)", names, err, got)
	}
}
