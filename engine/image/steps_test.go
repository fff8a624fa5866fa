package image

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// badConfig serves a config that does not hash to its manifest's digest.
type badConfig struct{ v1.Image }

func (b badConfig) RawConfigFile() ([]byte, error) { return []byte(`{"rootfs":{}}`), nil }

func TestReadImageMeta(t *testing.T) {
	img, err := random.Image(64, 3)
	if err != nil {
		t.Fatal(err)
	}
	m, err := readImageMeta(img)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if m.digest != want || len(m.diffIDs) != 3 || len(m.manifest.Layers) != 3 || m.mediaType == "" {
		t.Errorf("meta: digest %s (want %s), %d diff IDs, %d layers, media type %q", m.digest, want, len(m.diffIDs), len(m.manifest.Layers), m.mediaType)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	chains := chainIDs(m.diffIDs)
	rec := m.record(chains, []int64{1, 2, 3}, now)
	if rec.Manifest != want.String() || rec.Size != 6 || len(rec.Layers) != 3 || rec.Layers[2].Chain != chains[2].String() || !rec.Added.Equal(now) {
		t.Errorf("record = %+v", rec)
	}

	_, err = readImageMeta(badConfig{img})
	if !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("config that does not match: %v, want ErrDigestMismatch", err)
	}
}

func TestIndexImage(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC) }
	added := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	idx := &indexFile{
		Images: map[string]*record{"sha256:m": {Manifest: "sha256:m", RepoDigests: []string{"docker.io/library/a@sha256:old"}, Added: added}},
		Tags:   map[string]tagRecord{},
	}
	rec := &record{Manifest: "sha256:m", Added: now()}
	dig := "sha256:" + strings.Repeat("b", 64)
	tr := indexImage(idx, rec, []string{"docker.io/library/a:1", "docker.io/library/a:2"},
		ImportOptions{RepoDigest: "a@" + dig, Pulled: true}, now)
	if !rec.Added.Equal(added) {
		t.Errorf("Added = %v, want the first import's", rec.Added)
	}
	wantRD := []string{"docker.io/library/a@sha256:old", "docker.io/library/a@" + dig}
	if !reflect.DeepEqual(rec.RepoDigests, wantRD) {
		t.Errorf("RepoDigests = %q, want %q", rec.RepoDigests, wantRD)
	}
	if idx.Images["sha256:m"] != rec || len(idx.Tags) != 2 || !idx.Tags["docker.io/library/a:1"].Pulled.Equal(now()) {
		t.Errorf("index = %+v", idx)
	}
	if tr == nil || tr.Manifest != "sha256:m" {
		t.Errorf("tag record = %+v", tr)
	}
	// Again, not pulled and untagged: the repo digest is not doubled.
	if tr := indexImage(idx, rec, nil, ImportOptions{RepoDigest: "a@" + dig}, now); tr != nil || len(rec.RepoDigests) != 2 {
		t.Errorf("re-import: tag %+v, repo digests %q", tr, rec.RepoDigests)
	}
}

func TestSaveSelection(t *testing.T) {
	id := func(c byte) string { return "sha256:" + strings.Repeat(string(c), 64) }
	idx := &indexFile{
		Images: map[string]*record{
			id('1'): {Manifest: id('1'), Config: id('a')},
			id('2'): {Manifest: id('2'), Config: id('b')},
		},
		Tags: map[string]tagRecord{
			"docker.io/library/one:latest": {Manifest: id('1')},
			"docker.io/library/one:v1":     {Manifest: id('1')},
			"docker.io/library/two:latest": {Manifest: id('2')},
		},
	}
	got, err := saveSelection(idx, []string{"two", "one:v1", id('b'), id('a')})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].rec.Manifest != id('2') || got[1].rec.Manifest != id('1') {
		t.Fatalf("selection %+v, want two then one", got)
	}
	if !reflect.DeepEqual(got[0].tags, []string{"docker.io/library/two:latest"}) {
		t.Errorf("two's tags %q", got[0].tags)
	}
	tags := slices.Clone(got[1].tags)
	slices.Sort(tags)
	if tags[0] != "docker.io/library/one:latest" || tags[1] != "docker.io/library/one:v1" || len(tags) != 2 || got[1].tags[0] != "docker.io/library/one:v1" {
		t.Errorf("one's tags %q, want v1 (named first) then latest (by ID)", got[1].tags)
	}
	if _, err := saveSelection(idx, []string{"nope"}); !errors.Is(err, ErrNotFound) || !strings.HasPrefix(err.Error(), "save: ") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestTaggedDescriptors(t *testing.T) {
	desc := v1.Descriptor{Size: 7}
	descs, repoTags := taggedDescriptors(desc, nil)
	if len(descs) != 1 || descs[0].Annotations != nil || repoTags != nil {
		t.Errorf("untagged: %+v %q", descs, repoTags)
	}
	descs, repoTags = taggedDescriptors(desc, []string{"docker.io/library/a:1", "example.com/x/b:2"})
	if len(descs) != 2 || descs[1].Annotations[annotationImageName] != "example.com/x/b:2" || descs[1].Annotations[annotationRefName] != "2" || descs[0].Size != 7 {
		t.Errorf("descriptors %+v", descs)
	}
	if !reflect.DeepEqual(repoTags, []string{"a:1", "example.com/x/b:2"}) {
		t.Errorf("repo tags %q", repoTags)
	}
}

