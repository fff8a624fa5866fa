package archive

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// Sync (for `berth watch`) makes entries of a host tree true in a
// container, written straight beneath the container's root: no tar, no
// API. The rule's target directory is resolved in the container's root
// (openat2 RESOLVE_IN_ROOT: whatever symlinks the image has there stay
// inside the root); beneath it nothing is followed: every component is
// opened with O_NOFOLLOW from its parent's handle, and a symlink, file or
// device the container put where the host has a directory is replaced by
// a directory, never written through. Files are written to a temporary
// name and renamed over the old one, so a reader in the container sees
// the old content or the new, never half of it.

// SyncEntry is one host entry and where it lands: Rel beneath the
// container directory Target.
type SyncEntry struct {
	Host   string
	Target string // absolute in the container
	Rel    string // slash-separated beneath Target, "." for Target itself
}

// SyncOptions say who owns what sync creates in the container (Docker's
// CopyUIDGID, which Compose's sync uses: the container's user).
type SyncOptions struct {
	UID, GID int
}

// SyncStats counts what a Sync did.
type SyncStats struct {
	Written, Unchanged, Removed, Dirs, Links int
}

// Sync applies entries, in order, in the container whose root is the
// directory root (an O_PATH handle on /proc/PID/root or the rootfs). An
// entry whose host path no longer exists is removed from the container
// (a directory with all it holds); one that exists is created or
// replaced as what it is on the host (directory, regular file, symlink
// with its target as is); anything else is skipped. A file whose size
// and modification time already match is left alone.
func Sync(ctx context.Context, root *os.File, entries []SyncEntry, o SyncOptions) (SyncStats, error) {
	s := &syncer{root: root, o: o, targets: map[string]*os.File{}}
	defer func() {
		for _, f := range s.targets {
			f.Close()
		}
	}()
	// an entry that fails does not stop the others: each error is
	// reported, the rest of the batch still lands
	var errs []error
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return s.stats, err
		}
		if err := s.entry(e); err != nil {
			errs = append(errs, fmt.Errorf("sync %s to %s: %w", e.Host, path.Join(e.Target, e.Rel), err))
		}
	}
	return s.stats, errors.Join(errs...)
}

type syncer struct {
	root    *os.File
	o       SyncOptions
	targets map[string]*os.File
	stats   SyncStats
}

// target opens (making it when absent) the target directory, resolved in
// the container's root.
func (s *syncer) target(t string) (*os.File, error) {
	if f, ok := s.targets[t]; ok {
		return f, nil
	}
	p := path.Clean("/" + t)
	f, err := openInRoot(s.root, p)
	if errors.Is(err, unix.ENOENT) {
		// mkdir -p beneath the root, each parent resolved in the root
		cur := "/"
		for _, c := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
			parent, err := openInRoot(s.root, cur)
			if err != nil {
				return nil, err
			}
			err = unix.Mkdirat(int(parent.Fd()), c, 0o755)
			parent.Close()
			if err != nil && !errors.Is(err, unix.EEXIST) {
				return nil, fmt.Errorf("make %s: %w", path.Join(cur, c), err)
			}
			cur = path.Join(cur, c)
		}
		f, err = openInRoot(s.root, p)
	}
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t, err)
	}
	s.targets[t] = f
	return f, nil
}

func (s *syncer) entry(e SyncEntry) error {
	tdir, err := s.target(e.Target)
	if err != nil {
		return err
	}
	var hst unix.Stat_t
	herr := unix.Lstat(e.Host, &hst)
	if herr != nil && !errors.Is(herr, unix.ENOENT) && !errors.Is(herr, unix.ENOTDIR) {
		return herr
	}
	gone := herr != nil
	rel := path.Clean(e.Rel)
	if done, err := outsideRel(rel, e.Rel, !gone && hst.Mode&unix.S_IFMT == unix.S_IFDIR); done {
		return err
	}
	comps := strings.Split(rel, "/")
	dir, err := s.parents(tdir, comps, strings.TrimSuffix(e.Host, "/"+rel), gone)
	if err != nil || dir == nil {
		return err
	}
	defer dir.Close()
	name := comps[len(comps)-1]
	if gone {
		err := removeAll(dir, name, 0)
		if err == nil {
			s.stats.Removed++
		}
		if errors.Is(err, unix.ENOENT) {
			err = nil
		}
		return err
	}
	switch hst.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		d, err := s.mkdir(dir, name, hst.Mode&0o7777)
		if err == nil {
			d.Close()
		}
		return err
	case unix.S_IFREG:
		return s.file(dir, name, e.Host, &hst)
	case unix.S_IFLNK:
		return s.symlink(dir, name, e.Host)
	}
	return nil // sockets, FIFOs, devices of the host tree are not synced
}

