package volumes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds symlink resolution, as the kernel's ELOOP does.
const maxSymlinks = 255

// resolveIn resolves p inside the tree of r as if r were "/": an absolute
// symlink restarts at r and ".." stops at r, so nothing escapes. The result
// is a clean relative path ("." for the top) that has no symlink in it as
// far as it exists; components past a missing one are taken as written.
func resolveIn(r *os.Root, p string) (string, error) {
	var done []string
	rest := strings.Split(p, "/")
	hops := 0
	missing := false
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		next := path.Join(append(done, c)...)
		if missing {
			done = append(done, c)
			continue
		}
		fi, err := r.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			missing = true
			done = append(done, c)
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		if hops++; hops > maxSymlinks {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		link, err := r.Readlink(next)
		if err != nil {
			return "", err
		}
		if path.IsAbs(link) {
			done = done[:0]
		}
		rest = append(strings.Split(link, "/"), rest...)
	}
	if len(done) == 0 {
		return ".", nil
	}
	return path.Join(done...), nil
}

// copyUp copies the directory at target inside the container's rootfs into
// dst (an empty directory), preserving modes, ownership, symlinks (never
// followed), hard links, devices, extended attributes and times, as Docker
// fills a new volume from the image. Nothing at target, or not a
// directory, copies nothing.
func copyUp(ctx context.Context, rootfs, target, dst string) error {
	rr, err := os.OpenRoot(rootfs)
	if err != nil {
		return fmt.Errorf("copy image content: %w", err)
	}
	defer rr.Close()
	rel, err := resolveIn(rr, target)
	if err != nil {
		return fmt.Errorf("copy image content of %s: %w", target, err)
	}
	fi, err := rr.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("copy image content of %s: %w", target, err)
	}
	if !fi.IsDir() {
		return nil
	}
	src, err := rr.OpenRoot(rel)
	if err != nil {
		return fmt.Errorf("copy image content of %s: %w", target, err)
	}
	defer src.Close()
	dr, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("copy image content of %s: %w", target, err)
	}
	defer dr.Close()
	c := &copier{
		src: src, dst: dr,
		srcPath: filepath.Join(rootfs, rel), dstPath: dst,
		links: map[inode]string{}, root: os.Geteuid() == 0,
	}
	if err := c.tree(ctx, "."); err != nil {
		return fmt.Errorf("copy image content of %s: %w", target, err)
	}
	if err := c.meta(".", fi); err != nil {
		return fmt.Errorf("copy image content of %s: %w", target, err)
	}
	return nil
}

type inode struct{ dev, ino uint64 }

type copier struct {
	src, dst         *os.Root
	srcPath, dstPath string
	links            map[inode]string // first copy of each multiply-linked file
	root             bool             // euid 0: ownership must be kept
}

func (c *copier) tree(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := c.src.Open(dir)
	if err != nil {
		return err
	}
	entries, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		rel := path.Join(dir, e.Name())
		fi, err := c.src.Lstat(rel)
		if err != nil {
			return err
		}
		if err := c.entry(ctx, rel, fi); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) entry(ctx context.Context, rel string, fi fs.FileInfo) error {
	st, _ := fi.Sys().(*syscall.Stat_t)
	mode := fi.Mode()
	switch {
	case mode.IsDir():
		if err := c.dst.Mkdir(rel, 0o700); err != nil {
			return err
		}
		if err := c.tree(ctx, rel); err != nil {
			return err
		}
	case mode.IsRegular():
		if st != nil && st.Nlink > 1 {
			key := inode{uint64(st.Dev), st.Ino}
			if first, ok := c.links[key]; ok {
				return c.dst.Link(first, rel)
			}
			c.links[key] = rel
		}
		if err := c.file(rel); err != nil {
			return err
		}
	case mode&fs.ModeSymlink != 0:
		link, err := c.src.Readlink(rel)
		if err != nil {
			return err
		}
		if err := c.dst.Symlink(link, rel); err != nil {
			return err
		}
	case mode&(fs.ModeDevice|fs.ModeNamedPipe) != 0 && st != nil:
		if err := unix.Mknod(filepath.Join(c.dstPath, rel), st.Mode, int(st.Rdev)); err != nil {
			return fmt.Errorf("mknod %s: %w", rel, err)
		}
	default:
		return nil // sockets: nothing to copy
	}
	return c.meta(rel, fi)
}

func (c *copier) file(rel string) error {
	in, err := c.src.Open(rel)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := c.dst.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", rel, err)
	}
	return out.Close()
}

// meta gives the copy of rel the source's owner, mode, xattrs and times,
// in that order: chown clears setuid bits, and any write changes mtime.
func (c *copier) meta(rel string, fi fs.FileInfo) error {
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st == nil {
		return nil
	}
	if err := c.dst.Lchown(rel, int(st.Uid), int(st.Gid)); err != nil && c.root {
		return err
	}
	isLink := fi.Mode()&fs.ModeSymlink != 0
	if !isLink {
		if err := c.dst.Chmod(rel, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
			return err
		}
	}
	if err := c.xattrs(rel); err != nil {
		return err
	}
	ts := []unix.Timespec{unix.NsecToTimespec(st.Atim.Nano()), unix.NsecToTimespec(st.Mtim.Nano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(c.dstPath, rel), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times of %s: %w", rel, err)
	}
	return nil
}

// xattrs copies extended attributes (file capabilities, ACLs). Filesystems
// without them, and namespaces an unprivileged user may not write, are
// skipped.
func (c *copier) xattrs(rel string) error {
	from, to := filepath.Join(c.srcPath, rel), filepath.Join(c.dstPath, rel)
	size, err := unix.Llistxattr(from, nil)
	if err != nil || size == 0 {
		return nil
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(from, buf)
	if err != nil {
		return nil
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		n, err := unix.Lgetxattr(from, name, nil)
		if err != nil {
			continue
		}
		val := make([]byte, n)
		if n, err = unix.Lgetxattr(from, name, val); err != nil {
			continue
		}
		err = unix.Lsetxattr(to, name, val[:n], 0)
		if err != nil && !errors.Is(err, unix.ENOTSUP) && (c.root || !errors.Is(err, unix.EPERM)) {
			return fmt.Errorf("set xattr %s of %s: %w", name, rel, err)
		}
	}
	return nil
}

// isEmptyDir reports whether dir has no entries (a missing dir is empty).
func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return len(names) == 0, err
}
