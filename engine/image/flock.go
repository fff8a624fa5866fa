package image

import (
	"context"

	"github.com/berth-dev/berth/engine/state"
)

// lockGC takes the store-wide lock between imports (shared) and removal
// of content (exclusive), waiting until ctx is done: an import that finds
// a layer present relies on it staying there until its image is in the
// index.
func (s *Store) lockGC(ctx context.Context, exclusive bool) (*state.FileLock, error) {
	return state.AcquireFile(ctx, s.gcLockPath(), exclusive)
}

// tryLockGC takes the gc lock if it is free now.
func (s *Store) tryLockGC(exclusive bool) (*state.FileLock, bool, error) {
	return state.TryAcquireFile(s.gcLockPath(), exclusive)
}
