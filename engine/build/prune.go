package build

import (
	"context"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/fsutil"
)

// useLock is held shared by every build and exclusively by Prune, so a
// prune never removes what a running build uses.
func (b *Builder) useLock() string { return filepath.Join(b.dir, "use.lock") }

// PruneReport says what Prune removed.
type PruneReport struct {
	Entries   int    // cache keys removed
	Reclaimed uint64 // bytes freed
}

// Prune empties the build cache: the steps' keys and layers (later builds
// run every step again once), leftovers of interrupted builds, and, with
// all, the contents of RUN --mount=type=cache mounts. Images already built
// are in the image store and stay. It waits for running builds to end.
func (b *Builder) Prune(ctx context.Context, all bool) (PruneReport, error) {
	l, err := fsutil.Acquire(ctx, b.useLock())
	if err != nil {
		return PruneReport{}, err
	}
	defer l.Release()
	var rep PruneReport
	if ents, err := os.ReadDir(b.keysDir()); err == nil {
		rep.Entries = len(ents)
	}
	dirs := []string{b.keysDir(), b.layersDir(), b.tmpDir()}
	if all {
		dirs = append(dirs, filepath.Join(b.dir, "mounts"))
	}
	for _, d := range dirs {
		rep.Reclaimed += fsutil.DirSize(d)
		ents, err := os.ReadDir(d)
		if err != nil && !os.IsNotExist(err) {
			return rep, err
		}
		for _, e := range ents {
			if err := os.RemoveAll(filepath.Join(d, e.Name())); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}
