package archive

import (
	"fmt"
	"os"
	"path"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// maxLinks bounds the symlinks followed for one argument, as the kernel's
// own 40.
const maxLinks = 40

// entry is one argument resolved to a name in an open parent directory
// (an O_PATH handle). The entry itself is looked up with O_NOFOLLOW from
// parent, so what the name points to is never followed afterwards.
type entry struct {
	parent *os.File
	name   string // "." for a root
	label  string // the argument as the user wrote it, for errors
}

func (e *entry) close() {
	if e.parent != nil {
		e.parent.Close()
	}
}

// resolveInRoot resolves the cleaned absolute path p beneath root, every
// symlink (absolute or relative) resolved against root; the last element
// is followed only when follow is set.
func resolveInRoot(root *os.File, p string, follow bool, label string) (*entry, error) {
	for hops := 0; ; hops++ {
		if p == "/" {
			h, err := openPath(root, ".", unix.O_DIRECTORY)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", label, err)
			}
			return &entry{parent: h, name: ".", label: label}, nil
		}
		dir, base := path.Split(p)
		parent, err := openInRoot(root, dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		target, isLink := readLink(parent, base)
		if !follow || !isLink {
			return &entry{parent: parent, name: base, label: label}, nil
		}
		parent.Close()
		if hops == maxLinks {
			return nil, fmt.Errorf("%s: %w", label, unix.ELOOP)
		}
		if !path.IsAbs(target) {
			target = path.Join(dir, target)
		}
		p = path.Clean("/" + target)
	}
}

// resolveHost resolves a host path the user gave: symlinks in it are
// followed (it is the user's own argument), the last element only when
// follow is set.
func resolveHost(p string, follow bool, label string) (*entry, error) {
	if follow {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
	}
	dir, name := filepath.Dir(p), filepath.Base(p)
	if p == "/" {
		name = "."
	}
	parent, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, unwrapPath(err))
	}
	return &entry{parent: parent, name: name, label: label}, nil
}

// openInRoot opens the directory p beneath root as an O_PATH handle,
// with the kernel resolving every symlink and ".." as if root were "/"
// (openat2 RESOLVE_IN_ROOT, what chroot would do, without the chroot).
func openInRoot(root *os.File, p string) (*os.File, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for tries := 0; ; tries++ {
		fd, err := unix.Openat2(int(root.Fd()), p, &how)
		if err == unix.EAGAIN && tries < 16 {
			continue // a rename raced the lookup; the kernel asks to retry
		}
		if err != nil {
			return nil, err
		}
		return os.NewFile(uintptr(fd), p), nil
	}
}

// reopen opens the inode behind the O_PATH handle h for reading, through
// /proc/self/fd: the file read is the one h was checked to be.
func reopen(h *os.File) (*os.File, error) {
	return os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", h.Fd()), unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
}

// openPath opens name in dir as an O_PATH handle without following a
// symlink there: nothing is opened as data, no device is touched.
func openPath(dir *os.File, name string, flags int) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC|flags, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// readLink returns the target of name in dir when it is a symlink.
func readLink(dir *os.File, name string) (string, bool) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(dir.Fd()), name, buf)
	if err != nil {
		return "", false
	}
	return string(buf[:n]), true
}

// unwrapPath drops an *os.PathError's path, which names a host-side path
// (/proc/PID/root/...) the user never wrote.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
