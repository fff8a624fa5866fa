package build

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sys/unix"
)

// OCI and overlay forms of deletions.
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
	overlayXattrs  = "trusted.overlay."
	opaqueXattr    = "trusted.overlay.opaque"
)

// node is one entry of an upper dir, as read from disk.
type node struct {
	rel      string // slash path relative to the dir
	fi       fs.FileInfo
	whiteout bool   // overlay whiteout: a 0/0 character device
	opaque   bool   // directory with trusted.overlay.opaque=y
	link     string // symlink target
	hardlink string // earlier path of the same inode
	uid, gid int
	major    uint32
	minor    uint32
	xattrs   map[string]string
}

// headers turns a node into the tar headers of an OCI layer: a whiteout
// becomes an empty ".wh.<name>" file, an opaque directory its entry plus
// ".wh..wh..opq", and overlay's private xattrs are dropped. Times are
// kept to the second; owners by number only, so the tar is reproducible.
func headers(n node) []*tar.Header {
	mt := n.fi.ModTime().Truncate(1e9)
	if n.whiteout {
		dir, base := path.Split(n.rel)
		return []*tar.Header{{Typeflag: tar.TypeReg, Name: dir + whiteoutPrefix + base, Mode: 0o600, ModTime: mt, Format: tar.FormatPAX}}
	}
	h := &tar.Header{
		Name: n.rel, Mode: int64(unixMode(n.fi.Mode())), Uid: n.uid, Gid: n.gid, ModTime: mt, Format: tar.FormatPAX,
	}
	for k, v := range n.xattrs {
		if strings.HasPrefix(k, overlayXattrs) {
			continue
		}
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		h.PAXRecords["SCHILY.xattr."+k] = v
	}
	m := n.fi.Mode()
	switch {
	case n.hardlink != "":
		h.Typeflag, h.Linkname = tar.TypeLink, n.hardlink
	case m.IsDir():
		h.Typeflag, h.Name = tar.TypeDir, n.rel+"/"
	case m&fs.ModeSymlink != 0:
		h.Typeflag, h.Linkname = tar.TypeSymlink, n.link
	case m&fs.ModeNamedPipe != 0:
		h.Typeflag = tar.TypeFifo
	case m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0:
		h.Typeflag, h.Devmajor, h.Devminor = tar.TypeChar, int64(n.major), int64(n.minor)
	case m&fs.ModeDevice != 0:
		h.Typeflag, h.Devmajor, h.Devminor = tar.TypeBlock, int64(n.major), int64(n.minor)
	case m.IsRegular():
		h.Typeflag, h.Size = tar.TypeReg, n.fi.Size()
	default:
		return nil // sockets are not archived
	}
	out := []*tar.Header{h}
	if n.opaque && m.IsDir() {
		out = append(out, &tar.Header{Typeflag: tar.TypeReg, Name: n.rel + "/" + opaqueMarker, Mode: 0o600, ModTime: mt, Format: tar.FormatPAX})
	}
	return out
}

// unixMode turns a Go file mode into the permission and special bits of tar.
func unixMode(m fs.FileMode) uint32 {
	out := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		out |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		out |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		out |= unix.S_ISVTX
	}
	return out
}

