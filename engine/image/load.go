package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrBadArchive is wrapped when a tarball is neither a `docker save`
// archive nor an OCI image layout.
var ErrBadArchive = errors.New("not an image archive")

// Load imports every image of a `docker save` tarball or an OCI image
// layout tarball (detected by content) read from r; a plain or compressed
// (gzip, zstd) tar is accepted. It returns the loaded names in Docker's
// short form, or "sha256:<id>" for an image without a name.
func (s *Store) Load(ctx context.Context, r io.Reader, progress ProgressFunc) ([]string, error) {
	ra, size, cleanup, err := s.spool(r)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	arc, err := indexTar(io.NewSectionReader(ra, 0, size))
	if err != nil {
		return nil, err
	}
	var imgs []loadable
	switch {
	case arc.has("index.json") && arc.has("oci-layout"):
		imgs, err = arc.ociImages()
	case arc.has("manifest.json"):
		imgs, err = arc.dockerImages()
	default:
		err = fmt.Errorf("%w: no manifest.json (docker save) nor oci-layout and index.json (OCI layout) in it", ErrBadArchive)
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var loaded []string
	for _, l := range imgs {
		label := "sha256:" + shortID(l.id)
		if len(l.tags) > 0 {
			label = familiar(l.tags[0])
		}
		img, err := s.Import(ctx, l.img, ImportOptions{Tags: l.tags, Label: label, Progress: progress})
		if err != nil {
			return loaded, fmt.Errorf("load %s: %w", label, err)
		}
		if len(l.tags) == 0 {
			loaded = append(loaded, img.ID())
		}
		for _, t := range l.tags {
			loaded = append(loaded, familiar(t))
		}
	}
	return loaded, nil
}

type loadable struct {
	img  v1.Image
	id   string
	tags []string
}

// spool gives random access to r: a regular file is used as is, anything
// else (a pipe, stdin, a compressed stream) is decompressed into a temp
// file under the store.
func (s *Store) spool(r io.Reader) (io.ReaderAt, int64, func(), error) {
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			var magic [4]byte
			if n, _ := f.ReadAt(magic[:], 0); n == 4 && !bytes.HasPrefix(magic[:], gzipMagic) && !bytes.HasPrefix(magic[:], zstdMagic) {
				return f, fi.Size(), func() {}, nil
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return nil, 0, nil, err
			}
		}
	}
	tmp, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "load-*.tar")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	dr, err := decompress(bufio.NewReaderSize(r, 1<<20))
	if err != nil {
		cleanup()
		return nil, 0, nil, fmt.Errorf("load: %w", err)
	}
	n, err := io.Copy(tmp, dr)
	dr.Close()
	if err != nil {
		cleanup()
		return nil, 0, nil, fmt.Errorf("load: read archive: %w", err)
	}
	return tmp, n, cleanup, nil
}

// tarIndex locates the regular files of a tar for random access.
type tarIndex struct {
	r     io.ReaderAt
	files map[string][2]int64 // cleaned name → offset, size
}

func indexTar(sr *io.SectionReader) (*tarIndex, error) {
	ix := &tarIndex{r: sr, files: map[string][2]int64{}}
	tr := tar.NewReader(sr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("load: %w: %v", ErrBadArchive, err)
		}
		if hdr.Typeflag != tar.TypeReg { // the reader turns the old TypeRegA into TypeReg
			continue
		}
		off, err := sr.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		ix.files[path.Clean(strings.TrimLeft(hdr.Name, "/"))] = [2]int64{off, hdr.Size}
	}
	return ix, nil
}

func (ix *tarIndex) has(name string) bool { _, ok := ix.files[name]; return ok }

func (ix *tarIndex) open(name string) (*io.SectionReader, error) {
	f, ok := ix.files[path.Clean(strings.TrimLeft(name, "/"))]
	if !ok {
		return nil, fmt.Errorf("%w: %s is missing", ErrBadArchive, name)
	}
	return io.NewSectionReader(ix.r, f[0], f[1]), nil
}

