package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestLoadDockerSave(t *testing.T) {
	s := newTestStore(t)
	img := appImage(t)
	tag, _ := name.NewTag("example.com/team/app:2")
	tag2, _ := name.NewTag("app:latest")
	var buf bytes.Buffer
	if err := tarball.MultiRefWrite(map[name.Reference]v1.Image{tag: img, tag2: img}, &buf); err != nil {
		t.Fatal(err)
	}
	loaded, err := s.Load(t.Context(), &buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(loaded)
	if !slices.Equal(loaded, []string{"app:latest", "example.com/team/app:2"}) {
		t.Errorf("loaded %v", loaded)
	}
	got, err := s.Get("app")
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := img.ConfigName(); got.ID() != id.String() {
		t.Errorf("ID %s, want %s (the config digest)", got.ID(), id)
	}
	if c := readFile(t, filepath.Join(got.LayerDirs()[2], "app/top")); c != "from the top layer" {
		t.Errorf("top layer app/top = %q", c)
	}
}

// TestLoadClassicDockerSave: the old format, with uncompressed
// <id>/layer.tar files and <id>.json configs, from a pipe.
func TestLoadClassicDockerSave(t *testing.T) {
	s := newTestStore(t)
	layerTar := tarBytes(t, file("hello", "classic"))
	img := imageOf(t, layerOf(t, "", file("hello", "classic")))
	rawCfg, _ := img.RawConfigFile()
	id, _ := img.ConfigName()
	manifest, _ := json.Marshal([]dockerManifestEntry{{Config: id.Hex + ".json", RepoTags: []string{"classic:1"}, Layers: []string{"abc/layer.tar"}}})
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	writeTarFile(tw, id.Hex+".json", rawCfg)
	writeTarFile(tw, "abc/layer.tar", layerTar)
	writeTarFile(tw, "manifest.json", manifest)
	tw.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(gzipTo(pw, buf.Bytes())) }()
	loaded, err := s.Load(t.Context(), pr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(loaded, []string{"classic:1"}) {
		t.Errorf("loaded %v", loaded)
	}
	got, err := s.Get("classic:1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != id.String() || readFile(t, filepath.Join(got.LayerDirs()[0], "hello")) != "classic" {
		t.Errorf("ID %s (want %s), layer %v", got.ID(), id, got.LayerDirs())
	}
}

func gzipTo(w io.Writer, data []byte) error {
	zw := gzip.NewWriter(w)
	if _, err := zw.Write(data); err != nil {
		return err
	}
	return zw.Close()
}

func TestLoadOCILayout(t *testing.T) {
	s := newTestStore(t)
	img := appImage(t)
	untagged := imageOf(t, layerOf(t, "", file("x", "untagged")))
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{annotationImageName: "docker.io/library/oci:1", annotationRefName: "1"})); err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(untagged); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "oci.tar"))
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, _ := os.ReadFile(p)
		return writeTarFile(tw, rel, data)
	})
	tw.Close()
	f.Seek(0, io.SeekStart)
	loaded, err := s.Load(t.Context(), f, nil) // a regular file: read in place
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := untagged.ConfigName()
	if !slices.Equal(loaded, []string{"oci:1", uid.String()}) {
		t.Errorf("loaded %v", loaded)
	}
	got, err := s.Get("oci:1")
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); got.Digest() != d.String() {
		t.Errorf("OCI load changed the manifest digest: %s, want %s", got.Digest(), d)
	}
	if _, err := s.Get(uid.String()); err != nil {
		t.Errorf("untagged image: %v", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	reg := newTestRegistry(t)
	src := newTestStore(t)
	p := newTestPuller(src)
	a, err := p.Pull(t.Context(), reg.push(t, "rt/a:1", appImage(t)), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Pull(t.Context(), reg.push(t, "rt/b:1", imageOf(t, layerOf(t, "", file("b", "b")))), PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "save.tar")
	f, _ := os.Create(out)
	if err := src.Save(t.Context(), f, a.RepoTags[0], b.ID()); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// Docker's reader (go-containerregistry's tarball) reads it.
	tag, _ := name.NewTag(a.RepoTags[0])
	timg, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("saved tarball is not docker-save readable: %v", err)
	}
	if id, _ := timg.ConfigName(); id.String() != a.ID() {
		t.Errorf("docker reader sees ID %s, want %s", id, a.ID())
	}

	dst := newTestStore(t)
	f, _ = os.Open(out)
	defer f.Close()
	loaded, err := dst.Load(t.Context(), f, nil)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(loaded)
	want := []string{a.RepoTags[0], b.RepoTags[0]}
	slices.Sort(want)
	if !slices.Equal(loaded, want) {
		t.Errorf("loaded %v, want %v", loaded, want)
	}
	for _, orig := range []*Image{a, b} {
		got, err := dst.Get(orig.RepoTags[0])
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest() != orig.Digest() || got.ID() != orig.ID() || got.Size() != orig.Size() {
			t.Errorf("round trip: %s %s %d, want %s %s %d", got.Digest(), got.ID(), got.Size(), orig.Digest(), orig.ID(), orig.Size())
		}
	}
	if err := src.Save(t.Context(), io.Discard, "missing:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("save of a missing image = %v", err)
	}
}

func TestLoadRejectsGarbage(t *testing.T) {
	s := newTestStore(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	writeTarFile(tw, "hello.txt", []byte("not an image"))
	tw.Close()
	if _, err := s.Load(t.Context(), &buf, nil); !errors.Is(err, ErrBadArchive) {
		t.Errorf("load of a tar without images = %v", err)
	}
	if _, err := s.Load(t.Context(), strings.NewReader("definitely not a tar file, not even close....."), nil); !errors.Is(err, ErrBadArchive) {
		t.Errorf("load of garbage = %v", err)
	}
	if files := storeFiles(t, s); len(files) != 3 {
		t.Errorf("store after failed loads: %v", files)
	}
}
