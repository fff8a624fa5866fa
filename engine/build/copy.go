package build

import (
	"bufio"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/ociruntime"
)

// copySpec is a COPY or ADD, expanded.
type copySpec struct {
	add       bool
	from      string
	chown     string
	chmod     string
	srcs      []string
	dest      string
	heredocs  int
	contents  []instructions.SourceContent // the heredocs
	excludes  []string
	parents   bool
	noUnpack  bool
	checksum  string
	stageFrom int // index of the stage holding the COPY
}

func copySpecOf(c *instructions.CopyCommand) copySpec {
	return copySpec{from: c.From, chown: c.Chown, chmod: c.Chmod, srcs: c.SourcePaths, dest: c.DestPath,
		heredocs: len(c.SourceContents), contents: c.SourceContents, excludes: c.ExcludePatterns, parents: c.Parents}
}

func addSpecOf(c *instructions.AddCommand) copySpec {
	return copySpec{add: true, chown: c.Chown, chmod: c.Chmod, srcs: c.SourcePaths, dest: c.DestPath,
		heredocs: len(c.SourceContents), contents: c.SourceContents, excludes: c.ExcludePatterns, noUnpack: c.Unpack != nil && !*c.Unpack, checksum: c.Checksum}
}

// createdBy is the step's history line.
func (c *copySpec) createdBy() string {
	parts := []string{"COPY"}
	if c.add {
		parts[0] = "ADD"
	}
	if c.from != "" {
		parts = append(parts, "--from="+c.from)
	}
	if c.chown != "" {
		parts = append(parts, "--chown="+c.chown)
	}
	if c.chmod != "" {
		parts = append(parts, "--chmod="+c.chmod)
	}
	for _, e := range c.excludes {
		parts = append(parts, "--exclude="+e)
	}
	parts = append(parts, c.srcs...)
	for _, h := range c.contents {
		parts = append(parts, "<<"+h.Path)
	}
	return strings.Join(append(parts, c.dest), " ")
}

// destPath makes a COPY destination absolute (relative ones are under the
// working dir) and keeps Docker's mark of a directory: a trailing "/", or
// "." and "/." ("COPY a /app/." copies to /app/a).
func destPath(dest, workdir string) string {
	slash := strings.HasSuffix(dest, "/") || dest == "." || strings.HasSuffix(dest, "/.")
	if !path.IsAbs(dest) {
		if workdir == "" {
			workdir = "/"
		}
		dest = path.Join(workdir, dest)
	}
	dest = path.Clean(dest)
	if slash && dest != "/" {
		dest += "/"
	}
	return dest
}

func isRemote(src string) bool {
	for _, p := range []string{"http://", "https://", "git://", "git@", "ssh://"} {
		if strings.HasPrefix(src, p) {
			return true
		}
	}
	return false
}

// copyStep runs a COPY or ADD: sources from the context, another stage or
// an image; the cache key holds the content hash of what is copied (for a
// stage or image source, its key or ID, which fix that content).
func (r *run) copyStep(ctx context.Context, st *stageState, c copySpec, fail func(error) error) error {
	if err := checkCopySpec(&c); err != nil {
		return fail(err)
	}
	dest := destPath(c.dest, st.cfg.Config.WorkingDir)
	src := &copySource{}
	defer src.close()
	var err error
	switch {
	case c.heredocs > 0:
		err = r.heredocSource(src, &c)
	case c.from == "":
		err = src.open("context ", r.ctx.sources, &c)
	default:
		err = r.fromSource(ctx, src, &c)
	}
	if err != nil {
		return fail(err)
	}
	createdBy := c.createdBy()
	return r.fsStep(ctx, st, createdBy, createdBy, []string{createdBy, src.key}, fail, func(ctx context.Context, w *workDir, _ *stepEvent) error {
		return r.copyFiles(ctx, w, src, &c, dest)
	})
}

// checkCopySpec refuses what berth's COPY and ADD do not do: heredocs
// mixed with files, --parents, --checksum and remote sources.
func checkCopySpec(c *copySpec) error {
	name := "COPY"
	if c.add {
		name = "ADD"
	}
	switch {
	case c.heredocs > 0 && (len(c.srcs) > 0 || c.from != ""):
		return fmt.Errorf("%w: %s of files and heredocs at once", ErrUnsupported, name)
	case c.parents:
		return fmt.Errorf("%w: %s --parents", ErrUnsupported, name)
	case c.checksum != "":
		return fmt.Errorf("%w: ADD --checksum (remote sources)", ErrUnsupported)
	}
	for _, s := range c.srcs {
		if c.add && isRemote(s) {
			return fmt.Errorf("ADD %s: %w (berth builds offline): download the file into the build context and COPY it", s, ErrRemoteSource)
		}
	}
	return nil
}

