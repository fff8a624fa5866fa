package archive

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// The writer side: every entry is made from an open parent directory by a
// single name, never through a symlink, and an existing non-directory is
// unlinked and replaced rather than written through (what Docker's
// extraction does, minus its trust in the path).

// ErrNotDirOrFile refuses a destination that is neither a directory nor a
// regular file (a device, FIFO or socket), as Docker's cp does.
var ErrNotDirOrFile = errors.New("destination must be a directory or a regular file")

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		return fmt.Errorf("invalid entry name %q", name)
	}
	return nil
}

// makeRoom removes a non-directory at name in dir; it reports whether a
// directory is there (kept only when keepDir, else an error).
func makeRoom(dir *os.File, name string, keepDir bool) (isDir bool, err error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	var st unix.Stat_t
	err = unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		return false, nil
	case err != nil:
		return false, err
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		if !keepDir {
			return true, fmt.Errorf("cannot overwrite directory %q with a non-directory", name)
		}
		return true, nil
	}
	return false, unix.Unlinkat(int(dir.Fd()), name, 0)
}

// ensureDir opens the directory name in dir, making it (mode 0700 until
// its own mode is set) when absent; created says which.
func ensureDir(dir *os.File, name string) (d *os.File, created bool, err error) {
	isDir, err := makeRoom(dir, name, true)
	if err != nil {
		return nil, false, err
	}
	if !isDir {
		if err := unix.Mkdirat(int(dir.Fd()), name, 0o700); err != nil {
			return nil, false, err
		}
		created = true
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false, err
	}
	return os.NewFile(uintptr(fd), name), created, nil
}

// createFile makes a new regular file name in dir (mode 0600 until the
// copy is done), replacing a non-directory there.
func createFile(dir *os.File, name string) (*os.File, error) {
	if _, err := makeRoom(dir, name, false); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// makeSymlink makes name in dir a symlink to target, replacing a
// non-directory there. The target is stored as is; it is never followed.
func makeSymlink(dir *os.File, name, target string) error {
	if _, err := makeRoom(dir, name, false); err != nil {
		return err
	}
	return unix.Symlinkat(target, int(dir.Fd()), name)
}

// makeNode makes a FIFO or device node name in dir, replacing a
// non-directory there. It is never opened.
func makeNode(dir *os.File, name string, mode uint32, dev uint64) error {
	if _, err := makeRoom(dir, name, false); err != nil {
		return err
	}
	return unix.Mknodat(int(dir.Fd()), name, mode, int(dev))
}
