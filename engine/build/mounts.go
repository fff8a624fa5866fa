package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/fsutil"
)

// runMount is a RUN --mount, resolved: what it mounts and what it adds to
// the step's cache key. As BuildKit: a cache mount's content is not part
// of the key (it is a cache), a bind mount's source content is.
type runMount struct {
	m      *instructions.Mount
	target string
	key    string
	lowers []string // bind from a stage or an image
	ctxDir string   // bind from the build context or a directory context: its root
	srcs   []source // what a bind from the context shows
	// secret and ssh mounts (secrets.go)
	id     string
	env    string // env= of a secret: the variable that gets its value
	secret *Secret
	ssh    *SSHSource
}

// runMounts resolves a RUN's --mount flags (type bind, cache, tmpfs,
// secret and ssh; a secret or ssh mount whose id the build was not given
// is skipped unless required, as BuildKit does).
func (r *run) runMounts(ctx context.Context, st *stageState, ms []*instructions.Mount) ([]runMount, error) {
	var out []runMount
	wd := st.cfg.Config.WorkingDir
	if wd == "" {
		wd = "/"
	}
	nssh := 0
	for _, m := range ms {
		rm := runMount{m: m, target: absIn(wd, m.Target)}
		switch m.Type {
		case instructions.MountTypeCache:
			if m.From != "" {
				return nil, fmt.Errorf("--mount=type=cache,from=%s: %w: a cache mount seeded from a stage", m.From, ErrUnsupported)
			}
			rm.key = fmt.Sprintf("cache %s id=%s", rm.target, m.CacheID)
		case instructions.MountTypeTmpfs:
			rm.key = fmt.Sprintf("tmpfs %s size=%d", rm.target, m.SizeLimit)
		case instructions.MountTypeBind:
			src, err := cleanSource(orDot(m.Source))
			if err != nil {
				return nil, fmt.Errorf("--mount=type=bind,source=%s: %w", m.Source, err)
			}
			m.Source = orDot(src)
			what, err := r.bindSource(ctx, st, &rm)
			if err != nil {
				return nil, err
			}
			rm.key = fmt.Sprintf("bind %s %s from %s rw=%v", m.Source, rm.target, what, !m.ReadOnly)
		case instructions.MountTypeSecret:
			ok, err := r.secretMount(&rm, wd)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		case instructions.MountTypeSSH:
			ok, err := r.sshMount(&rm, wd, nssh)
			nssh++
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		default:
			return nil, fmt.Errorf("--mount=type=%s: %w", m.Type, ErrUnsupported)
		}
		out = append(out, rm)
	}
	return out, nil
}

// bindSource finds where a bind mount's files come from and returns what
// fixes their content for the cache key.
func (r *run) bindSource(ctx context.Context, st *stageState, rm *runMount) (string, error) {
	m := rm.m
	if m.From == "" {
		root, srcs, h, err := r.ctx.sources([]string{m.Source}, nil)
		if err != nil {
			return "", fmt.Errorf("--mount=type=bind,source=%s: %w", m.Source, err)
		}
		root.Close()
		rm.ctxDir, rm.srcs = r.ctx.dir, srcs
		return "context " + h, nil
	}
	from, err := r.args.expandGlobal(m.From)
	if err != nil {
		return "", err
	}
	if j, ok := r.df.stageIndex(from, st.index); ok {
		src := r.stages[j]
		if src == nil {
			return "", fmt.Errorf("--mount from=%s: %w: stage not built", from, ErrUnknownStage)
		}
		rm.lowers = src.lowers
		return "stage " + src.key, nil
	}
	if nc, ok := r.namedContext(from); ok {
		if nc.dir != "" {
			root, srcs, h, err := nc.sources([]string{m.Source}, nil)
			if err != nil {
				return "", fmt.Errorf("--mount from=%s,source=%s: %w", from, m.Source, err)
			}
			root.Close()
			rm.ctxDir, rm.srcs = nc.dir, srcs
			return "context " + from + " " + h, nil
		}
		img, err := r.contextImage(ctx, nc)
		if err != nil {
			return "", fmt.Errorf("--mount from=%s: %w", from, err)
		}
		rm.lowers = img.LayerDirs()
		return "image " + img.ID(), nil
	}
	img, err := r.baseImage(ctx, from)
	if err != nil {
		return "", fmt.Errorf("--mount from=%s: %w: no stage of that name (stages: %s), no additional context, and no image: %v", from, ErrUnknownStage, r.df.stageNames(), err)
	}
	rm.lowers = img.LayerDirs()
	return "image " + img.ID(), nil
}

