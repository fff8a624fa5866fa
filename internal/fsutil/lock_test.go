package fsutil

import (
	"context"
	"errors"
	"path/filepath"
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
