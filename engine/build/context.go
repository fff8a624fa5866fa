package build

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// buildContext is the directory a build copies from, with its
// .dockerignore rules.
type buildContext struct {
	dir      string
	patterns []string
}

// openContext reads the ignore file of a build: <Dockerfile>.dockerignore
// next to the Dockerfile when there is one (as BuildKit), else the
// context's .dockerignore.
func openContext(dir, dockerfile string) (*buildContext, error) {
	c := &buildContext{dir: dir}
	var candidates []string
	if dockerfile != "" {
		df := dockerfile
		if !filepath.IsAbs(df) {
			df = filepath.Join(dir, df)
		}
		candidates = append(candidates, df+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(dir, ".dockerignore"))
	for _, p := range candidates {
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrContextAccess, err)
		}
		pats, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		c.patterns = pats
		if _, err := patternmatcher.New(pats); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		break
	}
	return c, nil
}

// matcher is the context's ignore rules (nil when there are none).
func (c *buildContext) matcher() (*patternmatcher.PatternMatcher, error) {
	if len(c.patterns) == 0 {
		return nil, nil
	}
	return patternmatcher.New(c.patterns)
}

// sources opens the context and collects srcs in it (its ignore rules
// and the --exclude patterns applied), with their content hash. The
// caller closes the root.
func (c *buildContext) sources(srcs, excludes []string) (*os.Root, []source, string, error) {
	pm, err := c.matcher()
	if err != nil {
		return nil, nil, "", err
	}
	ex, err := excludeMatcher(excludes)
	if err != nil {
		return nil, nil, "", err
	}
	root, got, h, err := sourcesIn(c.dir, srcs, pm, ex, " (context "+c.dir+")")
	if errors.Is(err, errOpenRoot) {
		err = fmt.Errorf("%w: %v", ErrContextAccess, err)
	}
	return root, got, h, err
}

// errOpenRoot marks sourcesIn's failure to open its directory.
var errOpenRoot = errors.New("cannot open source directory")

// sourcesIn opens dir and collects srcs in it (see collect), with their
// content hash (see hashSources). The caller closes the root.
func sourcesIn(dir string, srcs []string, pm, ex *patternmatcher.PatternMatcher, where string) (*os.Root, []source, string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%w: %v", errOpenRoot, err)
	}
	got, err := collect(root, srcs, pm, ex, where)
	if err != nil {
		root.Close()
		return nil, nil, "", err
	}
	h, err := hashSources(root, got)
	if err != nil {
		root.Close()
		return nil, nil, "", err
	}
	return root, got, h, nil
}

// excludeMatcher is a COPY's --exclude patterns (nil when there are none).
func excludeMatcher(excludes []string) (*patternmatcher.PatternMatcher, error) {
	if len(excludes) == 0 {
		return nil, nil
	}
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return nil, fmt.Errorf("--exclude: %w", err)
	}
	return pm, nil
}

// srcEntry is one file or directory a COPY takes from its source.
type srcEntry struct {
	rel  string // path in the source root (slash form, no leading /)
	dest string // path under the destination (slash form, "" = the destination itself)
	fi   fs.FileInfo
	link string // symlink target
}

// source is one matched source of a COPY: a file or a directory tree.
type source struct {
	rel     string
	isDir   bool
	entries []srcEntry
}

// cleanSource makes a COPY source relative to its root; climbing out is refused.
func cleanSource(s string) (string, error) {
	p := path.Clean("/" + filepath.ToSlash(s))
	if strings.HasPrefix(path.Clean(filepath.ToSlash(s)), "..") {
		return "", fmt.Errorf("%s: %w: it is outside the build context", s, ErrNotInContext)
	}
	return strings.TrimPrefix(p, "/"), nil
}

