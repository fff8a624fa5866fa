package image

import (
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Usage is the disk use of the store, as `docker system df` counts images.
type Usage struct {
	Images      int   // images in the index
	Active      int   // images a container uses
	Size        int64 // bytes of every layer and blob on disk, each counted once
	Reclaimable int64 // bytes no image in use needs
	PerImage    []ImageUsage
}

// ImageUsage is one image's line of `system df -v`.
type ImageUsage struct {
	Summary
	SharedSize int64 // bytes it shares with other images
	UniqueSize int64 // bytes only it uses
	InUse      bool
}

// Usage measures the store; inUse says which image IDs containers use.
func (s *Store) Usage(inUse func(id string) bool) (*Usage, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	list, err := s.List()
	if err != nil {
		return nil, err
	}
	// Each blob (compressed layer, config, manifest) and each unpacked
	// layer is one piece of content; count the images that reference it.
	type piece struct {
		size    int64
		users   int
		inUseBy int
	}
	pieces := map[string]*piece{}
	add := func(key string, size func() int64, used bool) {
		p := pieces[key]
		if p == nil {
			p = &piece{size: size()}
			pieces[key] = p
		}
		p.users++
		if used {
			p.inUseBy++
		}
	}
	blobSize := func(d string) func() int64 {
		return func() int64 {
			h, err := v1.NewHash(d)
			if err != nil {
				return 0
			}
			st, err := os.Stat(s.blobPath(h))
			if err != nil {
				return 0
			}
			return st.Size()
		}
	}
	keysOf := func(rec *record) []string {
		keys := []string{"blob:" + rec.Manifest, "blob:" + rec.Config}
		for _, l := range rec.Layers {
			keys = append(keys, "blob:"+l.Blob, "layer:"+l.Chain)
		}
		return keys
	}
	sizeOf := func(key string) func() int64 {
		if d, ok := strings.CutPrefix(key, "blob:"); ok {
			return blobSize(d)
		}
		d, _ := strings.CutPrefix(key, "layer:")
		return func() int64 {
			h, err := v1.NewHash(d)
			if err != nil {
				return 0
			}
			return s.layerSize(h)
		}
	}
	u := &Usage{Images: len(idx.Images)}
	for _, rec := range idx.Images {
		used := inUse != nil && inUse(rec.Config)
		if used {
			u.Active++
		}
		seen := map[string]bool{}
		for _, k := range keysOf(rec) {
			if !seen[k] {
				seen[k] = true
				add(k, sizeOf(k), used)
			}
		}
	}
	for _, p := range pieces {
		u.Size += p.size
		if p.inUseBy == 0 {
			u.Reclaimable += p.size
		}
	}
	for _, sum := range list {
		rec := idx.Images[sum.Digest]
		if rec == nil {
			continue
		}
		iu := ImageUsage{Summary: sum, InUse: inUse != nil && inUse(rec.Config)}
		seen := map[string]bool{}
		for _, k := range keysOf(rec) {
			if seen[k] {
				continue
			}
			seen[k] = true
			if p := pieces[k]; p.users > 1 {
				iu.SharedSize += p.size
			} else {
				iu.UniqueSize += p.size
			}
		}
		u.PerImage = append(u.PerImage, iu)
	}
	return u, nil
}
