package image

import (
	"errors"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"os"
	"slices"
	"strings"
	"testing"
)

func importT(t *testing.T, s *Store, tag string, layers ...v1.Layer) *Image {
	t.Helper()
	img, err := s.Import(t.Context(), imageOf(t, layers...), ImportOptions{Tags: []string{tag}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestTagRemovePrune(t *testing.T) {
	s := newTestStore(t)
	base := layerOf(t, "", file("base", "b"))
	a := importT(t, s, "app:1", base, layerOf(t, "", file("a", "a")))
	b := importT(t, s, "other:1", base, layerOf(t, "", file("b", "b")))
	if err := s.Tag(t.Context(), "app:1", "registry.local:5000/app:v1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(t.Context(), "nope:1", "x:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Tag of a missing image = %v", err)
	}
	got, err := s.Get("registry.local:5000/app:v1")
	if err != nil || got.ID() != a.ID() || !slices.Equal(got.RepoTags, []string{"app:1", "registry.local:5000/app:v1"}) {
		t.Fatalf("tagged image: %v %v", got, err)
	}
	list, err := s.List()
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %v, %v", list, err)
	}

	// By ID with two tags: needs force. By tag: only the tag goes.
	if _, err := s.Remove(t.Context(), a.ID(), false, nil); err == nil || !strings.Contains(err.Error(), "app:1") {
		t.Errorf("rm by ID of a twice-tagged image = %v", err)
	}
	r, err := s.Remove(t.Context(), "registry.local:5000/app:v1", false, nil)
	if err != nil || !slices.Equal(r.Untagged, []string{"registry.local:5000/app:v1"}) || len(r.Deleted) != 0 {
		t.Fatalf("untag = %+v, %v", r, err)
	}
	// In use: refused, then forced (untagged, content kept for the container).
	inUse := func(id string) bool { return id == a.ID() }
	if _, err := s.Remove(t.Context(), "app:1", false, inUse); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "app:1") {
		t.Fatalf("rm of an image in use = %v", err)
	}
	if r, err = s.Remove(t.Context(), "app:1", true, inUse); err != nil || len(r.Deleted) != 0 {
		t.Fatalf("forced rm of an image in use = %+v, %v", r, err)
	}
	if _, err := s.Get("app:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("tag survived: %v", err)
	}
	for _, d := range a.LayerDirs() {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("layer of an image in use removed: %v", err)
		}
	}
	// Prune keeps the dangling image while in use, removes it after.
	if r, err = s.Prune(t.Context(), PruneOptions{InUse: inUse}); err != nil || len(r.Deleted) != 0 {
		t.Fatalf("prune with image in use = %+v, %v", r, err)
	}
	if r, err = s.Prune(t.Context(), PruneOptions{}); err != nil || !slices.Contains(r.Deleted, a.ID()) || r.Reclaimed == 0 {
		t.Fatalf("prune = %+v, %v", r, err)
	}
	if _, err := os.Stat(a.LayerDirs()[1]); !os.IsNotExist(err) {
		t.Errorf("a's own layer kept: %v", err)
	}
	for _, d := range b.LayerDirs() { // the shared base stays for b
		if _, err := os.Stat(d); err != nil {
			t.Errorf("b's layer removed: %v", err)
		}
	}
	// Remove the last image: everything goes.
	if r, err = s.Remove(t.Context(), "other:1", false, nil); err != nil || len(r.Deleted) != 3 { // image + 2 layers
		t.Fatalf("rm other = %+v, %v", r, err)
	}
	if files := storeFiles(t, s); len(files) != 3 {
		t.Errorf("store not empty: %v", files)
	}
	if _, err := s.Remove(t.Context(), "other:1", false, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("rm of a missing image = %v", err)
	}
}

func TestLookupIDPrefix(t *testing.T) {
	idx := &indexFile{Images: map[string]*record{
		"sha256:m1": {Manifest: "sha256:m1", Config: "sha256:abcd1111" + strings.Repeat("0", 56)},
		"sha256:m2": {Manifest: "sha256:m2", Config: "sha256:abcd2222" + strings.Repeat("0", 56)},
		"sha256:m3": {Manifest: "sha256:m3", Config: "sha256:abcd2222" + strings.Repeat("0", 56)}, // same config, other manifest
	}, Tags: map[string]tagRecord{}}
	if _, _, err := lookup(idx, "abcd"); !errors.Is(err, ErrAmbiguous) {
		t.Errorf("abcd = %v, want ErrAmbiguous", err)
	}
	if rec, _, err := lookup(idx, "abcd1"); err != nil || rec.Manifest != "sha256:m1" {
		t.Errorf("abcd1 = %v, %v", rec, err)
	}
	if rec, _, err := lookup(idx, "sha256:abcd2"); err != nil || rec.Manifest != "sha256:m2" {
		t.Errorf("abcd2 (one ID, two manifests) = %v, %v", rec, err)
	}
	for _, n := range []string{"abc", "abcx", "sha256:ab"} {
		if _, _, err := lookup(idx, n); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s = %v, want ErrNotFound", n, err)
		}
	}
}