// outsideRel handles an entry whose cleaned path rel is not beneath the
// target: the target itself (rel "." or "/") is never removed nor
// replaced by a file, and is there already when the host has a directory
// (hostDir); a path that climbs out (raw, as given) is an error. done is
// false for a path beneath the target.
func outsideRel(rel, raw string, hostDir bool) (done bool, err error) {
	if rel != "." && rel != "/" && !strings.HasPrefix(rel, "../") && rel != ".." {
		return false, nil
	}
	if hostDir || rel == "." || rel == "/" {
		return true, nil
	}
	return true, fmt.Errorf("%q is not beneath the target", raw)
}

// parents opens the parent directories of the entry comps beneath tdir
// one name at a time, never through a symlink. For an entry the host has,
// missing ones are made with the modes of hostDir's; for one it has not
// (gone), a missing parent means nothing there to remove: dir is nil.
func (s *syncer) parents(tdir *os.File, comps []string, hostDir string, gone bool) (dir *os.File, err error) {
	dir, err = dupDir(tdir)
	if err != nil {
		return nil, err
	}
	for i, c := range comps[:len(comps)-1] {
		var next *os.File
		if gone {
			next, err = openDirNoFollow(dir, c)
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
				dir.Close()
				return nil, nil
			}
		} else {
			mode := uint32(0o755)
			var pst unix.Stat_t
			if unix.Lstat(path.Join(hostDir, strings.Join(comps[:i+1], "/")), &pst) == nil {
				mode = pst.Mode & 0o7777
			}
			next, err = s.mkdir(dir, c, mode)
		}
		dir.Close()
		if err != nil {
			return nil, err
		}
		dir = next
	}
	return dir, nil
}

// mkdir opens the directory name in dir, making it with mode when absent
// and replacing whatever non-directory is there (a symlink the container
// planted is removed, not followed).
func (s *syncer) mkdir(dir *os.File, name string, mode uint32) (*os.File, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var st unix.Stat_t
	err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR:
		f, err := openDirNoFollow(dir, name)
		if err == nil && st.Mode&0o7777 != mode {
			if err = chmodHandle(f, mode); err != nil {
				f.Close()
			}
		}
		return f, err
	case err == nil:
		if err := unix.Unlinkat(int(dir.Fd()), name, 0); err != nil {
			return nil, err
		}
	case !errors.Is(err, unix.ENOENT):
		return nil, err
	}
	if err := unix.Mkdirat(int(dir.Fd()), name, 0o700); err != nil {
		return nil, err
	}
	f, err := openDirNoFollow(dir, name)
	if err != nil {
		return nil, err
	}
	if s.o.UID >= 0 || s.o.GID >= 0 {
		if err := unix.Fchownat(int(f.Fd()), "", s.o.UID, s.o.GID, unix.AT_EMPTY_PATH); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := chmodHandle(f, mode); err != nil {
		f.Close()
		return nil, err
	}
	s.stats.Dirs++
	return f, nil
}

