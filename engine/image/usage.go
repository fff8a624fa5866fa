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
	used := func(rec *record) bool { return inUse != nil && inUse(rec.Config) }
	pieces, active := countPieces(idx.Images, used, s.pieceSize)
	u := &Usage{Images: len(idx.Images), Active: active}
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
		u.PerImage = append(u.PerImage, imageUsage(sum, rec, pieces, used(rec)))
	}
	return u, nil
}

// piece is one piece of content on disk (a blob: compressed layer,
// config, manifest; or an unpacked layer) and how many images use it.
type piece struct {
	size    int64
	users   int // images that reference it
	inUseBy int // of which containers use
}

// pieceKeys names the pieces rec references, each once: "blob:DIGEST"
// and "layer:CHAIN".
func pieceKeys(rec *record) []string {
	keys := []string{"blob:" + rec.Manifest, "blob:" + rec.Config}
	for _, l := range rec.Layers {
		keys = append(keys, "blob:"+l.Blob, "layer:"+l.Chain)
	}
	seen := map[string]bool{}
	out := keys[:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// countPieces counts the images that reference each piece and those of
// them in use; size measures a piece the first time it is seen. active
// is the number of images in use.
func countPieces(images map[string]*record, used func(*record) bool, size func(key string) int64) (pieces map[string]*piece, active int) {
	pieces = map[string]*piece{}
	for _, rec := range images {
		u := used(rec)
		if u {
			active++
		}
		for _, k := range pieceKeys(rec) {
			p := pieces[k]
			if p == nil {
				p = &piece{size: size(k)}
				pieces[k] = p
			}
			p.users++
			if u {
				p.inUseBy++
			}
		}
	}
	return pieces, active
}

// imageUsage splits an image's pieces into those it shares with other
// images and those only it uses.
func imageUsage(sum Summary, rec *record, pieces map[string]*piece, inUse bool) ImageUsage {
	iu := ImageUsage{Summary: sum, InUse: inUse}
	for _, k := range pieceKeys(rec) {
		if p := pieces[k]; p.users > 1 {
			iu.SharedSize += p.size
		} else {
			iu.UniqueSize += p.size
		}
	}
	return iu
}

// pieceSize is the size on disk of a piece (see pieceKeys); 0 when it is
// missing.
func (s *Store) pieceSize(key string) int64 {
	if d, ok := strings.CutPrefix(key, "blob:"); ok {
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
	d, _ := strings.CutPrefix(key, "layer:")
	h, err := v1.NewHash(d)
	if err != nil {
		return 0
	}
	return s.layerSize(h)
}