// copySource is where a COPY's files come from: a directory (root, with
// the sources collected already), or the layers of a stage or an image
// (lowers), mounted when the step runs.
type copySource struct {
	key     string // its part of the step's cache key
	root    *os.Root
	srcs    []source
	lowers  []string
	where   string // " in stage NAME", " in image REF", for errors
	closers []func()
}

// close undoes what the source holds open, last first.
func (s *copySource) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// open collects c's sources in a directory with sources (a build
// context's method); the key is keyPrefix and their content hash.
func (s *copySource) open(keyPrefix string, sources func(srcs, excludes []string) (*os.Root, []source, string, error), c *copySpec) error {
	root, got, h, err := sources(c.srcs, c.excludes)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, func() { root.Close() })
	s.root, s.srcs, s.key = root, got, keyPrefix+h
	return nil
}

// heredocSource writes a COPY's heredocs into a temporary directory, each
// named by the base of its path, and takes them from there.
func (r *run) heredocSource(s *copySource, c *copySpec) error {
	dir, err := os.MkdirTemp(r.b.tmpDir(), "heredoc-")
	if err != nil {
		return err
	}
	s.closers = append(s.closers, func() { os.RemoveAll(dir) })
	var names []string
	for _, h := range c.contents {
		name := path.Base(path.Clean("/" + h.Path))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(h.Data), 0o644); err != nil {
			return err
		}
		names = append(names, name)
	}
	root, got, h, err := sourcesIn(dir, names, nil, nil, " (heredoc)")
	if err != nil {
		return err
	}
	s.closers = append(s.closers, func() { root.Close() })
	s.root, s.srcs, s.key = root, got, "heredoc "+h
	return nil
}

// fromSource resolves COPY --from: an earlier stage, else an additional
// context (a directory or an image), else an image.
func (r *run) fromSource(ctx context.Context, s *copySource, c *copySpec) error {
	from, err := r.args.expandGlobal(c.from)
	if err != nil {
		return err
	}
	if j, ok := r.df.stageIndex(from, c.stageFrom); ok {
		src := r.stages[j]
		if src == nil {
			return fmt.Errorf("--from=%s: %w: stage not built", from, ErrUnknownStage)
		}
		s.key, s.lowers, s.where = "stage "+src.key, src.lowers, " in stage "+from
		return nil
	}
	if nc, ok := r.namedContext(from); ok {
		if nc.dir != "" {
			return s.open("context "+from+" ", nc.sources, c)
		}
		img, err := r.contextImage(ctx, nc)
		if err != nil {
			return err
		}
		s.key, s.lowers, s.where = "image "+img.ID(), img.LayerDirs(), " in image "+nc.ref
		return nil
	}
	img, err := r.baseImage(ctx, from)
	if err != nil {
		return fmt.Errorf("--from=%s: %w: no stage of that name before this one (stages: %s), no additional context, and no image: %v", from, ErrUnknownStage, r.df.stageNames(), err)
	}
	s.key, s.lowers, s.where = "image "+img.ID(), img.LayerDirs(), " in image "+from
	return nil
}

// copyFiles copies the sources into the step's rootfs at dest; sources in
// layers are collected from their mount first.
func (r *run) copyFiles(ctx context.Context, w *workDir, s *copySource, c *copySpec, dest string) error {
	root := s.root
	if root == nil {
		m, err := r.b.mount(s.lowers)
		if err != nil {
			return err
		}
		defer m.cleanup()
		if root, err = os.OpenRoot(m.layout.Merged); err != nil {
			return err
		}
		defer root.Close()
		ex, err := excludeMatcher(c.excludes)
		if err != nil {
			return err
		}
		if s.srcs, err = collect(root, c.srcs, nil, ex, s.where); err != nil {
			return err
		}
	}
	return copyInto(ctx, w.layout.Merged, root, s.srcs, dest, c)
}

// copier writes sources into a rootfs with Docker's COPY semantics.
type copier struct {
	dst, src *os.Root
	uid, gid int
	chmod    *fs.FileMode
	buf      []byte
	dirs     []srcEntry // copied directories, for their times at the end
	dirDest  []string
	parents  map[string]string // directory → its path with symlinks resolved
}

// resolveParent resolves the directory part of target (see resolveIn),
// keeping its last component as it is.
func (cp *copier) resolveParent(target string) (string, error) {
	dir, base := path.Dir(target), path.Base(target)
	if dir == "." || dir == "" {
		return target, nil
	}
	r, ok := cp.parents[dir]
	if !ok {
		var err error
		if r, err = resolveIn(cp.dst, dir, true); err != nil {
			return "", err
		}
		cp.parents[dir] = r
	}
	return path.Join(r, base), nil
}

