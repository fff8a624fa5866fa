package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Removed reports what Remove or Prune did, in Docker's words.
type Removed struct {
	Untagged  []string // familiar names
	Deleted   []string // image IDs and layer chain IDs
	Reclaimed int64    // bytes freed on disk (approximate)
}

// Remove removes the image name refers to, as `docker rmi` does: by tag
// when the image has other tags, only the tag goes; an image inUse (by a
// container) is refused unless force, and then only untagged; an ID with
// several tags needs force. Content no other image uses is deleted.
func (s *Store) Remove(ctx context.Context, name string, force bool, inUse func(id string) bool) (*Removed, error) {
	gl, err := s.lockGC(ctx, true)
	if err != nil {
		return nil, err
	}
	defer gl.Release()
	out := &Removed{}
	deleted := false
	err = s.updateIndex(ctx, func(idx *indexFile) error {
		rec, tr, err := lookup(idx, name)
		if err != nil {
			return err
		}
		var tags []string
		for t, r := range idx.Tags {
			if r.Manifest == rec.Manifest {
				tags = append(tags, t)
			}
		}
		sort.Strings(tags)
		used := inUse != nil && inUse(rec.Config)
		if tr != nil && len(tags) > 1 { // one of several tags
			ref, _ := ParseReference(name)
			delete(idx.Tags, ref.String())
			out.Untagged = append(out.Untagged, ref.Familiar())
			return nil
		}
		if tr == nil && len(tags) > 1 && !force {
			return fmt.Errorf("image %s is referenced by %s: remove the tags one by one or use --force", name, strings.Join(familiarAll(tags), ", "))
		}
		if used && !force {
			return fmt.Errorf("image %s (%s): %w by a container; remove the container first or use --force", name, shortID(rec.Config), ErrInUse)
		}
		for _, t := range tags {
			delete(idx.Tags, t)
			out.Untagged = append(out.Untagged, familiar(t))
		}
		if used { // forced: keep the image for its containers, untagged
			return nil
		}
		for _, rd := range rec.RepoDigests {
			out.Untagged = append(out.Untagged, familiar(rd))
		}
		delete(idx.Images, rec.Manifest)
		out.Deleted = append(out.Deleted, rec.Config)
		deleted = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if deleted {
		r, err := s.collect()
		out.Deleted = append(out.Deleted, r.Deleted...)
		out.Reclaimed = r.Reclaimed
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// PruneOptions choose what Prune removes.
type PruneOptions struct {
	All   bool                 // every image no container uses, not only untagged ones
	InUse func(id string) bool // nil: no image is in use
}

// Prune removes untagged images (all unused images with All) that no
// container uses, then every blob and layer dir no image references, and
// leftovers of interrupted imports.
func (s *Store) Prune(ctx context.Context, opts PruneOptions) (*Removed, error) {
	gl, err := s.lockGC(ctx, true)
	if err != nil {
		return nil, err
	}
	defer gl.Release()
	out := &Removed{}
	err = s.updateIndex(ctx, func(idx *indexFile) error {
		tags := map[string][]string{}
		for t, r := range idx.Tags {
			tags[r.Manifest] = append(tags[r.Manifest], t)
		}
		for m, rec := range idx.Images {
			if (len(tags[m]) > 0 && !opts.All) || (opts.InUse != nil && opts.InUse(rec.Config)) {
				continue
			}
			for _, t := range tags[m] {
				delete(idx.Tags, t)
				out.Untagged = append(out.Untagged, familiar(t))
			}
			delete(idx.Images, m)
			out.Deleted = append(out.Deleted, rec.Config)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(out.Untagged)
	r, err := s.collect()
	out.Deleted = append(out.Deleted, r.Deleted...)
	out.Reclaimed = r.Reclaimed
	return out, err
}

// collect deletes every blob and layer dir the index does not reference,
// and leftovers (temp files, locks). The caller holds the gc lock
// exclusively, so no import is running.
func (s *Store) collect() (*Removed, error) {
	out := &Removed{}
	idx, err := s.readIndex()
	if err != nil {
		return out, err
	}
	blobs, chains := referenced(idx)
	var errs []error
	blobDir := filepath.Join(s.root, "blobs", "sha256")
	ents, err := os.ReadDir(blobDir)
	if err != nil {
		return out, err
	}
	for _, e := range ents {
		if blobs["sha256:"+e.Name()] {
			continue
		}
		if fi, err := e.Info(); err == nil {
			out.Reclaimed += fi.Size()
		}
		if err := os.Remove(filepath.Join(blobDir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	ents, err = os.ReadDir(filepath.Join(s.root, "layers"))
	if err != nil {
		return out, err
	}
	for _, e := range ents {
		if chains["sha256:"+e.Name()] {
			continue
		}
		if strings.HasPrefix(e.Name(), ".tmp-") {
			errs = append(errs, os.RemoveAll(filepath.Join(s.root, "layers", e.Name())))
			continue
		}
		h := v1.Hash{Algorithm: "sha256", Hex: e.Name()}
		out.Reclaimed += s.layerSize(h)
		out.Deleted = append(out.Deleted, h.String())
		errs = append(errs, s.removeLayerDir(h))
	}
	for _, d := range []string{"tmp", "locks"} {
		ents, _ := os.ReadDir(filepath.Join(s.root, d))
		for _, e := range ents {
			errs = append(errs, os.RemoveAll(filepath.Join(s.root, d, e.Name())))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return out, fmt.Errorf("image store cleanup: %w", err)
	}
	return out, nil
}

func shortID(id string) string {
	h := strings.TrimPrefix(id, "sha256:")
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
