package build

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestHealthStartInterval: HEALTHCHECK --start-interval reaches the image
// config as Docker writes it, survives a docker-save round trip, and is
// inherited by an image built FROM it.
func TestHealthStartInterval(t *testing.T) {
	e := newEnv(t)
	dir := writeContext(t, map[string]string{"x": "x\n"})
	img, rec := e.mustBuild(t, dir, "FROM busybox\nHEALTHCHECK --interval=5s --start-interval=300ms CMD true\n", Options{Tags: []string{"hc:1"}})
	if got := img.HealthStartInterval(); got != 300*time.Millisecond {
		t.Fatalf("HealthStartInterval = %v, want 300ms\n%s", got, rec.log())
	}
	if h := configOf(t, img).Config.Healthcheck; h == nil || h.Interval != 5*time.Second {
		t.Errorf("healthcheck = %+v", h)
	}
	vi, err := img.V1Image()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := vi.RawConfigFile()
	if err != nil || !strings.Contains(string(raw), `"StartInterval":300000000`) {
		t.Errorf("raw config lacks StartInterval: %s %v", raw, err)
	}
	var buf bytes.Buffer
	tag, _ := name.NewTag("hc:1")
	if err := tarball.Write(tag, vi, &buf); err != nil {
		t.Fatalf("docker-save: %v", err)
	}
	child, _ := e.mustBuild(t, dir, "FROM hc:1\nENV X=1\n", Options{})
	if got := child.HealthStartInterval(); got != 300*time.Millisecond {
		t.Errorf("inherited HealthStartInterval = %v", got)
	}
	none, _ := e.mustBuild(t, dir, "FROM hc:1\nHEALTHCHECK NONE\n", Options{})
	if got := none.HealthStartInterval(); got != 0 {
		t.Errorf("after HEALTHCHECK NONE: %v", got)
	}
}