// copyInto copies srcs (from src) to dest in the rootfs at rootDir.
func copyInto(ctx context.Context, rootDir string, src *os.Root, srcs []source, dest string, c *copySpec) error {
	dst, err := os.OpenRoot(rootDir)
	if err != nil {
		return err
	}
	defer dst.Close()
	cp := &copier{dst: dst, src: src, buf: make([]byte, 256*1024), parents: map[string]string{}}
	if c.chown != "" {
		u, err := ociruntime.ResolveUser(rootDir, c.chown, nil)
		if err != nil {
			return fmt.Errorf("--chown=%s: %w", c.chown, err)
		}
		cp.uid, cp.gid = int(u.UID), int(u.GID)
	}
	if cp.chmod, err = parseChmod(c.chmod); err != nil {
		return err
	}
	destRel, destIsDir, err := cp.destination(dest)
	if err != nil {
		return err
	}
	if len(srcs) > 1 && !destIsDir {
		return fmt.Errorf("when copying more than one source, the destination must be a directory and end with a /: %s", dest)
	}
	for _, s := range srcs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := cp.source(ctx, rootDir, s, destRel, destIsDir, c); err != nil {
			return err
		}
	}
	for i := len(cp.dirs) - 1; i >= 0; i-- {
		mt := cp.dirs[i].fi.ModTime()
		_ = dst.Chtimes(cp.dirDest[i], mt, mt)
	}
	return nil
}

// parseChmod parses --chmod's octal mode; "" is none (nil).
func parseChmod(s string) (*fs.FileMode, error) {
	if s == "" {
		return nil, nil
	}
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return nil, fmt.Errorf("--chmod=%s: %w: want an octal mode", s, ErrUnsupported)
	}
	mode := fileMode(uint32(m))
	return &mode, nil
}

// destination resolves dest as the container sees it: through the
// image's symlinks, absolute ones included (/var/run -> /run). It is a
// directory when it ends with / or is one already.
func (cp *copier) destination(dest string) (destRel string, destIsDir bool, err error) {
	destRel = strings.TrimPrefix(path.Clean(dest), "/")
	full, err := resolveIn(cp.dst, destRel, true)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", dest, err)
	}
	destIsDir = strings.HasSuffix(dest, "/")
	if fi, err := cp.dst.Stat(orDot(full)); err == nil && fi.IsDir() {
		destIsDir = true
	}
	if destIsDir {
		return full, true, nil
	}
	if destRel, err = cp.resolveParent(destRel); err != nil {
		return "", false, fmt.Errorf("%s: %w", dest, err)
	}
	return destRel, false, nil
}

// source copies one source to destRel: a directory's contents into it, a
// local archive of ADD unpacked into it, a file into it or as it.
func (cp *copier) source(ctx context.Context, rootDir string, s source, destRel string, destIsDir bool, c *copySpec) error {
	if s.isDir {
		if err := mkdirAll(cp.dst, destRel, 0o755, cp.uid, cp.gid); err != nil {
			return err
		}
		for _, e := range s.entries {
			if err := cp.entry(e, path.Join(destRel, e.dest)); err != nil {
				return err
			}
		}
		return nil
	}
	if c.add && !c.noUnpack {
		done, err := cp.extract(ctx, rootDir, s.rel, destRel)
		if err != nil || done {
			return err
		}
	}
	target := destRel
	if destIsDir {
		target = path.Join(destRel, path.Base(s.rel))
	}
	if err := mkdirAll(cp.dst, path.Dir(orDot(target)), 0o755, cp.uid, cp.gid); err != nil {
		return err
	}
	return cp.entry(s.entries[0], target)
}

// fileMode turns unix permission bits into a Go file mode.
func fileMode(m uint32) fs.FileMode {
	out := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		out |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		out |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		out |= fs.ModeSticky
	}
	return out
}

