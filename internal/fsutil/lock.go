package fsutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Lock is a flock(2) on a file, exclusive or shared, held through an open
// file description of its own: every Acquire opens the file anew, so two
// goroutines of one process exclude each other just as two processes do.
// Closing the file (Release, or the process's exit) drops the lock.
type Lock struct{ f *os.File }

// Release frees the lock.
func (l *Lock) Release() error { return l.f.Close() }

// Acquire takes the exclusive lock at path (created if missing, with its
// missing dirs made 0700: only root uses locks, and the dir made here may
// be the first of the state root or the run dir), waiting until it is
// free or ctx is done.
func Acquire(ctx context.Context, path string) (*Lock, error) {
	return acquire(ctx, path, unix.LOCK_EX)
}

// AcquireShared is Acquire for a shared lock: many holders at once, none
// while someone holds the lock exclusively.
func AcquireShared(ctx context.Context, path string) (*Lock, error) {
	return acquire(ctx, path, unix.LOCK_SH)
}

// TryAcquire is Acquire (or AcquireShared) that does not wait: ok is false
// when someone else holds the lock in a conflicting mode.
func TryAcquire(path string, exclusive bool) (l *Lock, ok bool, err error) {
	f, err := open(path)
	if err != nil {
		return nil, false, err
	}
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	switch err := flock(f, how|unix.LOCK_NB); {
	case err == nil:
		return &Lock{f: f}, true, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		f.Close()
		return nil, false, nil
	default:
		f.Close()
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
}

func open(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
}

// flock is flock(2) retried on EINTR.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

// acquire blocks in flock(2) — the kernel wakes the waiter when the lock
// is freed; nothing polls. A context that can end gets the wait in a
// goroutine: when ctx ends first, the goroutine is left to finish the
// flock and drops the lock at once, and the caller gets ctx's error.
func acquire(ctx context.Context, path string, how int) (*Lock, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	err = flock(f, how|unix.LOCK_NB)
	if err == nil {
		return &Lock{f: f}, nil
	}
	if !errors.Is(err, unix.EWOULDBLOCK) {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if ctx.Done() == nil {
		if err := flock(f, how); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return &Lock{f: f}, nil
	}
	if err := ctx.Err(); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	done := make(chan error) // unbuffered: a send happens only to a caller still waiting
	abandoned := make(chan struct{})
	go func() {
		err := flock(f, how)
		select {
		case done <- err:
		case <-abandoned:
			f.Close()
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return &Lock{f: f}, nil
	case <-ctx.Done():
		close(abandoned)
		return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
	}
}
