package image

import (
	"errors"
	"fmt"
	"strings"

	"github.com/distribution/reference"
)

// ErrInvalidReference is wrapped by every reference parse error.
var ErrInvalidReference = errors.New("invalid image reference")

// Reference is an image reference normalized as Docker does: "nginx" is
// docker.io/library/nginx:latest.
type Reference struct {
	Domain string // registry host[:port], "docker.io" for Docker Hub
	Path   string // repository path, "library/nginx"
	Tag    string // "latest" when neither tag nor digest was given
	Digest string // "sha256:…", or empty
}

// ParseReference normalizes s ("nginx", "user/app:1", "host:5000/x@sha256:…",
// "name:tag@sha256:…").
func ParseReference(s string) (Reference, error) {
	if strings.TrimSpace(s) == "" {
		return Reference{}, fmt.Errorf("%w: empty reference", ErrInvalidReference)
	}
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return Reference{}, fmt.Errorf("%w %q: %v", ErrInvalidReference, s, err)
	}
	named = reference.TagNameOnly(named)
	r := Reference{Domain: reference.Domain(named), Path: reference.Path(named)}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
	}
	return r, nil
}

// Name is the repository with its registry: docker.io/library/nginx.
func (r Reference) Name() string { return r.Domain + "/" + r.Path }

// String is the full normalized form: docker.io/library/nginx:latest,
// docker.io/library/nginx@sha256:…, or both tag and digest.
func (r Reference) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Familiar is the short form Docker shows: nginx:latest, user/app:1,
// 127.0.0.1:5000/busybox:latest.
func (r Reference) Familiar() string {
	return familiarName(r.Domain, r.Path) + r.suffix()
}

// FamiliarName is the repository as Docker shows it: nginx, user/app.
func (r Reference) FamiliarName() string { return familiarName(r.Domain, r.Path) }

func (r Reference) suffix() string {
	s := ""
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

func familiarName(domain, path string) string {
	if domain != "docker.io" {
		return domain + "/" + path
	}
	return strings.TrimPrefix(path, "library/")
}

// familiar turns a stored full reference string into Docker's short form;
// a string that does not parse is returned as is.
func familiar(full string) string {
	r, err := ParseReference(full)
	if err != nil {
		return full
	}
	return r.Familiar()
}

// WithTag returns r with the tag set and the digest cleared.
func (r Reference) WithTag(tag string) Reference {
	r.Tag, r.Digest = tag, ""
	return r
}

// WithDigest returns r pinned to digest, without a tag.
func (r Reference) WithDigest(digest string) Reference {
	r.Tag, r.Digest = "", digest
	return r
}
