package project

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestValidArtifactName(t *testing.T) {
	for _, n := range []string{"ab12.yaml", "x.env", "a_b-c.yml"} {
		if err := ValidArtifactName(n); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range []string{"", ".", "..", "../../x", "a/b", "/etc/passwd", ".hidden", "a\\b", "x..y", "compose.yaml", "a b", strings.Repeat("a", 256)} {
		if ValidArtifactName(n) == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

// pushArtifact pushes files as a Compose artifact to the registry at
// host, as repo:tag, and returns the oci:// reference.
func pushArtifact(t *testing.T, host, repo string, files []ArtifactFile) string {
	t.Helper()
	tag, err := name.NewTag(host+"/"+repo+":test", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	cfg := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	if err := remote.WriteLayer(tag.Repository, cfg); err != nil {
		t.Fatal(err)
	}
	cd, _ := cfg.Digest()
	m := struct {
		v1.Manifest
		ArtifactType string `json:"artifactType"`
	}{Manifest: v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Size: 2, Digest: cd}}, ArtifactType: ArtifactType}
	for _, f := range files {
		l := static.NewLayer(f.Data, types.MediaType(f.MediaType))
		if err := remote.WriteLayer(tag.Repository, l); err != nil {
			t.Fatal(err)
		}
		d, _ := l.Digest()
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: types.MediaType(f.MediaType), Size: int64(len(f.Data)), Digest: d, Annotations: f.Annotations("test")})
	}
	raw, _ := json.Marshal(m)
	if err := remote.Put(tag, rawManifest(raw)); err != nil {
		t.Fatal(err)
	}
	return OCIPrefix + tag.String()
}

type rawManifest []byte

func (r rawManifest) RawManifest() ([]byte, error)        { return r, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func TestOCILoader(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()

	// A published project loads: two compose files merged, the extends
	// and env files beside them.
	ref := pushArtifact(t, host, "good", []ArtifactFile{
		{Name: "compose.yaml", MediaType: MediaTypeComposeFile, Data: []byte("services:\n  app:\n    extends:\n      file: ab.yaml\n      service: t\n")},
		{Name: "over.yaml", MediaType: MediaTypeComposeFile, Data: []byte("services:\n  app:\n    env_file: cd.env\n")},
		{Name: "ab.yaml", MediaType: MediaTypeComposeFile, Extends: true, Data: []byte("services:\n  t:\n    image: alpine\n")},
		{Name: "cd.env", MediaType: MediaTypeEnvFile, Data: []byte("HELLO=WORLD\n")},
	})
	cache := t.TempDir()
	o := Options{Files: []string{ref}, ProjectName: "oci", Environ: []string{}}
	po, err := o.compose()
	if err != nil {
		t.Fatal(err)
	}
	po.ResourceLoaders[0].(*OCILoader).CacheDir = cache
	p, err := po.LoadProject(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// compose() leaves env_file to Load, which resolves it afterwards
	if err := resolveEnvironment(p, ServiceNames(p)); err != nil {
		t.Fatal(err)
	}
	app := p.Services["app"]
	if app.Image != "alpine" || app.Environment["HELLO"] == nil || *app.Environment["HELLO"] != "WORLD" {
		t.Errorf("loaded app = image %q environment %v", app.Image, app.Environment)
	}

	// Hostile artifacts are refused and write nothing outside the cache.
	for what, files := range map[string][]ArtifactFile{
		"name with ..": {
			{Name: "compose.yaml", MediaType: MediaTypeComposeFile, Data: []byte("services:\n  a:\n    image: x\n")},
			{Name: "../../x", MediaType: MediaTypeEnvFile, Data: []byte("X=1\n")},
		},
		"local include": {
			{Name: "compose.yaml", MediaType: MediaTypeComposeFile, Data: []byte("include: [/etc/berth-test.yaml]\nservices:\n  a:\n    image: x\n")},
		},
		"local extends": {
			{Name: "compose.yaml", MediaType: MediaTypeComposeFile, Data: []byte("services:\n  a:\n    extends:\n      file: /etc/x.yaml\n      service: s\n")},
		},
		"local env_file": {
			{Name: "compose.yaml", MediaType: MediaTypeComposeFile, Data: []byte("services:\n  a:\n    image: x\n    env_file: ../../../etc/shadow\n")},
		},
	} {
		ref := pushArtifact(t, host, strings.ReplaceAll(strings.ReplaceAll(what, " ", "-"), ".", "d"), files)
		l := &OCILoader{CacheDir: filepath.Join(cache, "c")}
		if _, err := l.Load(ctx, ref); err == nil {
			t.Errorf("%s: loaded", what)
		} else {
			t.Logf("%s: %v", what, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(cache, "x")); err == nil {
		t.Error("the ../../x annotation wrote outside the artifact's directory")
	}
	if entries, _ := filepath.Glob(filepath.Join(cache, "c", "*")); len(entries) != 0 {
		t.Errorf("refused artifacts left %v in the cache", entries)
	}
}
