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
	name := "COPY"
	if c.add {
		name = "ADD"
	}
	switch {
	case c.heredocs > 0 && (len(c.srcs) > 0 || c.from != ""):
		return fail(fmt.Errorf("%w: %s of files and heredocs at once", ErrUnsupported, name))
	case c.parents:
		return fail(fmt.Errorf("%w: %s --parents", ErrUnsupported, name))
	case c.checksum != "":
		return fail(fmt.Errorf("%w: ADD --checksum (remote sources)", ErrUnsupported))
	}
	for _, s := range c.srcs {
		if c.add && isRemote(s) {
			return fail(fmt.Errorf("ADD %s: %w (berth builds offline): download the file into the build context and COPY it", s, ErrRemoteSource))
		}
	}
	dest := destPath(c.dest, st.cfg.Config.WorkingDir)
	var (
		srcKey string
		lowers []string
		where  string
		srcs   []source
		ctxDir *os.Root
	)
	switch {
	case c.heredocs > 0:
		dir, err := os.MkdirTemp(r.b.tmpDir(), "heredoc-")
		if err != nil {
			return fail(err)
		}
		defer os.RemoveAll(dir)
		var names []string
		for _, h := range c.contents {
			name := path.Base(path.Clean("/" + h.Path))
			if err := os.WriteFile(filepath.Join(dir, name), []byte(h.Data), 0o644); err != nil {
				return fail(err)
			}
			names = append(names, name)
		}
		root, got, h, err := sourcesIn(dir, names, nil, nil, " (heredoc)")
		if err != nil {
			return fail(err)
		}
		defer root.Close()
		srcs = got
		srcKey, ctxDir = "heredoc "+h, root
	case c.from == "":
		root, got, h, err := r.ctx.sources(c.srcs, c.excludes)
		if err != nil {
			return fail(err)
		}
		defer root.Close()
		srcs = got
		srcKey, ctxDir = "context "+h, root
	default:
		from, err := r.args.expandGlobal(c.from)
		if err != nil {
			return fail(err)
		}
		if j, ok := r.df.stageIndex(from, c.stageFrom); ok {
			src := r.stages[j]
			if src == nil {
				return fail(fmt.Errorf("--from=%s: %w: stage not built", from, ErrUnknownStage))
			}
			srcKey, lowers, where = "stage "+src.key, src.lowers, " in stage "+from
			break
		}
		if nc, ok := r.namedContext(from); ok {
			if nc.dir != "" {
				root, got, h, err := nc.sources(c.srcs, c.excludes)
				if err != nil {
					return fail(err)
				}
				defer root.Close()
				srcs, srcKey, ctxDir = got, "context "+from+" "+h, root
				break
			}
			img, err := r.contextImage(ctx, nc)
			if err != nil {
				return fail(err)
			}
			srcKey, lowers, where = "image "+img.ID(), img.LayerDirs(), " in image "+nc.ref
			break
		}
		img, err := r.baseImage(ctx, from)
		if err != nil {
			return fail(fmt.Errorf("--from=%s: %w: no stage of that name before this one (stages: %s), no additional context, and no image: %v", from, ErrUnknownStage, r.df.stageNames(), err))
		}
		srcKey, lowers, where = "image "+img.ID(), img.LayerDirs(), " in image "+from
	}
	createdBy := c.createdBy()
	return r.fsStep(ctx, st, createdBy, createdBy, []string{createdBy, srcKey}, fail, func(ctx context.Context, w *workDir, _ *stepEvent) error {
		root := ctxDir
		if root == nil {
			m, err := r.b.mount(lowers)
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
			if srcs, err = collect(root, c.srcs, nil, ex, where); err != nil {
				return err
			}
		}
		return copyInto(ctx, w.layout.Merged, root, srcs, dest, &c)
	})
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
	if c.chmod != "" {
		m, err := strconv.ParseUint(c.chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return fmt.Errorf("--chmod=%s: %w: want an octal mode", c.chmod, ErrUnsupported)
		}
		mode := fileMode(uint32(m))
		cp.chmod = &mode
	}
	// The destination is resolved as the container sees it: through the
	// image's symlinks, absolute ones included (/var/run -> /run).
	destRel := strings.TrimPrefix(path.Clean(dest), "/")
	full, err := resolveIn(dst, destRel, true)
	if err != nil {
		return fmt.Errorf("%s: %w", dest, err)
	}
	destIsDir := strings.HasSuffix(dest, "/")
	if fi, err := dst.Stat(orDot(full)); err == nil && fi.IsDir() {
		destIsDir = true
	}
	if destIsDir {
		destRel = full
	} else if destRel, err = cp.resolveParent(destRel); err != nil {
		return fmt.Errorf("%s: %w", dest, err)
	}
	if len(srcs) > 1 && !destIsDir {
		return fmt.Errorf("when copying more than one source, the destination must be a directory and end with a /: %s", dest)
	}
	for _, s := range srcs {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case s.isDir:
			if err := mkdirAll(dst, destRel, 0o755, cp.uid, cp.gid); err != nil {
				return err
			}
			for _, e := range s.entries {
				if err := cp.entry(e, path.Join(destRel, e.dest)); err != nil {
					return err
				}
			}
		case c.add && !c.noUnpack:
			done, err := cp.extract(ctx, rootDir, s.rel, destRel)
			if err != nil {
				return err
			}
			if done {
				continue
			}
			fallthrough
		default:
			target := destRel
			if destIsDir {
				target = path.Join(destRel, path.Base(s.rel))
			}
			if err := mkdirAll(dst, path.Dir(orDot(target)), 0o755, cp.uid, cp.gid); err != nil {
				return err
			}
			if err := cp.entry(s.entries[0], target); err != nil {
				return err
			}
		}
	}
	for i := len(cp.dirs) - 1; i >= 0; i-- {
		mt := cp.dirs[i].fi.ModTime()
		_ = dst.Chtimes(cp.dirDest[i], mt, mt)
	}
	return nil
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
	old, err := cp.dst.Lstat(target)
	if err == nil && m.IsDir() && old.Mode()&fs.ModeSymlink != 0 {
		// a directory copied onto a symlink to a directory goes through
		// it (COPY lib/ /lib/ on a merged-/usr image)
		if full, rerr := resolveIn(cp.dst, target, true); rerr == nil {
			if fi, serr := cp.dst.Stat(orDot(full)); serr == nil && fi.IsDir() {
				target, old = full, fi
			}
		}
	}
	if err == nil {
		if old.IsDir() != m.IsDir() || old.Mode()&fs.ModeSymlink != 0 || m&fs.ModeSymlink != 0 {
			if err := cp.dst.RemoveAll(target); err != nil {
				return err
			}
		}
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
	br := bufio.NewReaderSize(f, 64*1024)
	var r io.Reader = br
	magic, _ := br.Peek(6)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return false, nil
		}
		defer zr.Close()
		r = zr
	case len(magic) >= 3 && string(magic[:3]) == "BZh":
		r = bzip2.NewReader(br)
	case len(magic) >= 4 && string(magic[:4]) == "\x28\xb5\x2f\xfd":
		zr, err := zstd.NewReader(br)
		if err != nil {
			return false, nil
		}
		defer zr.Close()
		r = zr
	case len(magic) >= 6 && string(magic) == "\xfd7zXZ\x00":
		return false, fmt.Errorf("ADD %s: %w: xz archives (unpack it into the context, or use a .tar.gz)", rel, ErrUnsupported)
	}
	tr := bufio.NewReaderSize(r, 1024)
	hdr, err := tr.Peek(263)
	if err != nil || string(hdr[257:262]) != "ustar" {
		return false, nil
	}
	if err := mkdirAll(cp.dst, destRel, 0o755, cp.uid, cp.gid); err != nil {
		return false, err
	}
	// Unpack takes a host path: refuse one that goes through a symlink of
	// the image, which could point anywhere on the host.
	cur := ""
	for _, part := range strings.Split(destRel, "/") {
		if part == "" {
			continue
		}
		cur = path.Join(cur, part)
		if fi, err := cp.dst.Lstat(cur); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return false, fmt.Errorf("ADD %s: %w: destination /%s is a symlink", rel, ErrUnsupported, cur)
		}
	}
	if _, err := image.Unpack(ctx, tr, filepath.Join(rootDir, filepath.FromSlash(destRel))); err != nil {
		return false, fmt.Errorf("ADD %s: %w", rel, err)
	}
	return true, nil
}