func hasMeta(s string) bool { return strings.ContainsAny(s, `*?[\`) }

// ignored reports whether rel is excluded by pm.
func ignored(pm *patternmatcher.PatternMatcher, rel string) bool {
	if pm == nil || rel == "" || rel == "." {
		return false
	}
	m, err := pm.MatchesOrParentMatches(rel)
	return err == nil && m
}

// excluded reports whether a matched source file is left out by
// --exclude: its path or its name matches.
func excluded(ex *patternmatcher.PatternMatcher, rel string) bool {
	return ignored(ex, rel) || ignored(ex, path.Base(rel))
}

// collect resolves the COPY sources in root (globs, .dockerignore via pm,
// --exclude via ex) into the entries to copy. What is named but missing
// (or ignored) is an error naming it. pm matches paths from root; ex
// matches the paths inside a copied directory, and a copied file's path
// or name.
func collect(root *os.Root, srcs []string, pm, ex *patternmatcher.PatternMatcher, where string) ([]source, error) {
	var out []source
	for _, s := range srcs {
		rel, err := cleanSource(s)
		if err != nil {
			return nil, err
		}
		var matches []string
		if hasMeta(rel) {
			ms, err := fs.Glob(root.FS(), orDot(rel))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s, err)
			}
			for _, m := range ms {
				if !ignored(pm, m) {
					matches = append(matches, m)
				}
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("%s: %w%s: no file matches the pattern", s, ErrNotInContext, where)
			}
		} else {
			if ignored(pm, rel) {
				return nil, fmt.Errorf("%s: %w%s (it is excluded by .dockerignore)", s, ErrNotInContext, where)
			}
			matches = []string{orDot(rel)}
		}
		for _, m := range matches {
			src, err := collectOne(root, m, pm, ex)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s: %w%s", s, ErrNotInContext, where)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s, err)
			}
			if src.isDir || !excluded(ex, m) {
				out = append(out, src)
			}
		}
	}
	return out, nil
}

func orDot(p string) string {
	if p == "" {
		return "."
	}
	return p
}

// collectOne lists a matched source: a file (symlinks followed) or a
// directory's whole tree (symlinks inside kept as links), ignored and
// excluded paths left out. A directory that is ignored but holds a
// re-included path ("!dir/keep") is listed before that path.
func collectOne(root *os.Root, rel string, pm, ex *patternmatcher.PatternMatcher) (source, error) {
	fi, err := root.Stat(rel)
	if err != nil {
		return source{}, err
	}
	if !fi.IsDir() {
		return source{rel: rel, entries: []srcEntry{{rel: rel, fi: fi}}}, nil
	}
	src := source{rel: rel, isDir: true}
	canReinclude := func(pm *patternmatcher.PatternMatcher) bool { return pm != nil && pm.Exclusions() }
	pending := map[string]srcEntry{} // ignored dirs kept in case a path below is re-included
	var addParents func(dest string)
	addParents = func(dest string) {
		dir := path.Dir(dest)
		if dir == "." || dir == "/" {
			return
		}
		if e, ok := pending[dir]; ok {
			addParents(dir)
			src.entries = append(src.entries, e)
			delete(pending, dir)
		}
	}
	err = fs.WalkDir(root.FS(), rel, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == rel {
			return nil
		}
		dest := strings.TrimPrefix(strings.TrimPrefix(p, rel), "/")
		if rel == "." {
			dest = p
		}
		skip := false
		if ignored(pm, p) {
			if d.IsDir() && !canReinclude(pm) {
				return fs.SkipDir
			}
			skip = true
		}
		if ignored(ex, dest) {
			if d.IsDir() && !canReinclude(ex) {
				return fs.SkipDir
			}
			skip = true
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := srcEntry{rel: p, dest: dest, fi: info}
		if info.Mode()&fs.ModeSymlink != 0 {
			if e.link, err = root.Readlink(p); err != nil {
				return err
			}
		}
		if skip {
			if d.IsDir() {
				pending[dest] = e
			}
			return nil
		}
		addParents(dest)
		src.entries = append(src.entries, e)
		return nil
	})
	return src, err
}

// hashSources is the content hash of what a COPY takes: each entry's
// destination path, type and mode, link target and content.
func hashSources(root *os.Root, srcs []source) (string, error) {
	h := sha256.New()
	buf := make([]byte, 256*1024)
	for _, s := range srcs {
		entries := append([]srcEntry(nil), s.entries...)
		sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })
		fmt.Fprintf(h, "source %s %v\n", s.rel, s.isDir)
		for _, e := range entries {
			fmt.Fprintf(h, "%s\x00%o\x00%s\x00%d\n", e.dest, uint32(e.fi.Mode()), e.link, e.fi.Size())
			if !e.fi.Mode().IsRegular() {
				continue
			}
			f, err := root.Open(e.rel)
			if err != nil {
				return "", fmt.Errorf("%s: %w", e.rel, err)
			}
			_, err = io.CopyBuffer(h, f, buf)
			f.Close()
			if err != nil {
				return "", fmt.Errorf("%s: %w", e.rel, err)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
