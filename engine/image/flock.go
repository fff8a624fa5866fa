package image

import (
	"context"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// gcLock is the store-wide lock between imports (shared) and removal of
// content (exclusive): an import that finds a layer present relies on it
// staying there until its image is in the index.
type gcLock struct{ f *os.File }

// lockGC takes the gc lock shared or exclusive, waiting until ctx is done.
// Each call opens its own file description, so goroutines of one process
// exclude each other just as processes do.
func (s *Store) lockGC(ctx context.Context, exclusive bool) (*gcLock, error) {
	l, ok, err := s.tryLockGC(exclusive)
	for err == nil && !ok {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock %s: %w", s.gcLockPath(), ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
		l, ok, err = s.tryLockGC(exclusive)
	}
	return l, err
}

// tryLockGC takes the gc lock if it is free now.
func (s *Store) tryLockGC(exclusive bool) (*gcLock, bool, error) {
	f, err := os.OpenFile(s.gcLockPath(), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false, err
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err = unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err != unix.EINTR {
			break
		}
	}
	switch err {
	case nil:
		return &gcLock{f: f}, true, nil
	case unix.EWOULDBLOCK:
		f.Close()
		return nil, false, nil
	default:
		f.Close()
		return nil, false, fmt.Errorf("lock %s: %w", s.gcLockPath(), err)
	}
}

func (l *gcLock) release() { l.f.Close() }
