package image

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations naming an image in an OCI layout (containerd's and the OCI
// spec's; Docker writes both).
const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = "org.opencontainers.image.ref.name"
)

// dockerManifestEntry is one image of a `docker save` manifest.json.
type dockerManifestEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// Save writes the named images as one tarball that is both a `docker save`
// archive (manifest.json) and an OCI image layout (oci-layout, index.json,
// blobs/sha256/…), as Docker 25 and later write it: `docker load`, older
// loaders and OCI tools read it, and loading it back keeps every digest.
// A name saves that tag; an ID saves the image with all its tags.
func (s *Store) Save(ctx context.Context, w io.Writer, names ...string) error {
	if len(names) == 0 {
		return fmt.Errorf("save: no image named")
	}
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	entries, err := saveSelection(idx, names)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	written := map[v1.Hash]bool{}
	var ociIndex v1.IndexManifest
	ociIndex.SchemaVersion = 2
	ociIndex.MediaType = types.OCIImageIndex
	var dockerManifest []dockerManifestEntry
	if err := writeTarFile(tw, "oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	for _, e := range entries {
		descs, de, err := s.saveImage(ctx, tw, e, written)
		if err != nil {
			return err
		}
		ociIndex.Manifests = append(ociIndex.Manifests, descs...)
		dockerManifest = append(dockerManifest, de)
	}
	for name, v := range map[string]any{"index.json": ociIndex, "manifest.json": dockerManifest} {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := writeTarFile(tw, name, data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// saveEntry is one image a save writes, with the tags it is saved under
// (full names).
type saveEntry struct {
	rec  *record
	tags []string
}

// saveSelection resolves the names of a save to the images they name, in
// the order first named: a tag adds itself, an ID every tag of the image.
func saveSelection(idx *indexFile, names []string) ([]*saveEntry, error) {
	var order []*saveEntry
	entries := map[string]*saveEntry{}
	for _, n := range names {
		rec, tr, err := lookup(idx, n)
		if err != nil {
			return nil, fmt.Errorf("save: %w", err)
		}
		e := entries[rec.Manifest]
		if e == nil {
			e = &saveEntry{rec: rec}
			entries[rec.Manifest] = e
			order = append(order, e)
		}
		if tr != nil {
			ref, _ := ParseReference(n)
			e.tags = appendNew(e.tags, ref.String())
			continue
		}
		for t, r := range idx.Tags {
			if r.Manifest == rec.Manifest {
				e.tags = appendNew(e.tags, t)
			}
		}
	}
	return order, nil
}

// saveImage writes the blobs of one image not written yet and returns its
// entries of index.json and manifest.json.
func (s *Store) saveImage(ctx context.Context, tw *tar.Writer, e *saveEntry, written map[v1.Hash]bool) ([]v1.Descriptor, dockerManifestEntry, error) {
	var de dockerManifestEntry
	img, err := s.v1Image(e.rec)
	if err != nil {
		return nil, de, err
	}
	man, err := img.Manifest()
	if err != nil {
		return nil, de, err
	}
	mh, _ := v1.NewHash(e.rec.Manifest)
	blobs := []v1.Hash{mh, man.Config.Digest}
	de = dockerManifestEntry{Config: blobName(man.Config.Digest), RepoTags: []string{}}
	for _, l := range man.Layers {
		blobs = append(blobs, l.Digest)
		de.Layers = append(de.Layers, blobName(l.Digest))
	}
	for _, b := range blobs {
		if written[b] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, de, err
		}
		if err := s.writeTarBlob(tw, b); err != nil {
			return nil, de, fmt.Errorf("save %s: %w", shortID(e.rec.Config), err)
		}
		written[b] = true
	}
	fi, err := os.Stat(s.blobPath(mh))
	if err != nil {
		return nil, de, err
	}
	desc := v1.Descriptor{MediaType: types.MediaType(e.rec.MediaType), Digest: mh, Size: fi.Size()}
	descs, repoTags := taggedDescriptors(desc, e.tags)
	de.RepoTags = append(de.RepoTags, repoTags...)
	return descs, de, nil
}

// taggedDescriptors gives an image's manifest descriptor once per tag,
// annotated with the full name and the tag as containerd and OCI tools
// read them (untagged: once, bare), and the tags as docker names them.
func taggedDescriptors(desc v1.Descriptor, tags []string) (descs []v1.Descriptor, repoTags []string) {
	if len(tags) == 0 {
		descs = append(descs, desc)
	}
	for _, t := range tags {
		ref, _ := ParseReference(t)
		d := desc
		d.Annotations = map[string]string{annotationImageName: t, annotationRefName: ref.Tag}
		descs = append(descs, d)
		repoTags = append(repoTags, ref.Familiar())
	}
	return descs, repoTags
}

func blobName(h v1.Hash) string { return path.Join("blobs", h.Algorithm, h.Hex) }

func (s *Store) writeTarBlob(tw *tar.Writer, h v1.Hash) error {
	f, err := os.Open(s.blobPath(h))
	if err != nil {
		return fmt.Errorf("blob %s: %w", h, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(tarHeader(blobName(h), fi.Size())); err != nil {
		return err
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	_, err = io.CopyBuffer(tw, f, *bp)
	return err
}

func writeTarFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(tarHeader(name, int64(len(data)))); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

func tarHeader(name string, size int64) *tar.Header {
	return &tar.Header{Name: name, Size: size, Mode: 0o644, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
}

func appendNew(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