func TestUsagePieces(t *testing.T) {
	// Two images sharing a layer and its blob; one in use. Each piece
	// weighs as many bytes as its key is long.
	a := &record{Manifest: "sha256:ma", Config: "sha256:ca", Layers: []layerRecord{{Blob: "sha256:l1", Chain: "sha256:c1"}, {Blob: "sha256:l2", Chain: "sha256:c2"}}}
	b := &record{Manifest: "sha256:mb", Config: "sha256:cb", Layers: []layerRecord{{Blob: "sha256:l1", Chain: "sha256:c1"}, {Blob: "sha256:l1", Chain: "sha256:c1"}}}
	if keys := pieceKeys(b); !reflect.DeepEqual(keys, []string{"blob:sha256:mb", "blob:sha256:cb", "blob:sha256:l1", "layer:sha256:c1"}) {
		t.Errorf("pieceKeys = %q (a repeated layer once)", keys)
	}
	measured := map[string]int{}
	size := func(k string) int64 { measured[k]++; return int64(len(k)) }
	used := func(r *record) bool { return r == a }
	pieces, active := countPieces(map[string]*record{"a": a, "b": b}, used, size)
	if active != 1 || len(pieces) != 8 {
		t.Fatalf("active %d, %d pieces", active, len(pieces))
	}
	for k, n := range measured {
		if n != 1 {
			t.Errorf("%s measured %d times", k, n)
		}
	}
	if p := pieces["layer:sha256:c1"]; p.users != 2 || p.inUseBy != 1 {
		t.Errorf("shared layer %+v", p)
	}
	if p := pieces["blob:sha256:mb"]; p.users != 1 || p.inUseBy != 0 {
		t.Errorf("b's manifest %+v", p)
	}
	iu := imageUsage(Summary{}, b, pieces, false)
	shared := int64(len("blob:sha256:l1") + len("layer:sha256:c1"))
	unique := int64(len("blob:sha256:mb") + len("blob:sha256:cb"))
	if iu.SharedSize != shared || iu.UniqueSize != unique || iu.InUse {
		t.Errorf("b's usage %+v, want shared %d unique %d", iu, shared, unique)
	}
}

func TestLocalTagged(t *testing.T) {
	idx := &indexFile{
		Images: map[string]*record{"sha256:m": {Manifest: "sha256:m"}},
		Tags: map[string]tagRecord{
			"docker.io/library/a:1":    {Manifest: "sha256:m"},
			"docker.io/library/gone:1": {Manifest: "sha256:gone"},
		},
	}
	for _, tc := range []struct {
		ref  string
		want string // manifest; "" = ErrNoLocalTag
	}{
		{"a:1", "sha256:m"},
		{"docker.io/library/a:1", "sha256:m"},
		{"a:2", ""},
		{"gone:1", ""},
	} {
		r, err := ParseReference(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := localTagged(idx, r)
		if tc.want == "" {
			if !errors.Is(err, ErrNoLocalTag) || !strings.Contains(err.Error(), "push "+r.Familiar()) {
				t.Errorf("%s: %v, want ErrNoLocalTag naming it", tc.ref, err)
			}
			continue
		}
		if err != nil || rec.Manifest != tc.want {
			t.Errorf("%s: %v, %v", tc.ref, rec, err)
		}
	}
}

func TestTagsByConfig(t *testing.T) {
	got := tagsByConfig([]dockerManifestEntry{
		{Config: "blobs/sha256/abc", RepoTags: []string{"a:1"}},
		{Config: "abc.json", RepoTags: []string{"a:2"}},
		{Config: "def.json"},
	})
	want := map[string][]string{"sha256:abc": {"a:1", "a:2"}, "sha256:def": nil}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tagsByConfig = %q, want %q", got, want)
	}
}
