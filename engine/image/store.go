package image

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/berth-dev/berth/internal/fsutil"
)

// Sentinel errors of the store.
var (
	ErrNotFound  = errors.New("image not found")
	ErrAmbiguous = errors.New("ambiguous image ID prefix")
	ErrInUse     = errors.New("image is in use")
)

// Store is the on-disk image store (see the package doc for its layout).
// It is safe for concurrent use by goroutines and by processes.
type Store struct {
	root     string
	parallel int
	now      func() time.Time
}

// StoreOpt configures a Store.
type StoreOpt func(*Store)

// NewStore opens (creating if needed) the store at root.
func NewStore(root string, opts ...StoreOpt) (*Store, error) {
	s := &Store{root: root, parallel: min(max(2*runtime.NumCPU(), 4), 8), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	for _, d := range []string{filepath.Join(root, "blobs", "sha256"), filepath.Join(root, "layers"), filepath.Join(root, "locks"), filepath.Join(root, "tmp")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("image store %s: %w", root, err)
		}
	}
	return s, nil
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) blobPath(h v1.Hash) string {
	return filepath.Join(s.root, "blobs", h.Algorithm, h.Hex)
}
func (s *Store) layerPath(chain v1.Hash) string { return filepath.Join(s.root, "layers", chain.Hex) }
func (s *Store) layerLockPath(chain v1.Hash) string {
	return filepath.Join(s.root, "locks", chain.Hex+".lock")
}
func (s *Store) indexPath() string  { return filepath.Join(s.root, "index.json") }
func (s *Store) gcLockPath() string { return filepath.Join(s.root, "gc.lock") }

// index.json: every image by manifest digest, and the tags pointing at them.
type indexFile struct {
	Images map[string]*record   `json:"images"`
	Tags   map[string]tagRecord `json:"tags"`
}

type tagRecord struct {
	Manifest string    `json:"manifest"`
	Pulled   time.Time `json:"pulled,omitzero"`
}

type record struct {
	Manifest    string        `json:"manifest"`
	MediaType   string        `json:"mediaType"`
	Config      string        `json:"config"`
	Platform    string        `json:"platform,omitempty"`
	RepoDigests []string      `json:"repoDigests,omitempty"`
	Layers      []layerRecord `json:"layers"`
	Size        int64         `json:"size"`
	Created     time.Time     `json:"created,omitzero"`
	Added       time.Time     `json:"added"`
}

type layerRecord struct {
	Blob  string `json:"blob"`
	Chain string `json:"chain"`
}

func (s *Store) readIndex() (*indexFile, error) {
	idx := &indexFile{}
	if err := fsutil.ReadJSON(s.indexPath(), idx); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("image index: %w", err)
	}
	if idx.Images == nil {
		idx.Images = map[string]*record{}
	}
	if idx.Tags == nil {
		idx.Tags = map[string]tagRecord{}
	}
	return idx, nil
}

// updateIndex runs fn on the index under the index lock and writes the
// result atomically when fn succeeds.
func (s *Store) updateIndex(ctx context.Context, fn func(*indexFile) error) error {
	lk, err := fsutil.Acquire(ctx, filepath.Join(s.root, "index.lock"))
	if err != nil {
		return err
	}
	defer lk.Release()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(idx); err != nil {
		return err
	}
	return fsutil.WriteJSON(s.indexPath(), idx)
}

// Image is an image in the store.
type Image struct {
	RepoTags    []string // familiar names (nginx:latest)
	RepoDigests []string // familiar name@digest
	// LastPull is when the name the image was looked up by was last
	// pulled (zero when looked up by ID or never pulled).
	LastPull time.Time

	store  *Store
	rec    record
	config *v1.ConfigFile

	healthStartInterval time.Duration
}

// ID is the image ID, its config digest ("sha256:…").
func (i *Image) ID() string { return i.rec.Config }

// Digest is the manifest digest.
func (i *Image) Digest() string { return i.rec.Manifest }

// MediaType is the manifest's media type.
func (i *Image) MediaType() string { return i.rec.MediaType }

// Config is the image's config file.
func (i *Image) Config() *v1.ConfigFile { return i.config }

// HealthStartInterval is the image's HEALTHCHECK --start-interval (0: none).
func (i *Image) HealthStartInterval() time.Duration { return i.healthStartInterval }

// Platform is os/arch[/variant].
func (i *Image) Platform() string { return i.rec.Platform }

// Size is the unpacked size of all layers, in bytes.
func (i *Image) Size() int64 { return i.rec.Size }

// Created is the image's creation time from its config.
func (i *Image) Created() time.Time { return i.rec.Created }

// LayerDirs are the unpacked layers, lowest first (overlayfs wants the
// reverse order in lowerdir).
func (i *Image) LayerDirs() []string {
	out := make([]string, len(i.rec.Layers))
	for k, l := range i.rec.Layers {
		h, _ := v1.NewHash(l.Chain)
		out[k] = filepath.Join(i.store.layerPath(h), "diff")
	}
	return out
}

// Summary is one image in a listing.
type Summary struct {
	ID          string    `json:"ID"`
	Digest      string    `json:"Digest"`
	RepoTags    []string  `json:"RepoTags"`
	RepoDigests []string  `json:"RepoDigests"`
	Created     time.Time `json:"Created"`
	Size        int64     `json:"Size"`
	Platform    string    `json:"Platform"`
}

