package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestConfigResolveImageDigests: config --resolve-image-digests pins each
// image to the digest its registry serves, and the pinned reference pulls;
// an image no registry knows is an error naming its service.
func TestConfigResolveImageDigests(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  web:
    image: httpecho
  built:
    build: .
`)
	r := e.MustBerth(t, "config", "--resolve-image-digests", "--images")
	pinned := regexp.MustCompile(`(?m)^httpecho:latest@sha256:[0-9a-f]{64}$`).FindString(r.Stdout)
	if pinned == "" {
		t.Fatalf("web's image is not pinned to a digest:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stdout, e.Project+"-built") {
		t.Errorf("the built service's image name changed:\n%s", r.Stdout)
	}
	e.MustBerth(t, "image", "pull", pinned)
	ls := e.MustBerth(t, "image", "ls", "--digests")
	if d := pinned[strings.Index(pinned, "@")+1:]; !strings.Contains(ls.Stdout, d[:19]) {
		t.Errorf("pulled image's digest differs from the pinned one %s:\n%s", d, ls.Stdout)
	}

	e.Compose(t, "services:\n  ghost:\n    image: no-such-image-anywhere\n")
	r = e.Berth(t, "config", "--resolve-image-digests")
	if r.Code == 0 || !strings.Contains(r.Stderr, `service "ghost"`) {
		t.Errorf("unknown image: want an error naming the service:\n%s", r)
	}
}
