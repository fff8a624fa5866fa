package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ErrUnsafeEntry is wrapped when a layer entry would write outside the
// layer root (a ../ path, a write through a symlink pointing out, a
// hardlink to a file outside the layer).
var ErrUnsafeEntry = errors.New("unsafe layer entry")

// Overlayfs forms of whiteouts.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
)

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// Unpack extracts the uncompressed layer tar r into dir (an existing
// directory) in overlayfs form: whiteouts become 0/0 character devices,
// opaque markers become the trusted.overlay.opaque xattr. Every write goes
// through an os.Root on dir, so no entry can reach outside it; an entry
// that tries fails the whole unpack with an error naming it. It returns
// the total size of the regular files written. The caller removes dir on
// error.
func Unpack(ctx context.Context, r io.Reader, dir string) (int64, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	u := &unpacker{root: root, rootless: os.Geteuid() != 0}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	u.buf = *bp
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("read layer tar: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return 0, fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
	// Directory times last: creating entries inside a directory changes its
	// mtime. Deepest first, though order does not matter for correctness.
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		if err := root.Chtimes(d.name, d.atime, d.mtime); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("layer entry %q: times: %w", d.name, err)
		}
	}
	return u.size, nil
}

type unpacker struct {
	root     *os.Root
	rootless bool // not root: ownership that cannot be set is skipped
	buf      []byte
	size     int64
	dirs     []dirTimes
}

type dirTimes struct {
	name         string
	atime, mtime time.Time
}

// cleanPath makes a tar path relative to the layer root; a path that
// climbs out of it is refused.
func cleanPath(name string) (string, error) {
	p := path.Clean(strings.TrimLeft(name, "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("%w: path escapes the layer root", ErrUnsafeEntry)
	}
	return p, nil
}

// entry writes one tar entry beneath the layer root: its parents first,
// then the entry by kind. Every path is cleaned and written through the
// os.Root, so no entry reaches outside the root.
func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	name, err := cleanPath(hdr.Name)
	if err != nil {
		return err
	}
	dir, base := path.Split(name)
	dir = path.Clean(dir)
	if name != "." && dir != "." {
		if err := u.root.MkdirAll(dir, 0o755); err != nil {
			return unsafeOr(err)
		}
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(dir, base)
	}

	mode := tarMode(hdr)
	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.directory(name, hdr, mode)
	case tar.TypeReg: // the reader turns the old TypeRegA into TypeReg
		if err := u.removeExisting(name, false); err != nil {
			return err
		}
		return u.regular(name, hdr, mode, r)
	case tar.TypeSymlink:
		return u.symlink(name, hdr)
	case tar.TypeLink:
		return u.hardlink(name, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return u.device(name, hdr)
	case tar.TypeXGlobalHeader:
		return nil
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
}

// whiteout applies the whiteout file base in dir: an opaque marker
// becomes the opaque xattr of dir, aufs bookkeeping (.wh..wh.*, hardlink
// dirs) is meaningless here and skipped, and a whiteout of a name becomes
// a 0/0 character device in its place.
func (u *unpacker) whiteout(dir, base string) error {
	switch {
	case base == whiteoutOpaque:
		return u.setXattr(dir, opaqueXattr, []byte("y"))
	case strings.HasPrefix(base, whiteoutMeta):
		return nil
	}
	target := path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))
	if err := u.removeExisting(target, false); err != nil {
		return err
	}
	return u.atParent(target, func(fd int, b string) error {
		if err := unix.Mknodat(fd, b, unix.S_IFCHR, 0); err != nil {
			return fmt.Errorf("create whiteout %s: %w", target, err)
		}
		return nil
	})
}

// directory makes a directory entry (keeping a directory there already)
// with its owner, mode and xattrs; its times are set once the layer is
// written.
func (u *unpacker) directory(name string, hdr *tar.Header, mode os.FileMode) error {
	if err := u.removeExisting(name, true); err != nil {
		return err
	}
	if name != "." {
		if err := u.root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return unsafeOr(err)
		}
	}
	if err := u.root.Lchown(name, hdr.Uid, hdr.Gid); err != nil && !u.chownOK(err) {
		return err
	}
	if err := u.root.Chmod(name, mode); err != nil {
		return err
	}
	if err := u.xattrs(name, hdr); err != nil {
		return err
	}
	u.dirs = append(u.dirs, dirTimes{name, accessTime(hdr), hdr.ModTime})
	return nil
}

// symlink makes a symlink entry with its owner and times; its target is
// stored as it is and never followed here.
func (u *unpacker) symlink(name string, hdr *tar.Header) error {
	if err := u.removeExisting(name, false); err != nil {
		return err
	}
	if err := u.root.Symlink(hdr.Linkname, name); err != nil {
		return unsafeOr(err)
	}
	if err := u.root.Lchown(name, hdr.Uid, hdr.Gid); err != nil && !u.chownOK(err) {
		return err
	}
	return u.atParent(name, func(fd int, b string) error {
		return unix.UtimesNanoAt(fd, b, timespecs(hdr), unix.AT_SYMLINK_NOFOLLOW)
	})
}

// hardlink links name to a file already written in this layer; a target
// outside the layer root, or not in it, is refused.
func (u *unpacker) hardlink(name string, hdr *tar.Header) error {
	target, err := cleanPath(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("%w: hardlink target %q escapes the layer root", ErrUnsafeEntry, hdr.Linkname)
	}
	if _, err := u.root.Lstat(target); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: hardlink target %q is not in the layer", ErrUnsafeEntry, hdr.Linkname)
		}
		return fmt.Errorf("%w: hardlink target %q: %v", ErrUnsafeEntry, hdr.Linkname, err)
	}
	if err := u.removeExisting(name, false); err != nil {
		return err
	}
	if err := u.root.Link(target, name); err != nil {
		return unsafeOr(err)
	}
	return nil
}

// device makes a character or block device or a fifo with its owner,
// mode and times.
func (u *unpacker) device(name string, hdr *tar.Header) error {
	if err := u.removeExisting(name, false); err != nil {
		return err
	}
	typ := nodeType(hdr.Typeflag)
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	return u.atParent(name, func(fd int, b string) error {
		if err := unix.Mknodat(fd, b, typ|uint32(hdr.Mode&0o7777), dev); err != nil {
			return fmt.Errorf("mknod: %w", err)
		}
		if err := unix.Fchownat(fd, b, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil && !u.chownOK(err) {
			return fmt.Errorf("chown: %w", err)
		}
		if err := unix.Fchmodat(fd, b, uint32(hdr.Mode&0o7777), 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
		return unix.UtimesNanoAt(fd, b, timespecs(hdr), unix.AT_SYMLINK_NOFOLLOW)
	})
}

// nodeType is the mknod file type of a device or fifo tar entry.
func nodeType(typeflag byte) uint32 {
	switch typeflag {
	case tar.TypeChar:
		return unix.S_IFCHR
	case tar.TypeBlock:
		return unix.S_IFBLK
	}
	return unix.S_IFIFO
}

func (u *unpacker) regular(name string, hdr *tar.Header, mode os.FileMode, r io.Reader) error {
	f, err := u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return unsafeOr(err)
	}
	n, err := io.CopyBuffer(writerOnly{f}, r, u.buf)
	u.size += n
	if err != nil {
		f.Close()
		return fmt.Errorf("write: %w", err)
	}
	// chown before chmod: chown clears setuid/setgid bits.
	if err := f.Chown(hdr.Uid, hdr.Gid); err != nil && !u.chownOK(err) {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	fd := int(f.Fd())
	for k, v := range xattrsOf(hdr) {
		if err := unix.Fsetxattr(fd, k, []byte(v), 0); err != nil && !u.xattrOK(k, err) {
			f.Close()
			return fmt.Errorf("xattr %s: %w", k, err)
		}
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), timespecs(hdr), 0); err != nil {
		f.Close()
		return fmt.Errorf("times: %w", err)
	}
	return f.Close()
}

// removeExisting clears name for a new entry; an existing directory is
// kept when the new entry is a directory too (its metadata is updated).
func (u *unpacker) removeExisting(name string, keepDir bool) error {
	if name == "." {
		return nil
	}
	fi, err := u.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return unsafeOr(err)
	}
	if keepDir && fi.IsDir() {
		return nil
	}
	return unsafeOr(u.root.RemoveAll(name))
}

