package image

import (
	"bytes"
	"fmt"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// blobOpener opens a blob by digest.
type blobOpener func(h v1.Hash) (io.ReadCloser, error)

// blobImage is a v1.Image over a raw manifest and config and a source of
// blobs: the store itself (for save) or a tarball being loaded.
type blobImage struct {
	rawManifest []byte
	rawConfig   []byte
	manifest    *v1.Manifest
	open        blobOpener
}

func newBlobImage(rawManifest, rawConfig []byte, open blobOpener) (v1.Image, error) {
	m, err := v1.ParseManifest(bytes.NewReader(rawManifest))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return partial.CompressedToImage(&blobImage{rawManifest: rawManifest, rawConfig: rawConfig, manifest: m, open: open})
}

func (b *blobImage) RawManifest() ([]byte, error)   { return b.rawManifest, nil }
func (b *blobImage) RawConfigFile() ([]byte, error) { return b.rawConfig, nil }
func (b *blobImage) MediaType() (types.MediaType, error) {
	if b.manifest.MediaType != "" {
		return b.manifest.MediaType, nil
	}
	return types.OCIManifestSchema1, nil
}

func (b *blobImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, d := range b.manifest.Layers {
		if d.Digest == h {
			return &blobLayer{desc: d, open: b.open}, nil
		}
	}
	if b.manifest.Config.Digest == h {
		return &blobLayer{desc: b.manifest.Config, open: b.open}, nil
	}
	return nil, fmt.Errorf("blob %s is not part of the image", h)
}

type blobLayer struct {
	desc v1.Descriptor
	open blobOpener
}

func (l *blobLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *blobLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error)  { return l.open(l.desc.Digest) }

// openBlob opens a blob of the store.
func (s *Store) openBlob(h v1.Hash) (io.ReadCloser, error) {
	f, err := os.Open(s.blobPath(h))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", h, err)
	}
	return f, nil
}

// v1Image returns the stored image rec as a v1.Image.
func (s *Store) v1Image(rec *record) (v1.Image, error) {
	m, err := v1.NewHash(rec.Manifest)
	if err != nil {
		return nil, err
	}
	c, err := v1.NewHash(rec.Config)
	if err != nil {
		return nil, err
	}
	rawManifest, err := os.ReadFile(s.blobPath(m))
	if err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", shortID(rec.Config), err)
	}
	rawConfig, err := os.ReadFile(s.blobPath(c))
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", shortID(rec.Config), err)
	}
	return newBlobImage(rawManifest, rawConfig, s.openBlob)
}

// V1Image returns the image as a go-containerregistry v1.Image backed by
// the store's blobs (for pushing, saving or inspecting).
func (i *Image) V1Image() (v1.Image, error) { return i.store.v1Image(&i.rec) }