// entry copies one file, link or directory to target.
func (cp *copier) entry(e srcEntry, target string) error {
	m := e.fi.Mode()
	mode := m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
	if cp.chmod != nil {
		mode = *cp.chmod
	}
	target, err := cp.resolveParent(target)
	if err != nil {
		return err
	}
	if target, err = cp.clearTarget(target, m); err != nil {
		return err
	}
	switch {
	case m.IsDir():
		if err := cp.dst.Mkdir(target, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		cp.dirs, cp.dirDest = append(cp.dirs, e), append(cp.dirDest, target)
	case m&fs.ModeSymlink != 0:
		if err := cp.dst.Symlink(e.link, target); err != nil {
			return err
		}
		return cp.dst.Lchown(target, cp.uid, cp.gid)
	case m.IsRegular():
		if err := cp.file(e.rel, target); err != nil {
			return err
		}
	default:
		return nil // sockets, fifos and devices are not copied
	}
	if err := cp.dst.Chmod(target, mode); err != nil {
		return err
	}
	if err := cp.dst.Lchown(target, cp.uid, cp.gid); err != nil {
		return err
	}
	if m.IsRegular() {
		return cp.dst.Chtimes(target, e.fi.ModTime(), e.fi.ModTime())
	}
	return nil
}

// clearTarget makes room at target for an entry of mode m: what is there
// is removed unless both are directories (or both plain files). A
// directory copied onto a symlink to a directory goes through it (COPY
// lib/ /lib/ on a merged-/usr image): the target is then the link's.
func (cp *copier) clearTarget(target string, m fs.FileMode) (string, error) {
	old, err := cp.dst.Lstat(target)
	if err != nil {
		return target, nil
	}
	if m.IsDir() && old.Mode()&fs.ModeSymlink != 0 {
		if full, rerr := resolveIn(cp.dst, target, true); rerr == nil {
			if fi, serr := cp.dst.Stat(orDot(full)); serr == nil && fi.IsDir() {
				target, old = full, fi
			}
		}
	}
	if old.IsDir() != m.IsDir() || old.Mode()&fs.ModeSymlink != 0 || m&fs.ModeSymlink != 0 {
		if err := cp.dst.RemoveAll(target); err != nil {
			return "", err
		}
	}
	return target, nil
}

func (cp *copier) file(rel, target string) error {
	in, err := cp.src.Open(rel)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	defer in.Close()
	out, err := cp.dst.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("%s: %w", "/"+target, err)
	}
	if _, err := io.CopyBuffer(out, in, cp.buf); err != nil {
		out.Close()
		return fmt.Errorf("%s: %w", "/"+target, err)
	}
	return out.Close()
}

// extract unpacks rel into destRel when it is a tar archive (plain, gzip,
// bzip2 or zstd), as ADD does; done is false when it is not an archive.
func (cp *copier) extract(ctx context.Context, rootDir, rel, destRel string) (done bool, err error) {
	f, err := cp.src.Open(rel)
	if err != nil {
		return false, fmt.Errorf("%s: %w", rel, err)
	}
	defer f.Close()
	r, closeR, err := decompressed(bufio.NewReaderSize(f, 64*1024))
	if err != nil {
		return false, fmt.Errorf("ADD %s: %w", rel, err)
	}
	if r == nil {
		return false, nil
	}
	defer closeR()
	tr := bufio.NewReaderSize(r, 1024)
	if !isTar(tr) {
		return false, nil
	}
	if err := mkdirAll(cp.dst, destRel, 0o755, cp.uid, cp.gid); err != nil {
		return false, err
	}
	if cur := cp.symlinkIn(destRel); cur != "" {
		// Unpack takes a host path: refuse one that goes through a
		// symlink of the image, which could point anywhere on the host.
		return false, fmt.Errorf("ADD %s: %w: destination /%s is a symlink", rel, ErrUnsupported, cur)
	}
	if _, err := image.Unpack(ctx, tr, filepath.Join(rootDir, filepath.FromSlash(destRel))); err != nil {
		return false, fmt.Errorf("ADD %s: %w", rel, err)
	}
	return true, nil
}

// decompressed reads br through the decompressor its magic number names
// (gzip, bzip2, zstd; none for anything else). r is nil when br cannot be
// an archive after all (a broken gzip or zstd header); xz is refused.
func decompressed(br *bufio.Reader) (r io.Reader, closeR func(), err error) {
	magic, _ := br.Peek(6)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, nil
		}
		return zr, func() { zr.Close() }, nil
	case len(magic) >= 3 && string(magic[:3]) == "BZh":
		return bzip2.NewReader(br), func() {}, nil
	case len(magic) >= 4 && string(magic[:4]) == "\x28\xb5\x2f\xfd":
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, nil
		}
		return zr, zr.Close, nil
	case len(magic) >= 6 && string(magic) == "\xfd7zXZ\x00":
		return nil, nil, fmt.Errorf("%w: xz archives (unpack it into the context, or use a .tar.gz)", ErrUnsupported)
	}
	return br, func() {}, nil
}

// isTar reports whether r starts with a ustar header.
func isTar(r *bufio.Reader) bool {
	hdr, err := r.Peek(263)
	return err == nil && string(hdr[257:262]) == "ustar"
}

// symlinkIn returns the first component path of destRel that is a
// symlink in the rootfs, or "".
func (cp *copier) symlinkIn(destRel string) string {
	cur := ""
	for _, part := range strings.Split(destRel, "/") {
		if part == "" {
			continue
		}
		cur = path.Join(cur, part)
		if fi, err := cp.dst.Lstat(cur); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return cur
		}
	}
	return ""
}
