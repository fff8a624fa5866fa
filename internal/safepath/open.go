package safepath

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

var (
	// ErrSymlink: a component of the path is a symlink. It is an error,
	// never followed: what a container planted must not lead out.
	ErrSymlink = errors.New("is a symlink (not followed)")
	// ErrNotBeneath: the path is absolute or has a ".." component.
	ErrNotBeneath = errors.New("must be a relative path beneath its root (no .., not absolute)")
	// ErrKind: the path is neither a directory nor a regular file.
	ErrKind = errors.New("is neither a directory nor a regular file")
)

// resolveFlags keep every open to the one name given, beneath its dir.
const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// Open opens rel beneath root with O_PATH, one component at a time, never
// following a symlink (a symlink anywhere, the last component included, is
// ErrSymlink) and never leaving root. With create, missing directories are
// made (mode 0755). root itself is trusted: it is a path berth made. The
// result is a directory or a regular file; its Name is root joined with
// rel, for messages only.
func Open(root, rel string, create bool) (*os.File, error) {
	comps, err := components(rel)
	if err != nil {
		return nil, err
	}
	cur, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	for i, c := range comps {
		fail := func(err error) error {
			if i == len(comps)-1 {
				return err
			}
			return fmt.Errorf("%q %w", strings.Join(comps[:i+1], "/"), err)
		}
		next, err := openComponent(cur, c, create)
		unix.Close(cur)
		if err != nil {
			return nil, fail(err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(next, &st); err != nil {
			unix.Close(next)
			return nil, fail(err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
		case unix.S_IFLNK:
			err = ErrSymlink
		case unix.S_IFREG:
			if i < len(comps)-1 {
				err = errors.New("is not a directory")
			}
		default:
			err = ErrKind
		}
		if err != nil {
			unix.Close(next)
			return nil, fail(err)
		}
		cur = next
	}
	return os.NewFile(uintptr(cur), filepath.Join(root, rel)), nil
}

// components splits a relative path, refusing absolute ones and "..".
func components(rel string) ([]string, error) {
	if strings.HasPrefix(rel, "/") {
		return nil, ErrNotBeneath
	}
	var out []string
	for _, c := range strings.Split(rel, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return nil, ErrNotBeneath
		}
		out = append(out, c)
	}
	return out, nil
}

// openComponent opens one name in dir with O_PATH|O_NOFOLLOW (a symlink
// opens as itself, for the caller to refuse), making it a directory when
// missing and create is set.
func openComponent(dir int, name string, create bool) (int, error) {
	fd, err := openat2(dir, name, unix.O_PATH|unix.O_NOFOLLOW)
	if !errors.Is(err, unix.ENOENT) || !create {
		return fd, err
	}
	if err := unix.Mkdirat(dir, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, err
	}
	// Set the mode on the directory just opened, not by name: the umask
	// must not decide it, and the name may have been swapped meanwhile.
	fd, err = openat2(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err != nil {
		return -1, err
	}
	if err := unix.Fchmod(fd, 0o755); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// openat2 opens name in dir with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS,
// retrying on EAGAIN (a concurrent rename) and EINTR. Kernels before 5.6
// lack openat2: there, name being a single component opened with
// O_NOFOLLOW gives the same guarantee.
func openat2(dir int, name string, flags int) (int, error) {
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolveFlags}
	fd, err := -1, error(unix.EAGAIN)
	for i := 0; i < 64 && (errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR)); i++ {
		fd, err = unix.Openat2(dir, name, &how)
	}
	if errors.Is(err, unix.ENOSYS) {
		fd, err = unix.Openat(dir, name, flags|unix.O_CLOEXEC, 0)
	}
	if errors.Is(err, unix.ELOOP) {
		return -1, ErrSymlink
	}
	return fd, err
}

// WriteFile writes data to rel beneath root, whose parent must exist,
// following no symlink (one at rel is replaced, never written through)
// and setting mode and owner (-1 keeps one) on the file opened, not by
// name. Files berth writes for a container (configs, secrets) go through
// it, so nothing in the dir can redirect them.
func WriteFile(root, rel string, data []byte, mode os.FileMode, uid, gid int) error {
	dir, name := filepath.Split(rel)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("%q: %w", rel, ErrNotBeneath)
	}
	parent, err := Open(root, dir, false)
	if err != nil {
		return err
	}
	defer parent.Close()
	pfd := int(parent.Fd())
	// Write a new file and rename it over the name: a symlink or special
	// file there is replaced, and a reader never sees half the content.
	tmp := fmt.Sprintf(".%s.%x~", name, rand.Uint64())
	fd, err := unix.Openat(pfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return &os.PathError{Op: "create", Path: filepath.Join(root, dir, tmp), Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(root, dir, tmp))
	err = writeAll(f, data, mode, uid, gid)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(pfd, tmp, pfd, name)
	}
	if err != nil {
		_ = unix.Unlinkat(pfd, tmp, 0)
		return fmt.Errorf("write %s: %w", filepath.Join(root, rel), err)
	}
	return nil
}

func writeAll(f *os.File, data []byte, mode os.FileMode, uid, gid int) error {
	if _, err := f.Write(data); err != nil {
		return err
	}
	if uid >= 0 || gid >= 0 {
		if err := f.Chown(uid, gid); err != nil {
			return err
		}
	}
	// After chown, which clears setuid/setgid bits.
	if err := f.Chmod(mode); err != nil {
		return err
	}
	return f.Sync()
}