// file writes the host file to name in dir: a temporary file beside it,
// renamed over it.
func (s *syncer) file(dir *os.File, name, host string, hst *unix.Stat_t) error {
	if err := checkName(name); err != nil {
		return err
	}
	var cst unix.Stat_t
	if unix.Fstatat(int(dir.Fd()), name, &cst, unix.AT_SYMLINK_NOFOLLOW) == nil &&
		cst.Mode&unix.S_IFMT == unix.S_IFREG && cst.Size == hst.Size && cst.Mtim == hst.Mtim && cst.Mode&0o7777 == hst.Mode&0o7777 {
		s.stats.Unchanged++
		return nil
	}
	in, err := os.OpenFile(host, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	ist, err := fstat(in)
	if err != nil {
		return err
	}
	if ist.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil // replaced by something else since: its own event follows
	}
	tmp := tempName()
	fd, err := unix.Openat(int(dir.Fd()), tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(fd), tmp)
	err = func() error {
		if _, err := io.Copy(out, in); err != nil {
			return err
		}
		if err := s.chown(fd); err != nil {
			return err
		}
		if err := unix.Fchmod(fd, ist.Mode&0o7777); err != nil {
			return err
		}
		return unix.UtimesNanoAt(int(dir.Fd()), tmp, []unix.Timespec{ist.Atim, ist.Mtim}, unix.AT_SYMLINK_NOFOLLOW)
	}()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.replace(dir, tmp, name)
	}
	if err != nil {
		unix.Unlinkat(int(dir.Fd()), tmp, 0)
		return err
	}
	s.stats.Written++
	return nil
}

// symlink makes name in dir a symlink with the host link's target, as
// is: it is never followed, here nor on the host.
func (s *syncer) symlink(dir *os.File, name, host string) error {
	if err := checkName(name); err != nil {
		return err
	}
	target, err := os.Readlink(host)
	if err != nil {
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil // no longer a symlink: its own event follows
		}
		return err
	}
	if cur, ok := readLink(dir, name); ok && cur == target {
		s.stats.Unchanged++
		return nil
	}
	tmp := tempName()
	if err := unix.Symlinkat(target, int(dir.Fd()), tmp); err != nil {
		return err
	}
	if s.o.UID >= 0 || s.o.GID >= 0 {
		unix.Fchownat(int(dir.Fd()), tmp, s.o.UID, s.o.GID, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err := s.replace(dir, tmp, name); err != nil {
		unix.Unlinkat(int(dir.Fd()), tmp, 0)
		return err
	}
	s.stats.Links++
	return nil
}

// replace renames tmp over name in dir; a directory in the way is
// removed first (the host has a non-directory there now).
func (s *syncer) replace(dir *os.File, tmp, name string) error {
	err := unix.Renameat(int(dir.Fd()), tmp, int(dir.Fd()), name)
	if errors.Is(err, unix.EISDIR) || errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) {
		if err := removeAll(dir, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
		err = unix.Renameat(int(dir.Fd()), tmp, int(dir.Fd()), name)
	}
	return err
}

func (s *syncer) chown(fd int) error {
	if s.o.UID < 0 && s.o.GID < 0 {
		return nil
	}
	return unix.Fchown(fd, s.o.UID, s.o.GID)
}

// removeAll removes name in dir and, for a directory, all it holds, by
// handles: a symlink is removed, never followed.
func removeAll(dir *os.File, name string, depth int) error {
	if err := checkName(name); err != nil {
		return err
	}
	if depth > maxDepth {
		return fmt.Errorf("deeper than %d levels", maxDepth)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.Unlinkat(int(dir.Fd()), name, 0)
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	sub := os.NewFile(uintptr(fd), name)
	names, err := sub.Readdirnames(-1)
	if err != nil {
		sub.Close()
		return err
	}
	for _, n := range names {
		if err := removeAll(sub, n, depth+1); err != nil && !errors.Is(err, unix.ENOENT) {
			sub.Close()
			return err
		}
	}
	sub.Close()
	return unix.Unlinkat(int(dir.Fd()), name, unix.AT_REMOVEDIR)
}

// openDirNoFollow opens the directory name in dir; a symlink there fails
// (ELOOP or ENOTDIR), it is never followed.
func openDirNoFollow(dir *os.File, name string) (*os.File, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// chmodHandle sets the mode of the inode behind the O_PATH handle h,
// through /proc/self/fd: the inode checked, never a path that could have
// been swapped for a symlink since.
func chmodHandle(h *os.File, mode uint32) error {
	return unix.Chmod(fmt.Sprintf("/proc/self/fd/%d", h.Fd()), mode)
}

func dupDir(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

func tempName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return ".berth-sync-" + hex.EncodeToString(b[:])
}
