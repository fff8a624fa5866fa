package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// maxDepth bounds how deep a copied tree may be: a container can build a
// tree (or a bind-mount loop) deeper than any host path.
const maxDepth = 1024

// Options are cp's flags.
type Options struct {
	// FollowLink (-L) follows a trailing symlink of the source: inside the
	// container (against its root) for a container source. The copy takes
	// the link's name, as Docker's does.
	FollowLink bool
	// KeepOwner (-a) keeps the source's uid and gid; otherwise entries
	// belong to the caller (on the host) or to root (in the container).
	KeepOwner bool
}

// CopyOut copies src, a path inside the container whose root is the
// directory root, to the host path dst.
func CopyOut(ctx context.Context, root *os.File, src, dst string, o Options) error {
	ss, ds := ContainerPath(src), HostPath(dst)
	s, err := resolveInRoot(root, ss.Clean, o.FollowLink || ss.DirOnly, src)
	if err != nil {
		return err
	}
	defer s.close()
	d, err := resolveHost(ds.Clean, true, dst)
	if err != nil {
		return err
	}
	defer d.close()
	c := &copier{ctx: ctx, o: o, out: true}
	return c.top(s, ss, d, ds)
}

// CopyIn copies the host path src into the container whose root is the
// directory root, at dst.
func CopyIn(ctx context.Context, root *os.File, src, dst string, o Options) error {
	ss, ds := HostPath(src), ContainerPath(dst)
	s, err := resolveHost(ss.Clean, o.FollowLink || ss.DirOnly, src)
	if err != nil {
		return err
	}
	defer s.close()
	d, err := resolveInRoot(root, ds.Clean, true, dst)
	if err != nil {
		return err
	}
	defer d.close()
	c := &copier{ctx: ctx, o: o}
	return c.top(s, ss, d, ds)
}

// copier walks a source tree by file descriptors and writes it with the
// never-follow writer.
type copier struct {
	ctx context.Context
	o   Options
	out bool // out of a container onto the host
}

// top applies Docker's rules for where the source lands: into an existing
// directory (its contents for "/."), over an existing file, or as the
// destination's name when it does not exist.
func (c *copier) top(s *entry, ss Spec, d *entry, ds Spec) error {
	h, err := openPath(s.parent, s.name, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", s.label, err)
	}
	defer h.Close()
	st, err := fstat(h)
	if err != nil {
		return fmt.Errorf("%s: %w", s.label, err)
	}
	srcDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if ss.DirOnly && !srcDir {
		return fmt.Errorf("%s: %w", s.label, unix.ENOTDIR)
	}
	var dt unix.Stat_t
	err = unix.Fstatat(int(d.parent.Fd()), d.name, &dt, unix.AT_SYMLINK_NOFOLLOW)
	exists := err == nil
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%s: %w", d.label, err)
	}
	switch {
	case exists && dt.Mode&unix.S_IFMT == unix.S_IFDIR:
		dir, err := openPath(d.parent, d.name, unix.O_DIRECTORY)
		if err != nil {
			return fmt.Errorf("%s: %w", d.label, err)
		}
		defer dir.Close()
		if ss.Contents || ss.Base() == "." {
			return c.children(h, dir, s.label, 1)
		}
		return c.entry(h, st, dir, ss.Base(), s.label, 0)
	case exists && dt.Mode&unix.S_IFMT != unix.S_IFREG:
		return fmt.Errorf("%s: %w", d.label, ErrNotDirOrFile)
	case exists && srcDir:
		return fmt.Errorf("cannot copy directory %s onto file %s", s.label, d.label)
	case !exists && ds.DirOnly && !srcDir:
		return fmt.Errorf("%s: destination directory does not exist", d.label)
	}
	return c.entry(h, st, d.parent, d.name, s.label, 0)
}

// entry copies the source h (an O_PATH handle, stat st) to name in dir.
func (c *copier) entry(h *os.File, st *unix.Stat_t, dir *os.File, name, label string, depth int) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if depth > 0 && pseudoFS(h) {
		// /proc, /sys and the like of a running container: kept as an
		// empty directory (what Docker's copy of the rootfs shows).
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			d, _, err := ensureDir(dir, name)
			if err == nil {
				d.Close()
			}
			return wrap(label, err)
		}
		return nil
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return wrap(label, c.dir(h, st, dir, name, label, depth))
	case unix.S_IFREG:
		return wrap(label, c.file(h, st, dir, name))
	case unix.S_IFLNK:
		return wrap(label, c.symlink(h, st, dir, name))
	case unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK:
		return wrap(label, c.node(st, dir, name))
	}
	return nil // sockets are skipped, as Docker's archive skips them
}

func wrap(label string, err error) error {
	if err == nil {
		return nil
	}
	var le *labeled
	if errors.As(err, &le) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &labeled{label: label, err: err}
}

// labeled names the source entry an error is about.
type labeled struct {
	label string
	err   error
}

func (e *labeled) Error() string { return e.label + ": " + e.err.Error() }
func (e *labeled) Unwrap() error { return e.err }

func (c *copier) dir(h *os.File, st *unix.Stat_t, dir *os.File, name, label string, depth int) error {
	d, created, err := ensureDir(dir, name)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := c.children(h, d, label, depth+1); err != nil {
		return err
	}
	if !created {
		return nil // a directory that was there keeps its owner and mode
	}
	if err := c.owner(d, st); err != nil {
		return err
	}
	if err := d.Chmod(c.mode(st)); err != nil {
		return err
	}
	return times(dir, name, st)
}

// children copies the entries of the source directory h into dir.
func (c *copier) children(h, dir *os.File, label string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: deeper than %d levels", label, maxDepth)
	}
	fd, err := unix.Openat(int(h.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	src := os.NewFile(uintptr(fd), label)
	defer src.Close()
	for {
		names, err := src.Readdirnames(256)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		for _, n := range names {
			if err := c.child(src, n, dir, path.Join(label, n), depth); err != nil {
				return err
			}
		}
	}
}

func (c *copier) child(src *os.File, name string, dir *os.File, label string, depth int) error {
	h, err := openPath(src, name, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil // gone since it was listed
	}
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	defer h.Close()
	st, err := fstat(h)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	return c.entry(h, st, dir, name, label, depth)
}

// file copies a regular file. The O_PATH handle is reopened for reading
// through /proc/self/fd, so the inode read is the one that was checked to
// be a regular file: a swap for a device or FIFO cannot get it opened.
func (c *copier) file(h *os.File, st *unix.Stat_t, dir *os.File, name string) error {
	in, err := reopen(h)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := createFile(dir, name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, ctxReader{c.ctx, in}); err != nil {
		out.Close()
		return err
	}
	if err := c.owner(out, st); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(c.mode(st)); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return times(dir, name, st)
}

func (c *copier) symlink(h *os.File, st *unix.Stat_t, dir *os.File, name string) error {
	target, ok := readLink(h, "")
	if !ok {
		return unix.EINVAL
	}
	if err := makeSymlink(dir, name, target); err != nil {
		return err
	}
	if c.o.KeepOwner {
		if err := unix.Fchownat(int(dir.Fd()), name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return times(dir, name, st)
}