// prepareMounts makes the mounts ready for a step in w and returns them
// as runtime mounts, with the environment they add to the process, and
// the private dir (a tmpfs, "" when none was needed) where the secrets
// went; release undoes what was made (call it even on error).
func (r *run) prepareMounts(ctx context.Context, w *workDir, mounts []runMount) (out []specs.Mount, env []string, private string, release func(), err error) {
	var undo []func()
	release = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	var priv privateDir
	for i, rm := range mounts {
		m := rm.m
		switch m.Type {
		case instructions.MountTypeSecret, instructions.MountTypeSSH:
			dir, err := priv.get(w, &undo)
			if err != nil {
				return nil, nil, "", release, err
			}
			ms, e, err := secretMounts(rm, i, dir, &undo)
			if err != nil {
				return nil, nil, "", release, err
			}
			out, env = append(out, ms...), append(env, e...)
			if m.Type == instructions.MountTypeSSH && !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "SSH_AUTH_SOCK=") }) {
				env = append(env, "SSH_AUTH_SOCK="+rm.target) // the first ssh mount's, as BuildKit
			}
		case instructions.MountTypeCache:
			dir, lock, err := r.b.cacheMountDir(ctx, m)
			if err != nil {
				return nil, nil, "", release, err
			}
			if lock != nil {
				undo = append(undo, func() { _ = lock.Release() })
			}
			out = append(out, specs.Mount{Type: "bind", Source: dir, Destination: rm.target, Options: []string{"rbind", "rw"}})
		case instructions.MountTypeTmpfs:
			opts := []string{"nosuid", "nodev"}
			if m.SizeLimit > 0 {
				opts = append(opts, "size="+strconv.FormatInt(m.SizeLimit, 10))
			}
			out = append(out, specs.Mount{Type: "tmpfs", Source: "tmpfs", Destination: rm.target, Options: opts})
		case instructions.MountTypeBind:
			src, err := r.bindDir(ctx, w, i, rm, &undo)
			if err != nil {
				return nil, nil, "", release, err
			}
			opt := "ro"
			if !m.ReadOnly {
				opt = "rw" // writes land in a copy and are dropped, as BuildKit's
			}
			out = append(out, specs.Mount{Type: "bind", Source: src, Destination: rm.target, Options: []string{"rbind", opt}})
		}
	}
	return out, env, priv.dir, release, nil
}

// bindDir returns the host path a bind mount shows: a copy of the
// context's files (so .dockerignore holds and writes go nowhere) or a
// throwaway overlay of a stage's or image's layers.
func (r *run) bindDir(ctx context.Context, w *workDir, i int, rm runMount, undo *[]func()) (string, error) {
	m := rm.m
	if rm.ctxDir != "" {
		dir := filepath.Join(w.dir, "bind-"+strconv.Itoa(i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			return "", err
		}
		root, err := os.OpenRoot(rm.ctxDir)
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrContextAccess, err)
		}
		defer root.Close()
		if err := copyInto(ctx, dir, root, rm.srcs, "/", &copySpec{}); err != nil {
			return "", fmt.Errorf("--mount=type=bind,source=%s: %w", m.Source, err)
		}
		if len(rm.srcs) == 1 && !rm.srcs[0].isDir {
			return filepath.Join(dir, path.Base(rm.srcs[0].rel)), nil
		}
		return dir, nil
	}
	ov, err := r.b.mount(rm.lowers)
	if err != nil {
		return "", err
	}
	*undo = append(*undo, ov.cleanup)
	root, err := os.OpenRoot(ov.layout.Merged)
	if err != nil {
		return "", err
	}
	defer root.Close()
	// Symlinks resolve inside the stage, as the container sees them, to a
	// path with none left. The overlay is this step's own and nothing runs
	// in it before the runtime mounts it, so the path cannot be swapped
	// (design decision 10; TestRunMountBindSymlinks).
	rel, err := resolveIn(root, m.Source, true)
	if err != nil {
		return "", fmt.Errorf("--mount from=%s,source=%s: %w", m.From, m.Source, err)
	}
	p := filepath.Join(ov.layout.Merged, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("--mount from=%s,source=%s: %w", m.From, m.Source, ErrNotInContext)
	}
	return p, nil
}

// cacheMountDir is the persistent directory of a cache mount (its id, or
// its target when it has none), made with the mount's mode and owner the
// first time. sharing=locked holds a lock on it until released.
func (b *Builder) cacheMountDir(ctx context.Context, m *instructions.Mount) (string, *fsutil.Lock, error) {
	id := m.CacheID
	if id == "" {
		id = path.Clean(m.Target)
	}
	sum := sha256.Sum256([]byte(id))
	dir := filepath.Join(b.dir, "mounts", hex.EncodeToString(sum[:16]))
	var lock *fsutil.Lock
	if m.CacheSharing == instructions.MountSharingLocked {
		l, err := fsutil.Acquire(ctx, dir+".lock")
		if err != nil {
			return "", nil, err
		}
		lock = l
	}
	if _, err := os.Stat(dir); err == nil {
		return dir, lock, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".new-")
	if err == nil {
		mode := os.FileMode(0o755)
		if m.Mode != nil {
			mode = fileMode(uint32(*m.Mode))
		}
		uid, gid := 0, 0
		if m.UID != nil {
			uid = int(*m.UID)
		}
		if m.GID != nil {
			gid = int(*m.GID)
		}
		if err = os.Chmod(tmp, mode); err == nil {
			err = os.Lchown(tmp, uid, gid)
		}
		if err == nil {
			if err = os.Rename(tmp, dir); err != nil && dirExists(dir) {
				err = nil // made by a concurrent build
			}
		}
		os.RemoveAll(tmp)
	}
	if err != nil {
		if lock != nil {
			_ = lock.Release()
		}
		return "", nil, fmt.Errorf("cache mount %s: %w", id, err)
	}
	return dir, lock, nil
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