// List returns every image, newest first.
func (s *Store) List() ([]Summary, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	tags := tagsByManifest(idx)
	var out []Summary
	for _, rec := range idx.Images {
		out = append(out, Summary{
			ID: rec.Config, Digest: rec.Manifest, RepoTags: tags[rec.Manifest],
			RepoDigests: familiarAll(rec.RepoDigests), Created: rec.Created, Size: rec.Size, Platform: rec.Platform,
		})
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].Created.Equal(out[b].Created) {
			return out[a].Created.After(out[b].Created)
		}
		return out[a].Digest < out[b].Digest
	})
	return out, nil
}

func tagsByManifest(idx *indexFile) map[string][]string {
	out := map[string][]string{}
	for name, t := range idx.Tags {
		out[t.Manifest] = append(out[t.Manifest], familiar(name))
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

func familiarAll(full []string) []string {
	out := make([]string, len(full))
	for i, f := range full {
		out[i] = familiar(f)
	}
	return out
}

// Get finds an image by name (nginx, nginx:1, name@sha256:…), full ID
// (sha256:… or 64 hex) or unique ID prefix. Errors wrap ErrNotFound or
// ErrAmbiguous.
func (s *Store) Get(name string) (*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	rec, tr, err := lookup(idx, name)
	if err != nil {
		return nil, err
	}
	return s.load(idx, rec, tr)
}

// lookup resolves name in idx; tr is the tag it was found by, if any.
func lookup(idx *indexFile, name string) (*record, *tagRecord, error) {
	if isFullID(name) {
		if rec := byID(idx, "sha256:"+strings.TrimPrefix(name, "sha256:")); rec != nil {
			return rec, nil, nil
		}
	}
	if ref, err := ParseReference(name); err == nil {
		if ref.Digest != "" {
			for _, rec := range idx.Images {
				if rec.Manifest == ref.Digest && hasRepo(idx, rec, ref.Name()) {
					return rec, nil, nil
				}
				for _, rd := range rec.RepoDigests {
					if rd == ref.Name()+"@"+ref.Digest {
						return rec, nil, nil
					}
				}
			}
		} else if t, ok := idx.Tags[ref.String()]; ok {
			if rec := idx.Images[t.Manifest]; rec != nil {
				return rec, &t, nil
			}
		}
	}
	if prefix, ok := idPrefix(name); ok {
		var found *record
		for _, rec := range idx.Images {
			if strings.HasPrefix(strings.TrimPrefix(rec.Config, "sha256:"), prefix) {
				if found != nil && found.Config != rec.Config {
					return nil, nil, fmt.Errorf("image %s: %w", name, ErrAmbiguous)
				}
				if found == nil || rec.Manifest < found.Manifest {
					found = rec
				}
			}
		}
		if found != nil {
			return found, nil, nil
		}
	}
	return nil, nil, fmt.Errorf("image %s: %w", name, ErrNotFound)
}

// hasRepo reports whether rec is known under repository repo (a tag or a
// repo digest), so that name@digest does not match another repository.
func hasRepo(idx *indexFile, rec *record, repo string) bool {
	for name, t := range idx.Tags {
		if t.Manifest == rec.Manifest && strings.HasPrefix(name, repo+":") {
			return true
		}
	}
	for _, rd := range rec.RepoDigests {
		if strings.HasPrefix(rd, repo+"@") {
			return true
		}
	}
	return false
}

func byID(idx *indexFile, id string) *record {
	var found *record
	for _, rec := range idx.Images {
		if rec.Config == id && (found == nil || rec.Manifest < found.Manifest) {
			found = rec
		}
	}
	return found
}

func isFullID(s string) bool {
	p, ok := idPrefix(s)
	return ok && len(p) == 64
}

// idPrefix accepts "sha256:<hex>" or bare hex of at least 4 characters.
func idPrefix(s string) (string, bool) {
	p := strings.TrimPrefix(s, "sha256:")
	if len(p) < 4 || len(p) > 64 {
		return "", false
	}
	for _, c := range p {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return "", false
		}
	}
	return p, true
}

func (s *Store) load(idx *indexFile, rec *record, tr *tagRecord) (*Image, error) {
	cfgHash, err := v1.NewHash(rec.Config)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", rec.Manifest, err)
	}
	raw, err := os.ReadFile(s.blobPath(cfgHash))
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", rec.Config, err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", rec.Config, err)
	}
	// Docker's HEALTHCHECK --start-interval, which go-containerregistry's
	// config type lacks.
	var extra struct {
		Config struct {
			Healthcheck *struct{ StartInterval time.Duration }
		} `json:"config"`
	}
	_ = json.Unmarshal(raw, &extra)
	img := &Image{
		RepoTags:    tagsByManifest(idx)[rec.Manifest],
		RepoDigests: familiarAll(rec.RepoDigests),
		store:       s, rec: *rec, config: cfg,
	}
	if h := extra.Config.Healthcheck; h != nil {
		img.healthStartInterval = h.StartInterval
	}
	if tr != nil {
		img.LastPull = tr.Pulled
	}
	return img, nil
}

// Tag points dst (a name, tagged "latest" when no tag is given) at the
// image src names.
func (s *Store) Tag(ctx context.Context, src, dst string) error {
	ref, err := ParseReference(dst)
	if err != nil {
		return err
	}
	if ref.Digest != "" {
		return fmt.Errorf("tag %s: %w: a tag cannot contain a digest", dst, ErrInvalidReference)
	}
	return s.updateIndex(ctx, func(idx *indexFile) error {
		rec, _, err := lookup(idx, src)
		if err != nil {
			return err
		}
		idx.Tags[ref.String()] = tagRecord{Manifest: rec.Manifest}
		return nil
	})
}
