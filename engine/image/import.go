package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/internal/fsutil"
)

// ImportOptions say what to record about an imported image.
type ImportOptions struct {
	Tags       []string // names to point at the image (tag "latest" when none)
	RepoDigest string   // name@digest it was pulled by (an index digest for multi-platform images)
	Pulled     bool     // record now as the tags' pull time (pull_policy daily, weekly…)
	Label      string   // how progress events name the image
	Progress   ProgressFunc
}

// Import stores img: its layers (fetched and unpacked in parallel, each
// once even across processes, skipped when present), config and manifest,
// then points the tags at it. On error the store is left as it was.
func (s *Store) Import(ctx context.Context, img v1.Image, opts ImportOptions) (*Image, error) {
	var tags []string
	for _, t := range opts.Tags {
		ref, err := ParseReference(t)
		if err != nil {
			return nil, err
		}
		if ref.Tag == "" {
			continue // name@digest: recorded as a repo digest, not a tag
		}
		tags = append(tags, ref.WithTag(ref.Tag).String())
	}
	gl, err := s.lockGC(ctx, false)
	if err != nil {
		return nil, err
	}
	var made created
	imported, err := s.importLocked(ctx, img, opts, tags, &made)
	gl.Release()
	if err != nil {
		s.rollback(&made)
		return nil, err
	}
	return imported, nil
}

