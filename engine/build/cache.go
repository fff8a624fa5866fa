package build

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/internal/fsutil"
)

// layerRef is a layer in the build cache.
type layerRef struct {
	DiffID string `json:"diffID"` // sha256 of the uncompressed tar
	Digest string `json:"digest"` // sha256 of the gzip blob
	Size   int64  `json:"size"`   // bytes of the gzip blob
}

// cacheEntry is what a step's cache key leads to.
type cacheEntry struct {
	Layer   *layerRef `json:"layer,omitempty"` // nil: the step changed no file
	Created time.Time `json:"created"`         // when the step first ran
}

func (b *Builder) keyPath(key string) string { return filepath.Join(b.keysDir(), key+".json") }

func hexOf(h string) string { return strings.TrimPrefix(h, "sha256:") }

func (b *Builder) layerDir(diffID string) string {
	return filepath.Join(b.layersDir(), hexOf(diffID), "diff")
}

func (b *Builder) blobPath(diffID string) string {
	return filepath.Join(b.layersDir(), hexOf(diffID), "blob")
}

// cacheGet returns the entry of key when its layer is still present.
func (b *Builder) cacheGet(key string) (cacheEntry, bool) {
	var e cacheEntry
	if err := fsutil.ReadJSON(b.keyPath(key), &e); err != nil {
		return e, false
	}
	if e.Layer != nil && !b.layerComplete(e.Layer.DiffID) {
		return e, false
	}
	return e, true
}

// cachePut records key's result (atomically: a concurrent build writing
// the same key writes the same meaning).
func (b *Builder) cachePut(key string, e cacheEntry) error {
	return fsutil.WriteJSON(b.keyPath(key), e)
}

// cachedLayer is a v1.Layer read from the build cache's blob.
type cachedLayer struct {
	ref    layerRef
	path   string
	digest v1.Hash
	diffID v1.Hash
}

func (b *Builder) layer(ref layerRef) v1.Layer {
	d, _ := v1.NewHash(ref.Digest)
	di, _ := v1.NewHash(ref.DiffID)
	return &cachedLayer{ref: ref, path: b.blobPath(ref.DiffID), digest: d, diffID: di}
}

func (l *cachedLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *cachedLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *cachedLayer) Size() (int64, error)                { return l.ref.Size, nil }
func (l *cachedLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }
func (l *cachedLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }

func (l *cachedLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &readCloser{Reader: zr, close: func() error { zr.Close(); return f.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }
