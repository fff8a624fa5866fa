package archive

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// Export writes the whole tree beneath root (a container's root
// filesystem, held open) to w as a tar stream, as `docker export` does:
// names relative to the root ("bin/sh"), owners and modes kept, hard links
// as links, devices and FIFOs as headers (never opened), sockets left out.
//
// The walk never follows what the container controls: every entry is
// reached from its parent directory's descriptor by one name with
// O_NOFOLLOW, a regular file is read only if the descriptor opened is the
// regular file stat saw, and symlinks are written as symlinks. A tree the
// container changes during the walk gives a torn archive, never a host
// file. Pseudo filesystems (proc, sysfs…) are not descended into.
func Export(ctx context.Context, root *os.File, w io.Writer) error {
	dir, err := reopenDir(root)
	if err != nil {
		return err
	}
	defer dir.Close()
	x := &exporter{ctx: ctx, tw: tar.NewWriter(w), links: map[[2]uint64]string{}}
	if err := x.dir(dir, ""); err != nil {
		return err
	}
	return x.tw.Close()
}

type exporter struct {
	ctx   context.Context
	tw    *tar.Writer
	links map[[2]uint64]string // (dev, ino) → first name, for hard links
}

// reopenDir opens root (perhaps an O_PATH handle) for reading its entries.
func reopenDir(root *os.File) (*os.File, error) {
	fd, err := unix.Openat(int(root.Fd()), ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("export: open root: %w", err)
	}
	return os.NewFile(uintptr(fd), root.Name()), nil
}

// dir writes the entries of the open directory d, named rel in the archive.
func (x *exporter) dir(d *os.File, rel string) error {
	if pseudoFS(d) {
		return nil
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("export: %s: %w", "/"+rel, err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		if err := x.entry(d, name, path.Join(rel, name)); err != nil {
			return err
		}
	}
	return nil
}

func (x *exporter) entry(parent *os.File, name, rel string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(int(parent.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return nil // removed since the directory was read
		}
		return fmt.Errorf("export: /%s: %w", rel, err)
	}
	h := &tar.Header{
		Name: rel, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()).UTC(), Format: tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		fd, err := unix.Openat(int(parent.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("export: /%s: %w", rel, err)
		}
		d := os.NewFile(uintptr(fd), rel)
		defer d.Close()
		h.Typeflag, h.Name = tar.TypeDir, rel+"/"
		if err := x.tw.WriteHeader(h); err != nil {
			return err
		}
		return x.dir(d, rel)
	case unix.S_IFLNK:
		target, ok := readLink(parent, name)
		if !ok {
			return nil // replaced since it was seen: left out
		}
		h.Typeflag, h.Linkname = tar.TypeSymlink, target
		return x.tw.WriteHeader(h)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		h.Typeflag = map[uint32]byte{unix.S_IFCHR: tar.TypeChar, unix.S_IFBLK: tar.TypeBlock, unix.S_IFIFO: tar.TypeFifo}[st.Mode&unix.S_IFMT]
		h.Devmajor, h.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		return x.tw.WriteHeader(h)
	case unix.S_IFREG:
		return x.file(parent, name, h, &st)
	}
	return nil // sockets: as docker export
}

// file writes a regular file, or a hard link to one written already.
func (x *exporter) file(parent *os.File, name string, h *tar.Header, st *unix.Stat_t) error {
	key := [2]uint64{st.Dev, st.Ino}
	if st.Nlink > 1 {
		if first, ok := x.links[key]; ok {
			h.Typeflag, h.Linkname = tar.TypeLink, first
			return x.tw.WriteHeader(h)
		}
	}
	fd, err := unix.Openat(int(parent.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ENOENT || err == unix.ELOOP {
			return nil // replaced since it was seen: left out
		}
		return fmt.Errorf("export: /%s: %w", h.Name, err)
	}
	f := os.NewFile(uintptr(fd), h.Name)
	defer f.Close()
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil {
		return err
	}
	if now.Mode&unix.S_IFMT != unix.S_IFREG || now.Ino != st.Ino || now.Dev != st.Dev {
		return nil // swapped between stat and open: left out
	}
	h.Typeflag, h.Size = tar.TypeReg, now.Size
	if err := x.tw.WriteHeader(h); err != nil {
		return err
	}
	n, err := io.Copy(x.tw, io.LimitReader(ctxReader{x.ctx, f}, now.Size))
	if err != nil {
		return fmt.Errorf("export: /%s: %w", h.Name, err)
	}
	if n < now.Size { // truncated while read: pad, the header is written
		if _, err := io.CopyN(x.tw, zeros{}, now.Size-n); err != nil {
			return err
		}
	}
	if st.Nlink > 1 {
		x.links[key] = h.Name
	}
	return nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
