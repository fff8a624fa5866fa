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
//
// A lock's file may be removed by its exclusive holder (Remove). Every
// acquire therefore checks, once it holds the flock, that its file is
// still the one at the path, and opens the path anew when it is not:
// a waiter on a removed file never shares the lock with one that made the
// path again.
type Lock struct {
	f    *os.File
	path string
}

// Release frees the lock.
func (l *Lock) Release() error { return l.f.Close() }

// Remove deletes the lock's file and frees the lock: for the lock of
// something that is gone (a removed project), so that such files do not
// pile up. Only an exclusive holder may call it.
func (l *Lock) Remove() error {
	err := os.Remove(l.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// current reports whether f, locked, is still the file at path: not
// removed, nor removed and made again, while the caller waited for it.
func current(f *os.File, path string) (bool, error) {
	var held, now unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &held); err != nil {
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
	switch err := unix.Stat(path, &now); {
	case errors.Is(err, unix.ENOENT):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
	return held.Dev == now.Dev && held.Ino == now.Ino, nil
}

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
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		f, err := open(path)
		if err != nil {
			return nil, false, err
		}
		switch err := flock(f, how|unix.LOCK_NB); {
		case err == nil:
		case errors.Is(err, unix.EWOULDBLOCK):
			f.Close()
			return nil, false, nil
		default:
			f.Close()
			return nil, false, fmt.Errorf("lock %s: %w", path, err)
		}
		if l, err := keepCurrent(&Lock{f: f, path: path}); l != nil || err != nil {
			return l, l != nil, err
		}
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

// acquire takes the lock on the file at path, again when the file it got
// was removed meanwhile (current).
func acquire(ctx context.Context, path string, how int) (*Lock, error) {
	for {
		l, err := acquireOpen(ctx, path, how)
		if err != nil {
			return nil, err
		}
		if l, err = keepCurrent(l); l != nil || err != nil {
			return l, err
		}
	}
}

// keepCurrent returns l when its file is still the one at its path, and
// otherwise frees it: nil and no error then mean "take it again".
func keepCurrent(l *Lock) (*Lock, error) {
	cur, err := current(l.f, l.path)
	if cur {
		return l, nil
	}
	l.f.Close()
	return nil, err
}

// acquireOpen blocks in flock(2) — the kernel wakes the waiter when the
// lock is freed; nothing polls. A context that can end gets the wait in a
// goroutine: when ctx ends first, the goroutine is left to finish the
// flock and drops the lock at once, and the caller gets ctx's error.
func acquireOpen(ctx context.Context, path string, how int) (*Lock, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	err = flock(f, how|unix.LOCK_NB)
	if err == nil {
		return &Lock{f: f, path: path}, nil
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
		return &Lock{f: f, path: path}, nil
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
		return &Lock{f: f, path: path}, nil
	case <-ctx.Done():
		close(abandoned)
		return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
	}
}
