package fsutil

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLockExcludesGoroutines: an exclusive lock held by one goroutine
// keeps another of the same process out until it is released, and the
// waiter then gets it without polling.
func TestLockExcludesGoroutines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks", "x.lock")
	l, err := Acquire(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *Lock)
	go func() {
		l2, err := Acquire(context.Background(), path)
		if err != nil {
			t.Error(err)
		}
		got <- l2
	}()
	select {
	case <-got:
		t.Fatal("second Acquire returned while the lock was held")
	case <-time.After(50 * time.Millisecond):
	}
	if _, ok, err := TryAcquire(path, false); ok || err != nil {
		t.Fatalf("TryAcquire shared while held exclusive: ok=%v err=%v", ok, err)
	}
	l.Release()
	select {
	case l2 := <-got:
		l2.Release()
	case <-time.After(5 * time.Second):
		t.Fatal("waiter never got the released lock")
	}
}

// TestLockSharedAndCancel: shared holders coexist; an exclusive waiter
// gives up with ctx's error, leaves the lock free for the next taker once
// the shared holders are gone.
func TestLockSharedAndCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.lock")
	a, err := AcquireShared(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	b, ok, err := TryAcquire(path, false)
	if !ok || err != nil {
		t.Fatalf("second shared holder refused: ok=%v err=%v", ok, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, path); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("exclusive Acquire under shared holders: %v, want deadline exceeded", err)
	}
	a.Release()
	b.Release()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	l, err := Acquire(ctx2, path)
	if err != nil {
		t.Fatalf("lock not free after the abandoned wait: %v", err)
	}
	l.Release()
}

// TestLockRemoveExcludes: holders that remove the lock's file as they
// release it (Lock.Remove) still exclude each other: a waiter that got
// the flock of a removed file opens the path anew instead of holding it
// beside one who made the file again. Several goroutines take the lock
// in turn, half of them removing its file; never are two inside at once.
func TestLockRemoveExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks", "p.lock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				var l *Lock
				var err error
				if g%2 == 0 {
					l, err = Acquire(ctx, path) // the wait in a goroutine
				} else {
					l, err = Acquire(context.Background(), path)
				}
				if err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				time.Sleep(100 * time.Microsecond)
				inside.Add(-1)
				if (g+i)%2 == 0 {
					err = l.Remove()
				} else {
					err = l.Release()
				}
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := overlaps.Load(); n > 0 {
		t.Errorf("%d times two goroutines held the lock at once", n)
	}
}

// TestLockRemoveDeletesFile: Remove deletes the file, and the next
// Acquire makes it again.
func TestLockRemoveDeletesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.lock")
	l, err := Acquire(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("lock file after Remove: %v", err)
	}
	l, ok, err := TryAcquire(path, true)
	if !ok || err != nil {
		t.Fatalf("TryAcquire after Remove: ok=%v err=%v", ok, err)
	}
	l.Release()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("lock file after a new Acquire: %v", err)
	}
}
