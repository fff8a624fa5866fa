package state

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Lock is an exclusive cross-process lock on a file (flock). It also
// serializes goroutines of one process, since flock is per open file
// description and two opens in one process would not exclude each other.
type Lock struct {
	path string
	f    *os.File
}

var inproc sync.Map // path -> *sync.Mutex

// Acquire takes the lock at path (created if missing), waiting until it is
// free or ctx is done.
func Acquire(ctx context.Context, path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	mu, _ := inproc.LoadOrStore(path, &sync.Mutex{})
	m := mu.(*sync.Mutex)
	for !m.TryLock() {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		m.Unlock()
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &Lock{path: path, f: f}, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			m.Unlock()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			m.Unlock()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Release frees the lock.
func (l *Lock) Release() error {
	err := l.f.Close() // closing drops the flock
	if mu, ok := inproc.Load(l.path); ok {
		mu.(*sync.Mutex).Unlock()
	}
	return err
}

// AcquireShared takes a shared lock at path: any number of holders at
// once, none while someone holds it with Acquire (which waits for them).
func AcquireShared(ctx context.Context, path string) (*SharedLock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		if err == nil {
			return &SharedLock{f: f}, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// SharedLock is a held AcquireShared lock.
type SharedLock struct{ f *os.File }

// Release frees the lock.
func (l *SharedLock) Release() error { return l.f.Close() }