func (s *Store) importLocked(ctx context.Context, img v1.Image, opts ImportOptions, tags []string, made *created) (*Image, error) {
	m, err := readImageMeta(img)
	if err != nil {
		return nil, err
	}
	chains := chainIDs(m.diffIDs)
	sizes, err := s.ensureLayers(ctx, img, m, chains, opts, made)
	if err != nil {
		return nil, err
	}
	for _, b := range []struct {
		h    v1.Hash
		data []byte
	}{{m.manifest.Config.Digest, m.rawConfig}, {m.digest, m.rawManifest}} {
		ok, err := s.writeBlob(b.h, b.data)
		if err != nil {
			return nil, err
		}
		if ok {
			made.add(b.h, v1.Hash{})
		}
	}
	rec := m.record(chains, sizes, s.now().UTC())
	var result *Image
	err = s.updateIndex(ctx, func(idx *indexFile) error {
		tr := indexImage(idx, rec, tags, opts, s.now)
		var err error
		result, err = s.load(idx, rec, tr)
		return err
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// imageMeta is what an import reads of an image before its layers: the
// manifest and config, raw and parsed, checked against each other.
type imageMeta struct {
	rawManifest, rawConfig []byte
	digest                 v1.Hash // of the manifest
	manifest               *v1.Manifest
	mediaType              string
	cfg                    *v1.ConfigFile
	diffIDs                []v1.Hash
}

// readImageMeta reads img's manifest and config; the config must hash to
// the manifest's digest of it and list a diff ID for each layer.
func readImageMeta(img v1.Image) (*imageMeta, error) {
	rawManifest, err := img.RawManifest()
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	m := &imageMeta{rawManifest: rawManifest, digest: sha256Hash(rawManifest)}
	if m.manifest, err = v1.ParseManifest(bytes.NewReader(rawManifest)); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", m.digest, err)
	}
	m.mediaType = string(m.manifest.MediaType)
	if m.mediaType == "" {
		if mt, err := img.MediaType(); err == nil {
			m.mediaType = string(mt)
		}
	}
	cd := m.manifest.Config.Digest
	if m.rawConfig, err = img.RawConfigFile(); err != nil {
		return nil, fmt.Errorf("config %s: %w", cd, err)
	}
	if got := sha256Hash(m.rawConfig); got != cd {
		return nil, fmt.Errorf("config %s: %w: content hashes to %s", cd, ErrDigestMismatch, got)
	}
	if m.cfg, err = v1.ParseConfigFile(bytes.NewReader(m.rawConfig)); err != nil {
		return nil, fmt.Errorf("config %s: %w", cd, err)
	}
	m.diffIDs = m.cfg.RootFS.DiffIDs
	if len(m.diffIDs) != len(m.manifest.Layers) {
		return nil, fmt.Errorf("manifest %s has %d layers but its config lists %d diff IDs", m.digest, len(m.manifest.Layers), len(m.diffIDs))
	}
	return m, nil
}

// ensureLayers brings every layer of the image into the store, s.parallel
// at a time, and returns their unpacked sizes.
func (s *Store) ensureLayers(ctx context.Context, img v1.Image, m *imageMeta, chains []v1.Hash, opts ImportOptions, made *created) ([]int64, error) {
	label := opts.Label
	for _, d := range m.manifest.Layers {
		opts.Progress.send(Event{Image: label, Layer: short(d.Digest), Status: StatusWaiting, Total: d.Size})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.parallel)
	sizes := make([]int64, len(m.manifest.Layers))
	for i, d := range m.manifest.Layers {
		g.Go(func() error {
			n, err := s.ensureLayer(gctx, img, d, m.diffIDs[i], chains[i], label, opts.Progress, made)
			if err != nil {
				opts.Progress.send(Event{Image: label, Layer: short(d.Digest), Status: StatusFailed})
				return fmt.Errorf("layer %s: %w", d.Digest, err)
			}
			sizes[i] = n
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return sizes, nil
}

// record is the index record of the imported image, added at now.
func (m *imageMeta) record(chains []v1.Hash, sizes []int64, now time.Time) *record {
	rec := &record{
		Manifest: m.digest.String(), MediaType: m.mediaType, Config: m.manifest.Config.Digest.String(),
		Platform: platformOf(m.cfg), Created: m.cfg.Created.Time, Added: now,
	}
	for i, d := range m.manifest.Layers {
		rec.Layers = append(rec.Layers, layerRecord{Blob: d.Digest.String(), Chain: chains[i].String()})
		rec.Size += sizes[i]
	}
	return rec
}

// indexImage puts rec into idx, keeping the repo digests and added time
// of an image imported before and adding opts.RepoDigest, and points
// tags at it (marked pulled at now() for a pull). It returns the last
// tag's record, nil without tags.
func indexImage(idx *indexFile, rec *record, tags []string, opts ImportOptions, now func() time.Time) *tagRecord {
	if old := idx.Images[rec.Manifest]; old != nil {
		rec.RepoDigests = old.RepoDigests
		rec.Added = old.Added
	}
	if opts.RepoDigest != "" {
		ref, err := ParseReference(opts.RepoDigest)
		if err == nil && ref.Digest != "" {
			rd := ref.Name() + "@" + ref.Digest
			if !slices.Contains(rec.RepoDigests, rd) {
				rec.RepoDigests = append(rec.RepoDigests, rd)
			}
		}
	}
	idx.Images[rec.Manifest] = rec
	var tr *tagRecord
	for _, t := range tags {
		nt := tagRecord{Manifest: rec.Manifest}
		if opts.Pulled {
			nt.Pulled = now().UTC()
		}
		idx.Tags[t] = nt
		tr = &nt
	}
	return tr
}

// ensureLayer makes sure the layer's blob and unpacked dir are in the
// store, and returns its unpacked size. The per-layer flock makes a second
// importer (goroutine or process) wait and then find the layer present.
func (s *Store) ensureLayer(ctx context.Context, img v1.Image, d v1.Descriptor, diffID, chain v1.Hash, label string, progress ProgressFunc, made *created) (int64, error) {
	ev := Event{Image: label, Layer: short(d.Digest), Total: d.Size}
	send := func(st Status, cur int64) {
		e := ev
		e.Status, e.Current = st, cur
		progress.send(e)
	}
	if s.haveLayer(chain, d.Digest) {
		send(StatusAlreadyExists, d.Size)
		return s.layerSize(chain), nil
	}
	lk, err := fsutil.Acquire(ctx, s.layerLockPath(chain))
	if err != nil {
		return 0, err
	}
	defer lk.Release()
	haveDir, haveBlob := exists(s.layerPath(chain)), exists(s.blobPath(d.Digest))
	if haveDir && haveBlob {
		send(StatusAlreadyExists, d.Size)
		return s.layerSize(chain), nil
	}
	if haveBlob { // verified when written: unpack from it
		return s.unpackBlob(ctx, d, diffID, chain, send, made)
	}
	return s.fetchLayer(ctx, img, d, diffID, chain, haveDir, send, made)
}

// unpackBlob unpacks a layer whose blob the store holds already.
func (s *Store) unpackBlob(ctx context.Context, d v1.Descriptor, diffID, chain v1.Hash, send func(Status, int64), made *created) (int64, error) {
	f, err := os.Open(s.blobPath(d.Digest))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	send(StatusExtracting, 0)
	tmp, n, err := s.unpackTemp(ctx, f, diffID, chain)
	if err != nil {
		return 0, err
	}
	if err := s.commitLayer(tmp, chain); err != nil {
		return 0, err
	}
	made.add(v1.Hash{}, chain)
	send(StatusPullComplete, d.Size)
	return n, nil
}

// fetchLayer reads the layer's compressed stream once, writing its blob
// and, unless the unpacked dir is there already (haveDir), unpacking it.
func (s *Store) fetchLayer(ctx context.Context, img v1.Image, d v1.Descriptor, diffID, chain v1.Hash, haveDir bool, send func(Status, int64), made *created) (int64, error) {
	layer, err := img.LayerByDigest(d.Digest)
	if err != nil {
		return 0, err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	bw, err := s.newBlobWriter(d.Digest, d.Size)
	if err != nil {
		return 0, err
	}
	pr := &progressReader{r: rc, step: 256 << 10, report: func(n int64) { send(StatusDownloading, n) }}
	send(StatusDownloading, 0)
	src := io.TeeReader(pr, bw)
	var tmp string
	var n int64
	if haveDir {
		_, err = io.Copy(io.Discard, src)
	} else {
		tmp, n, err = s.unpackTemp(ctx, src, diffID, chain)
	}
	if err != nil {
		bw.Abort()
		return 0, err
	}
	if err := bw.Commit(); err != nil {
		os.RemoveAll(tmp)
		return 0, err
	}
	made.add(d.Digest, v1.Hash{})
	if haveDir {
		return s.layerSize(chain), nil
	}
	if err := s.commitLayer(tmp, chain); err != nil {
		return 0, err
	}
	made.add(v1.Hash{}, chain)
	send(StatusPullComplete, d.Size)
	return n, nil
}

// unpackTemp unpacks the (compressed) layer stream r into a temp dir
// beside the layer's final place and checks the uncompressed content
// against diffID. It reads r to its end, so a tee on r sees all of it.
func (s *Store) unpackTemp(ctx context.Context, r io.Reader, diffID, chain v1.Hash) (_ string, size int64, err error) {
	tmp, err := os.MkdirTemp(filepath.Join(s.root, "layers"), ".tmp-"+chain.Hex[:12]+"-")
	if err != nil {
		return "", 0, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Mkdir(filepath.Join(tmp, "diff"), 0o755); err != nil {
		return "", 0, err
	}
	br := bufio.NewReaderSize(r, 1<<20)
	dr, err := decompress(br)
	if err != nil {
		return "", 0, err
	}
	defer dr.Close()
	h := sha256.New()
	ur := io.TeeReader(dr, h)
	size, err = Unpack(ctx, ur, filepath.Join(tmp, "diff"))
	if err != nil {
		return "", 0, err
	}
	// The tar end marker may leave padding; the compressed stream may have
	// trailing bytes. Both count for the digests.
	if _, err := io.Copy(io.Discard, ur); err != nil {
		return "", 0, err
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return "", 0, err
	}
	if got := (v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}); got != diffID {
		return "", 0, fmt.Errorf("%w: uncompressed content hashes to %s, config says %s", ErrDigestMismatch, got, diffID)
	}
	if err := os.WriteFile(filepath.Join(tmp, "size"), []byte(strconv.FormatInt(size, 10)), 0o644); err != nil {
		return "", 0, err
	}
	return tmp, size, nil
}

// commitLayer flushes the unpacked layer to disk and renames it into place.
func (s *Store) commitLayer(tmp string, chain v1.Hash) error {
	if f, err := os.Open(tmp); err == nil {
		err = unix.Syncfs(int(f.Fd()))
		f.Close()
		if err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("layer %s: sync: %w", chain, err)
		}
	}
	if err := os.Rename(tmp, s.layerPath(chain)); err != nil {
		os.RemoveAll(tmp)
		if exists(s.layerPath(chain)) {
			return nil
		}
		return fmt.Errorf("layer %s: %w", chain, err)
	}
	return nil
}

func (s *Store) haveLayer(chain, blob v1.Hash) bool {
	return exists(s.layerPath(chain)) && exists(s.blobPath(blob))
}

func (s *Store) layerSize(chain v1.Hash) int64 {
	b, err := os.ReadFile(filepath.Join(s.layerPath(chain), "size"))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// created lists what one import added, so a failed import can take it
// back out.
type created struct {
	mu     sync.Mutex
	blobs  []v1.Hash
	chains []v1.Hash
}

func (c *created) add(blob, chain v1.Hash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if blob.Hex != "" {
		c.blobs = append(c.blobs, blob)
	}
	if chain.Hex != "" {
		c.chains = append(c.chains, chain)
	}
}

// rollback removes what a failed import added, unless an image in the
// index uses it. It needs the gc lock exclusively; when another import is
// running (and may be relying on those layers) it leaves them to prune.
func (s *Store) rollback(c *created) {
	if len(c.blobs) == 0 && len(c.chains) == 0 {
		return
	}
	gl, ok, err := s.tryLockGC(true)
	if err != nil || !ok {
		return
	}
	defer gl.Release()
	idx, err := s.readIndex()
	if err != nil {
		return
	}
	usedBlobs, usedChains := referenced(idx)
	for _, b := range c.blobs {
		if !usedBlobs[b.String()] {
			os.Remove(s.blobPath(b))
		}
	}
	for _, ch := range c.chains {
		if !usedChains[ch.String()] {
			s.removeLayerDir(ch)
		}
	}
}

// removeLayerDir moves the layer dir aside (atomically invisible) and then
// deletes it.
func (s *Store) removeLayerDir(chain v1.Hash) error {
	trash, err := os.MkdirTemp(filepath.Join(s.root, "tmp"), "rm-")
	if err != nil {
		return err
	}
	if err := os.Rename(s.layerPath(chain), filepath.Join(trash, "layer")); err != nil && !errors.Is(err, os.ErrNotExist) {
		os.Remove(trash)
		return err
	}
	return os.RemoveAll(trash)
}

func referenced(idx *indexFile) (blobs, chains map[string]bool) {
	blobs, chains = map[string]bool{}, map[string]bool{}
	for _, rec := range idx.Images {
		blobs[rec.Manifest], blobs[rec.Config] = true, true
		for _, l := range rec.Layers {
			blobs[l.Blob], chains[l.Chain] = true, true
		}
	}
	return blobs, chains
}

func platformOf(cfg *v1.ConfigFile) string {
	p := cfg.OS + "/" + cfg.Architecture
	if cfg.Variant != "" {
		p += "/" + cfg.Variant
	}
	return p
}

func short(h v1.Hash) string {
	if len(h.Hex) < 12 {
		return h.Hex
	}
	return h.Hex[:12]
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