func (ix *tarIndex) read(name string) ([]byte, error) {
	sr, err := ix.open(name)
	if err != nil {
		return nil, err
	}
	if sr.Size() > 64<<20 {
		return nil, fmt.Errorf("%w: %s is too large for metadata", ErrBadArchive, name)
	}
	return io.ReadAll(sr)
}

func (ix *tarIndex) openBlob(h v1.Hash) (io.ReadCloser, error) {
	sr, err := ix.open(blobName(h))
	if err != nil {
		return nil, err
	}
	return io.NopCloser(sr), nil
}

// ociImages reads an OCI layout's index.json; nested indexes give the
// default platform's image. Names come from the annotations, or from a
// docker manifest.json beside it.
func (ix *tarIndex) ociImages() ([]loadable, error) {
	data, err := ix.read("index.json")
	if err != nil {
		return nil, err
	}
	var index v1.IndexManifest
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("%w: index.json: %v", ErrBadArchive, err)
	}
	w := &ociWalker{ix: ix, dockerTags: map[string][]string{}, byManifest: map[v1.Hash]*loadable{}}
	if ix.has("manifest.json") {
		if entries, err := ix.dockerManifest(); err == nil {
			w.dockerTags = tagsByConfig(entries)
		}
	}
	if err := w.walk(index.Manifests, 0); err != nil {
		return nil, err
	}
	res := make([]loadable, len(w.out))
	for i, l := range w.out {
		res[i] = *l
	}
	return res, nil
}

// tagsByConfig maps the config digest of each image of a docker
// manifest.json to its names.
func tagsByConfig(entries []dockerManifestEntry) map[string][]string {
	tags := map[string][]string{}
	for _, e := range entries {
		cfg := "sha256:" + strings.TrimSuffix(path.Base(e.Config), ".json")
		tags[cfg] = append(tags[cfg], e.RepoTags...)
	}
	return tags
}

// ociWalker collects the images of an OCI layout's index, each once
// however many descriptors name it, in the order first met.
type ociWalker struct {
	ix         *tarIndex
	dockerTags map[string][]string // config digest → names, from manifest.json
	byManifest map[v1.Hash]*loadable
	out        []*loadable
}