// writeLayerTar writes dir (an overlay upper dir) as an OCI layer tar,
// entries sorted by name, and returns how many entries it wrote.
func writeLayerTar(ctx context.Context, tw *tar.Writer, dir string) (int, error) {
	links := map[[2]uint64]string{}
	count := 0
	var walk func(rel string) error
	walk = func(rel string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := os.ReadDir(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
		for _, e := range entries {
			r := path.Join(rel, e.Name())
			n, err := readNode(dir, r, links)
			if err != nil {
				return err
			}
			for _, h := range headers(n) {
				if err := tw.WriteHeader(h); err != nil {
					return fmt.Errorf("layer entry %s: %w", r, err)
				}
				count++
				if h.Typeflag == tar.TypeReg && h.Size > 0 && !n.whiteout {
					if err := copyFile(tw, filepath.Join(dir, r)); err != nil {
						return fmt.Errorf("layer entry %s: %w", r, err)
					}
				}
			}
			if n.fi.IsDir() && !n.whiteout {
				if err := walk(r); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return count, walk("")
}

func copyFile(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// readNode reads one entry of dir for the layer tar.
func readNode(dir, rel string, links map[[2]uint64]string) (node, error) {
	p := filepath.Join(dir, rel)
	fi, err := os.Lstat(p)
	if err != nil {
		return node{}, err
	}
	n := node{rel: rel, fi: fi}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok {
		n.uid, n.gid = int(st.Uid), int(st.Gid)
		n.major, n.minor = unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
	}
	m := fi.Mode()
	if m&fs.ModeCharDevice != 0 && ok && st.Rdev == 0 {
		n.whiteout = true
		return n, nil
	}
	if m&fs.ModeSymlink != 0 {
		if n.link, err = os.Readlink(p); err != nil {
			return node{}, err
		}
	}
	if ok && m.IsRegular() && st.Nlink > 1 {
		id := [2]uint64{uint64(st.Dev), st.Ino}
		if first, seen := links[id]; seen {
			n.hardlink = first
		} else {
			links[id] = rel
		}
	}
	n.xattrs, err = listXattrs(p)
	if err != nil {
		return node{}, fmt.Errorf("layer entry %s: xattrs: %w", rel, err)
	}
	if m.IsDir() && n.xattrs[opaqueXattr] == "y" {
		n.opaque = true
	}
	return n, nil
}

// listXattrs reads a file's extended attributes (not following symlinks).
func listXattrs(p string) (map[string]string, error) {
	buf := make([]byte, 4096)
	sz, err := unix.Llistxattr(p, buf)
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) || sz == 0 {
		return nil, nil
	}
	if errors.Is(err, unix.ERANGE) {
		if sz, err = unix.Llistxattr(p, nil); err == nil {
			buf = make([]byte, sz)
			sz, err = unix.Llistxattr(p, buf)
		}
	}
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, k := range strings.Split(strings.TrimRight(string(buf[:sz]), "\x00"), "\x00") {
		if k == "" {
			continue
		}
		val := make([]byte, 256)
		n, err := unix.Lgetxattr(p, k, val)
		if errors.Is(err, unix.ERANGE) {
			if n, err = unix.Lgetxattr(p, k, nil); err == nil {
				val = make([]byte, n)
				n, err = unix.Lgetxattr(p, k, val)
			}
		}
		if err != nil {
			if errors.Is(err, unix.ENODATA) {
				continue
			}
			return nil, err
		}
		out[k] = string(val[:n])
	}
	return out, nil
}

// hashWriter counts and hashes what goes through it.
type hashWriter struct {
	h hash.Hash
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n += int64(len(p))
	return len(p), nil
}

func (w *hashWriter) sum() string { return "sha256:" + hex.EncodeToString(w.h.Sum(nil)) }

// commitLayer turns upper into a layer of the build cache: a gzip tar
// blob (hashed as it is written) and the upper dir itself, moved in as the
// unpacked layer. It returns nil when upper holds no change. scratch is a
// directory on the same filesystem for temporary files.
func (b *Builder) commitLayer(ctx context.Context, upper, scratch string) (*layerRef, error) {
	f, err := os.CreateTemp(scratch, "layer-*.tar.gz")
	if err != nil {
		return nil, err
	}
	defer func() { f.Close(); os.Remove(f.Name()) }()
	comp := &hashWriter{h: sha256.New()}
	diff := &hashWriter{h: sha256.New()}
	zw, err := gzip.NewWriterLevel(io.MultiWriter(f, comp), gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(io.MultiWriter(zw, diff))
	n, err := writeLayerTar(ctx, tw, upper)
	if err != nil {
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	if n == 0 {
		return nil, nil
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	ref := &layerRef{DiffID: diff.sum(), Digest: comp.sum(), Size: comp.n}
	if b.layerComplete(ref.DiffID) {
		return ref, nil // the same layer is cached already
	}
	tmp, err := os.MkdirTemp(b.layersDir(), ".new-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := os.Rename(upper, filepath.Join(tmp, "diff")); err != nil {
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	if err := os.Rename(f.Name(), filepath.Join(tmp, "blob")); err != nil {
		return nil, fmt.Errorf("commit layer: %w", err)
	}
	dest := filepath.Dir(b.layerDir(ref.DiffID))
	for attempt := 0; ; attempt++ {
		err := os.Rename(tmp, dest)
		if err == nil {
			return ref, nil
		}
		if b.layerComplete(ref.DiffID) {
			return ref, nil // a concurrent build committed it first
		}
		if attempt > 0 {
			return nil, fmt.Errorf("commit layer %s: %w", ref.DiffID, err)
		}
		// dest is left over without its blob or its diff (removed by
		// hand, or a crash): move it aside and put the whole layer there.
		old, merr := os.MkdirTemp(b.layersDir(), ".old-")
		if merr != nil {
			return nil, merr
		}
		rerr := os.Rename(dest, filepath.Join(old, "layer"))
		if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			os.RemoveAll(old)
			return nil, fmt.Errorf("commit layer %s: replace incomplete %s: %w", ref.DiffID, dest, rerr)
		}
		os.RemoveAll(old)
	}
}

// layerComplete reports whether the cache holds diffID's blob and diff.
func (b *Builder) layerComplete(diffID string) bool {
	if _, err := os.Stat(b.blobPath(diffID)); err != nil {
		return false
	}
	_, err := os.Stat(b.layerDir(diffID))
	return err == nil
}
