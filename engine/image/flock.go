package image

import (
	"context"

	"github.com/berth-dev/berth/internal/fsutil"
)

// lockGC takes the store-wide lock between imports (shared) and removal
// of content (exclusive), waiting until ctx is done: an import that finds
// a layer present relies on it staying there until its image is in the
// index.
func (s *Store) lockGC(ctx context.Context, exclusive bool) (*fsutil.Lock, error) {
	if exclusive {
		return fsutil.Acquire(ctx, s.gcLockPath())
	}
	return fsutil.AcquireShared(ctx, s.gcLockPath())
}

// tryLockGC takes the gc lock if it is free now.
func (s *Store) tryLockGC(exclusive bool) (*fsutil.Lock, bool, error) {
	return fsutil.TryAcquire(s.gcLockPath(), exclusive)
}