// walk visits the descriptors of an index depth levels down.
func (w *ociWalker) walk(descs []v1.Descriptor, depth int) error {
	for _, d := range descs {
		name := imageName(d.Annotations)
		switch {
		case d.MediaType.IsIndex():
			if err := w.index(d, name, depth); err != nil {
				return err
			}
		case d.MediaType.IsImage() || d.MediaType == "":
			if err := w.image(d, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// index walks into a nested index, to its image for the default
// platform, which takes the index's name.
func (w *ociWalker) index(d v1.Descriptor, name string, depth int) error {
	if depth > 4 {
		return fmt.Errorf("%w: indexes nested too deep", ErrBadArchive)
	}
	raw, err := w.ix.readBlob(d.Digest)
	if err != nil {
		return err
	}
	var sub v1.IndexManifest
	if err := json.Unmarshal(raw, &sub); err != nil {
		return fmt.Errorf("%w: index %s: %v", ErrBadArchive, d.Digest, err)
	}
	want, _ := parsePlatform("")
	h, err := choosePlatform(sub.Manifests, want)
	if err != nil {
		return fmt.Errorf("index %s: %w", d.Digest, err)
	}
	for _, m := range sub.Manifests {
		if m.Digest == h {
			if name != "" {
				m.Annotations = map[string]string{annotationImageName: name}
			}
			if err := w.walk([]v1.Descriptor{m}, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// image adds the image of manifest d (once), named by name and by the
// docker manifest's names of its config.
func (w *ociWalker) image(d v1.Descriptor, name string) error {
	l := w.byManifest[d.Digest]
	if l == nil {
		raw, err := w.ix.readBlob(d.Digest)
		if err != nil {
			return err
		}
		var m v1.Manifest
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("%w: manifest %s: %v", ErrBadArchive, d.Digest, err)
		}
		rawConfig, err := w.ix.readBlob(m.Config.Digest)
		if err != nil {
			return err
		}
		img, err := newBlobImage(raw, rawConfig, w.ix.openBlob)
		if err != nil {
			return err
		}
		l = &loadable{img: img, id: m.Config.Digest.String()}
		for _, t := range w.dockerTags[l.id] {
			l.tags = appendNew(l.tags, fullName(t))
		}
		w.byManifest[d.Digest] = l
		w.out = append(w.out, l)
	}
	if name != "" {
		l.tags = appendNew(l.tags, fullName(name))
	}
	return nil
}

// imageName is the image name of an OCI descriptor's annotations; a bare
// tag in org.opencontainers.image.ref.name names nothing by itself.
func imageName(a map[string]string) string {
	if n := a[annotationImageName]; n != "" {
		return n
	}
	if n := a[annotationRefName]; strings.ContainsAny(n, "/:") {
		if _, err := ParseReference(n); err == nil {
			return n
		}
	}
	return ""
}

func (ix *tarIndex) readBlob(h v1.Hash) ([]byte, error) {
	data, err := ix.read(blobName(h))
	if err != nil {
		return nil, err
	}
	if got := sha256Hash(data); got != h {
		return nil, fmt.Errorf("blob %s: %w: content hashes to %s", h, ErrDigestMismatch, got)
	}
	return data, nil
}

func (ix *tarIndex) dockerManifest() ([]dockerManifestEntry, error) {
	data, err := ix.read("manifest.json")
	if err != nil {
		return nil, err
	}
	var entries []dockerManifestEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("%w: manifest.json: %v", ErrBadArchive, err)
	}
	return entries, nil
}

// dockerImages reads a `docker save` manifest.json. Layers are stored as
// they are in the archive (a classic uncompressed layer.tar becomes an
// uncompressed OCI layer), so nothing is recompressed; the image ID (the
// config digest) is kept.
func (ix *tarIndex) dockerImages() ([]loadable, error) {
	entries, err := ix.dockerManifest()
	if err != nil {
		return nil, err
	}
	var out []loadable
	for _, e := range entries {
		rawConfig, err := ix.read(e.Config)
		if err != nil {
			return nil, err
		}
		m := v1.Manifest{
			SchemaVersion: 2,
			MediaType:     types.OCIManifestSchema1,
			Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: sha256Hash(rawConfig), Size: int64(len(rawConfig))},
		}
		files := map[v1.Hash]string{m.Config.Digest: e.Config}
		for _, lp := range e.Layers {
			d, err := ix.describeLayer(lp)
			if err != nil {
				return nil, err
			}
			files[d.Digest] = lp
			m.Layers = append(m.Layers, d)
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		img, err := newBlobImage(raw, rawConfig, func(h v1.Hash) (io.ReadCloser, error) {
			sr, err := ix.open(files[h])
			if err != nil {
				return nil, err
			}
			return io.NopCloser(sr), nil
		})
		if err != nil {
			return nil, err
		}
		l := loadable{img: img, id: m.Config.Digest.String()}
		for _, t := range e.RepoTags {
			if _, err := ParseReference(t); err != nil {
				return nil, fmt.Errorf("%w: manifest.json: %v", ErrBadArchive, err)
			}
			l.tags = append(l.tags, t)
		}
		out = append(out, l)
	}
	return out, nil
}

// describeLayer hashes a layer file of the archive and tells its
// compression from its first bytes.
func (ix *tarIndex) describeLayer(name string) (v1.Descriptor, error) {
	sr, err := ix.open(name)
	if err != nil {
		return v1.Descriptor{}, err
	}
	var magic [4]byte
	n, _ := sr.ReadAt(magic[:], 0)
	mt := types.OCIUncompressedLayer
	switch {
	case bytes.HasPrefix(magic[:n], gzipMagic):
		mt = types.OCILayer
	case bytes.HasPrefix(magic[:n], zstdMagic):
		mt = types.OCILayerZStd
	}
	h := sha256.New()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	if _, err := io.CopyBuffer(h, sr, *bp); err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Size: sr.Size(), Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}}, nil
}

// fullName normalizes a name for comparison ("app:1" and
// "docker.io/library/app:1" are one name); a bad name is kept for Import
// to report.
func fullName(n string) string {
	if r, err := ParseReference(n); err == nil {
		return r.String()
	}
	return n
}
