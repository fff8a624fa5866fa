package image

import (
	"errors"
	"strings"
	"testing"
)

func TestParseReference(t *testing.T) {
	const dg = "sha256:4b9c1e1b5c0f6a1e4d3f2b1a0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"
	tests := []struct {
		in, full, familiar string
		tag, digest        string
	}{
		{"nginx", "docker.io/library/nginx:latest", "nginx:latest", "latest", ""},
		{"nginx:1.25", "docker.io/library/nginx:1.25", "nginx:1.25", "1.25", ""},
		{"user/app", "docker.io/user/app:latest", "user/app:latest", "latest", ""},
		{"docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1", "1", ""},
		{"index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest", "latest", ""},
		{"127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox:latest", "latest", ""},
		{"localhost/x/y:z", "localhost/x/y:z", "localhost/x/y:z", "z", ""},
		{"ghcr.io/org/app:v1", "ghcr.io/org/app:v1", "ghcr.io/org/app:v1", "v1", ""},
		{"nginx@" + dg, "docker.io/library/nginx@" + dg, "nginx@" + dg, "", dg},
		{"nginx:1@" + dg, "docker.io/library/nginx:1@" + dg, "nginx:1@" + dg, "1", dg},
		{"host:5000/a/b@" + dg, "host:5000/a/b@" + dg, "host:5000/a/b@" + dg, "", dg},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseReference(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tt.full || r.Familiar() != tt.familiar || r.Tag != tt.tag || r.Digest != tt.digest {
				t.Errorf("ParseReference(%q) = %q / %q (tag %q digest %q), want %q / %q (tag %q digest %q)",
					tt.in, r.String(), r.Familiar(), r.Tag, r.Digest, tt.full, tt.familiar, tt.tag, tt.digest)
			}
		})
	}
}

func TestParseReferenceErrors(t *testing.T) {
	for _, in := range []string{"", "  ", "Nginx", "nginx:", "a b", "nginx@sha256:short", "-bad/x", "x:tag:tag"} {
		_, err := ParseReference(in)
		if !errors.Is(err, ErrInvalidReference) {
			t.Errorf("ParseReference(%q) = %v, want ErrInvalidReference", in, err)
			continue
		}
		if strings.TrimSpace(in) != "" && !strings.Contains(err.Error(), in) {
			t.Errorf("error %q does not name the reference %q", err, in)
		}
	}
}
