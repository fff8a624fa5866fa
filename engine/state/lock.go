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
// free or ctx is done. Missing dirs are made 0700: only root uses locks, and
// the dir made here may be the first of the state root or the run dir.
func Acquire(ctx context.Context, path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
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

// FileLock is a flock on a file of its own open file description, shared
// or exclusive (AcquireFile, TryAcquireFile): goroutines of one process
// exclude each other just as processes do, since each call opens the file
// anew.
type FileLock struct{ f *os.File }

// Release frees the lock.
func (l *FileLock) Release() error { return l.f.Close() }

// AcquireFile takes the flock at path (created if missing), shared or
// exclusive, waiting until it is free or ctx is done.
func AcquireFile(ctx context.Context, path string, exclusive bool) (*FileLock, error) {
	for {
		l, ok, err := TryAcquireFile(path, exclusive)
		if err != nil || ok {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TryAcquireFile is AcquireFile that does not wait: ok is false when
// someone else holds the lock in a conflicting mode.
func TryAcquireFile(path string, exclusive bool) (l *FileLock, ok bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
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
		return &FileLock{f: f}, true, nil
	case unix.EWOULDBLOCK:
		f.Close()
		return nil, false, nil
	default:
		f.Close()
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
}