// atParent runs fn with an fd of name's parent directory (opened inside
// the root) and name's last element, for the calls os.Root lacks.
func (u *unpacker) atParent(name string, fn func(fd int, base string) error) error {
	d, err := u.root.Open(path.Dir(name))
	if err != nil {
		return unsafeOr(err)
	}
	defer d.Close()
	return fn(int(d.Fd()), path.Base(name))
}

func (u *unpacker) xattrs(name string, hdr *tar.Header) error {
	for k, v := range xattrsOf(hdr) {
		if err := u.setXattr(name, k, []byte(v)); err != nil {
			return err
		}
	}
	return nil
}

// setXattr sets an xattr on a file or directory name inside the root.
func (u *unpacker) setXattr(name, key string, value []byte) error {
	f, err := u.root.Open(name)
	if err != nil {
		return unsafeOr(err)
	}
	defer f.Close()
	if err := unix.Fsetxattr(int(f.Fd()), key, value, 0); err != nil && !u.xattrOK(key, err) {
		return fmt.Errorf("xattr %s on %s: %w", key, name, err)
	}
	return nil
}

// chownOK tolerates failing to chown when not root (rootless unpacking
// keeps the caller's ownership).
func (u *unpacker) chownOK(err error) bool {
	return u.rootless && (errors.Is(err, unix.EPERM) || errors.Is(err, unix.EINVAL))
}

// xattrOK tolerates a filesystem without xattrs, and, when not root,
// namespaces that need privilege (security.*, trusted.*) — except the
// overlay opaque marker, without which the layer would be wrong.
func (u *unpacker) xattrOK(key string, err error) bool {
	if key == opaqueXattr {
		return false
	}
	return errors.Is(err, unix.ENOTSUP) || (u.rootless && errors.Is(err, unix.EPERM))
}

func xattrsOf(hdr *tar.Header) map[string]string {
	var out map[string]string
	for k, v := range hdr.PAXRecords {
		if key, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if out == nil {
				out = map[string]string{}
			}
			out[key] = v
		}
	}
	return out
}

// tarMode maps tar's mode bits (setuid 04000, setgid 02000, sticky 01000)
// to os.FileMode, which keeps them elsewhere.
func tarMode(hdr *tar.Header) os.FileMode {
	m := os.FileMode(hdr.Mode & 0o777)
	if hdr.Mode&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if hdr.Mode&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if hdr.Mode&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

func accessTime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}
	return hdr.AccessTime
}

func timespecs(hdr *tar.Header) []unix.Timespec {
	a, m := accessTime(hdr), hdr.ModTime
	return []unix.Timespec{unix.NsecToTimespec(a.UnixNano()), unix.NsecToTimespec(m.UnixNano())}
}

// unsafeOr marks os.Root's refusals (a path or symlink leading out of the
// root) as ErrUnsafeEntry.
func unsafeOr(err error) error {
	if err == nil {
		return nil
	}
	if strings.Contains(err.Error(), "path escapes from parent") {
		return fmt.Errorf("%w: %v", ErrUnsafeEntry, err)
	}
	return err
}

// writerOnly hides *os.File's ReadFrom so io.CopyBuffer uses our large
// buffer instead of a 32 KiB one.
type writerOnly struct{ io.Writer }
