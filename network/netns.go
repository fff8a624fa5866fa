package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrNetnsExists is returned by CreateNetns when path already holds a
// network namespace.
var ErrNetnsExists = errors.New("network namespace already exists")

// CreateNetns makes a new network namespace, bind-mounted on path (its
// directory is created), with loopback up. The file can be given to an OCI
// runtime as linux.namespaces[net].path. The calling goroutine's thread is
// not moved: the work happens on a locked thread that is discarded if it
// cannot be switched back.
func CreateNetns(path string) error {
	if IsNetns(path) {
		return fmt.Errorf("netns %s: %w", path, ErrNetnsExists)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("netns %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("netns %s: %w", path, err)
	}
	f.Close()

	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored := false
		defer func() {
			// A thread left in the new namespace must die with this
			// goroutine rather than serve other goroutines.
			if restored {
				runtime.UnlockOSThread()
			}
		}()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		mountErr := unix.Mount(src, path, "none", unix.MS_BIND, "")
		var loErr error
		if mountErr == nil {
			loErr = loopbackUp()
		}
		if err := netns.Set(orig); err == nil {
			restored = true
		}
		switch {
		case mountErr != nil:
			errc <- fmt.Errorf("bind mount: %w", mountErr)
		default:
			errc <- loErr
		}
	}()
	if err := <-errc; err != nil {
		_ = unix.Unmount(path, unix.MNT_DETACH)
		_ = os.Remove(path)
		return fmt.Errorf("create netns %s: %w", path, err)
	}
	return nil
}

// loopbackUp sets lo up in the calling thread's network namespace.
// InNetns runs fn on a thread inside the network namespace at path, then
// moves the thread back (a thread that cannot go back dies with its
// goroutine rather than serve others from the wrong namespace). Sockets
// fn creates stay in that namespace.
func InNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		ns, err := netns.GetFromPath(path)
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		defer func() {
			if netns.Set(orig) == nil {
				runtime.UnlockOSThread()
			}
		}()
		errc <- fn()
	}()
	return <-errc
}

func loopbackUp() error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	return nil
}

// DeleteNetns unmounts and removes a namespace made by CreateNetns; a path
// that is already gone is not an error. The namespace itself disappears
// (with its veth ends) once no process is left in it.
func DeleteNetns(path string) error {
	err := unix.Unmount(path, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove netns %s: %w", path, err)
	}
	return nil
}

// IsNetns reports whether path is a mounted network namespace.
func IsNetns(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}
