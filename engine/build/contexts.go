package build

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/engine/image"
)

// imageScheme marks an additional context that is an image.
const imageScheme = "docker-image://"

// checkContexts validates the additional contexts: names, and values that
// are a directory or docker-image://REF (git, http and oci-layout
// contexts are refused).
func checkContexts(ctxs map[string]string) error {
	for name, v := range ctxs {
		if name == "" || strings.ContainsAny(name, " \t=") {
			return fmt.Errorf("additional context %q: invalid name", name)
		}
		if ref, ok := strings.CutPrefix(v, imageScheme); ok {
			if _, err := image.ParseReference(ref); err != nil {
				return fmt.Errorf("additional context %s=%s: %w", name, v, err)
			}
			continue
		}
		if strings.Contains(v, "://") || strings.HasPrefix(v, "git@") {
			return fmt.Errorf("additional context %s=%s: %w: berth takes directories and docker-image:// contexts", name, v, ErrRemoteSource)
		}
		if !filepath.IsAbs(v) {
			return fmt.Errorf("additional context %s=%s: want an absolute directory", name, v)
		}
		if fi, err := os.Stat(v); err != nil || !fi.IsDir() {
			return fmt.Errorf("additional context %s=%s: %w: not a directory", name, v, ErrContextAccess)
		}
	}
	return nil
}

// namedContext is an additional context: a directory or an image.
type namedContext struct {
	name string
	dir  string // a directory (with its own .dockerignore)
	ref  string // an image reference
}

// namedContext finds the additional context called name (as FROM,
// COPY --from and RUN --mount=from name it; a stage of that name wins).
func (r *run) namedContext(name string) (namedContext, bool) {
	v, ok := r.o.Contexts[name]
	if !ok {
		return namedContext{}, false
	}
	if ref, isImage := strings.CutPrefix(v, imageScheme); isImage {
		return namedContext{name: name, ref: ref}, true
	}
	return namedContext{name: name, dir: v}, true
}

// contextImage is the image of an image context.
func (r *run) contextImage(ctx context.Context, nc namedContext) (*image.Image, error) {
	img, err := r.baseImage(ctx, nc.ref)
	if err != nil {
		return nil, fmt.Errorf("additional context %s=%s%s: %w", nc.name, imageScheme, nc.ref, err)
	}
	return img, nil
}

// contextSources lists srcs in a directory context, with its
// .dockerignore applied, and the hash of their content (see
// buildContext.sources).
func (nc namedContext) sources(srcs, excludes []string) (*os.Root, []source, string, error) {
	bc, err := openContext(nc.dir, "")
	if err != nil {
		return nil, nil, "", fmt.Errorf("additional context %s: %w", nc.name, err)
	}
	return bc.sources(srcs, excludes)
}
