package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/rootfs"
)

// workDir is the scratch space of one step: an overlay of the stage's
// layers with a fresh upper dir, under the builder's tmp dir.
type workDir struct {
	dir     string
	layout  rootfs.Layout
	mounted bool
}

// mount makes a work dir with the overlay of lowers mounted at its
// layout.Merged. A stage with no layers yet gets an empty lower dir.
func (b *Builder) mount(lowers []string) (*workDir, error) {
	dir, err := os.MkdirTemp(b.tmpDir(), "step-")
	if err != nil {
		return nil, fmt.Errorf("build work dir: %w", err)
	}
	w := &workDir{dir: dir, layout: rootfs.LayoutIn(dir)}
	if len(lowers) == 0 {
		empty := filepath.Join(dir, "empty")
		if err := os.Mkdir(empty, 0o755); err != nil {
			w.cleanup()
			return nil, err
		}
		lowers = []string{empty}
	}
	if err := rootfs.Mount(lowers, w.layout); err != nil {
		w.cleanup()
		return nil, err
	}
	w.mounted = true
	return w, nil
}

func (w *workDir) unmount() error {
	if !w.mounted {
		return nil
	}
	if err := rootfs.Unmount(w.layout); err != nil {
		return err
	}
	w.mounted = false
	return nil
}

// cleanup unmounts and removes the work dir (whatever is left of it).
func (w *workDir) cleanup() {
	_ = w.unmount()
	_ = os.RemoveAll(w.dir)
}

// fsStep runs a filesystem-changing step: a cache hit (unless NoCache)
// applies the cached result at no cost; a miss runs work in a mounted
// work dir and commits the upper dir as the step's layer.
func (r *run) fsStep(ctx context.Context, st *stageState, title, createdBy string, keyParts []string, fail func(error) error,
	work func(ctx context.Context, w *workDir, ev *stepEvent) error) error {
	st.step++
	ev := r.begin(st.name, st.step, st.total, title)
	key := hashKey(st.key, keyParts...)
	if !r.o.NoCache {
		if e, ok := r.b.cacheGet(key); ok {
			r.cached(ev)
			st.apply(key, createdBy, e, r.b)
			return nil
		}
	}
	w, err := r.b.mount(st.lowers)
	if err != nil {
		return r.fail(ev, fail(err))
	}
	defer w.cleanup()
	if err := work(ctx, w, ev); err != nil {
		return r.fail(ev, fail(err))
	}
	if err := w.unmount(); err != nil {
		return r.fail(ev, fail(err))
	}
	l, err := r.b.commitLayer(ctx, w.layout.Upper, w.dir)
	if err != nil {
		return r.fail(ev, fail(err))
	}
	e := cacheEntry{Layer: l, Created: r.b.now().UTC()}
	if err := r.b.cachePut(key, e); err != nil {
		return r.fail(ev, fail(err))
	}
	st.apply(key, createdBy, e, r.b)
	r.done(ev)
	return nil
}

// apply adds a step's result to the stage.
func (st *stageState) apply(key, createdBy string, e cacheEntry, b *Builder) {
	st.key = key
	st.created = e.Created
	h := v1.History{Created: v1.Time{Time: e.Created}, CreatedBy: createdBy, Comment: historyComment}
	if e.Layer == nil {
		h.EmptyLayer = true
		st.adds = append(st.adds, mutate.Addendum{History: h})
		return
	}
	st.lowers = append(st.lowers, b.layerDir(e.Layer.DiffID))
	st.adds = append(st.adds, mutate.Addendum{Layer: b.layer(*e.Layer), History: h})
}

// mkdirAs creates dir (absolute, inside rootfs) and its missing parents,
// owned by user (resolved in rootfs) as BuildKit does for WORKDIR.
func mkdirAs(rootDir, dir, user string) error {
	uid, gid := 0, 0
	if user != "" {
		u, err := ociruntime.ResolveUser(rootDir, user, nil)
		if err != nil {
			return err
		}
		uid, gid = int(u.UID), int(u.GID)
	}
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return err
	}
	defer root.Close()
	return mkdirAll(root, strings.TrimPrefix(path.Clean(dir), "/"), 0o755, uid, gid)
}

// mkdirAll creates rel and its missing parents in root, with mode and
// owner; existing directories are left as they are. Symlinks on the way
// are followed inside root (see resolveIn).
func mkdirAll(root *os.Root, rel string, mode os.FileMode, uid, gid int) error {
	rel, err := resolveIn(root, rel, true)
	if err != nil {
		return err
	}
	if rel == "" || rel == "." {
		return nil
	}
	cur := ""
	for _, part := range strings.Split(rel, "/") {
		cur = path.Join(cur, part)
		fi, err := root.Stat(cur)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s: %w", "/"+cur, fs.ErrExist)
			}
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := root.Mkdir(cur, mode); err != nil {
			return err
		}
		if err := root.Chmod(cur, mode); err != nil {
			return err
		}
		if uid != 0 || gid != 0 {
			if err := root.Lchown(cur, uid, gid); err != nil {
				return err
			}
		}
	}
	return nil
}
