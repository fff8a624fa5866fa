package archive

import (
	"path"
	"path/filepath"
	"strings"
)

// Spec is a cp argument taken apart the way Docker's cp reads it.
type Spec struct {
	// Clean is the cleaned path: absolute for a container path, as given
	// (cleaned) for a host path.
	Clean string
	// Contents is set by a trailing "/.": the directory's contents are
	// copied, not the directory itself.
	Contents bool
	// DirOnly is set by a trailing "/" or "/.": the path must be a
	// directory, so a trailing symlink is followed to one.
	DirOnly bool
}

// Base is the last element of Clean, "." for the root.
func (s Spec) Base() string {
	if s.Clean == "/" {
		return "."
	}
	return filepath.Base(s.Clean)
}

// ContainerPath reads a path inside a container. It is always taken from
// the container's root: "a/b", "/a/b" and "/../a/b" are the same path, and
// no ".." can climb above the root.
func ContainerPath(p string) Spec {
	s := suffixes(p)
	s.Clean = path.Clean("/" + p)
	return s
}

// HostPath reads a path on the host, relative to the working directory
// unless absolute.
func HostPath(p string) Spec {
	s := suffixes(p)
	s.Clean = filepath.Clean(p)
	return s
}

func suffixes(p string) Spec {
	var s Spec
	switch {
	case p == "." || strings.HasSuffix(p, "/."):
		s.Contents, s.DirOnly = true, true
	case strings.HasSuffix(p, "/"):
		s.DirOnly = true
	}
	return s
}
