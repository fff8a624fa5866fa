package engine

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/project"
)

// TestPublishProjectRoundTrip pushes an artifact in both OCI versions and
// loads it back with project's oci:// loader.
func TestPublishProjectRoundTrip(t *testing.T) {
	t.Setenv("BERTH_ROOT", t.TempDir()) // no config.yaml of the host
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	files := []project.ArtifactFile{
		{Name: "compose.yaml", MediaType: project.MediaTypeComposeFile, Data: []byte("services:\n  app:\n    image: alpine\n    env_file: ab.env\n")},
		{Name: "ab.env", MediaType: project.MediaTypeEnvFile, Data: []byte("HELLO=WORLD\n")},
	}
	ctx := context.Background()
	for _, v := range []string{"1.1", "1.0"} {
		ref := host + "/pub:" + strings.ReplaceAll(v, ".", "-")
		d, err := (&Engine{}).PublishProject(ctx, ref, files, PublishOptions{OCIVersion: v, Version: "test"})
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		r, _ := name.ParseReference(ref, name.Insecure)
		desc, err := remote.Get(r)
		if err != nil {
			t.Fatal(err)
		}
		if desc.Digest.String() != d {
			t.Errorf("%s: PublishProject returned %s, the registry has %s", v, d, desc.Digest)
		}
		var m struct {
			ArtifactType string `json:"artifactType"`
			Config       struct {
				MediaType string `json:"mediaType"`
			} `json:"config"`
		}
		if err := json.Unmarshal(desc.Manifest, &m); err != nil {
			t.Fatal(err)
		}
		want := [2]string{project.ArtifactType, "application/vnd.oci.empty.v1+json"}
		if v == "1.0" {
			want = [2]string{"", project.ArtifactType}
		}
		if got := [2]string{m.ArtifactType, m.Config.MediaType}; got != want {
			t.Errorf("%s: artifactType, config media type = %q, want %q", v, got, want)
		}
		l := &project.OCILoader{CacheDir: t.TempDir()}
		main, err := l.Load(ctx, project.OCIPrefix+ref)
		if err != nil {
			t.Fatalf("%s: load back: %v", v, err)
		}
		if !strings.HasSuffix(main, "/compose.yaml") || l.Dir(project.OCIPrefix+ref) == "" {
			t.Errorf("%s: loaded %s, dir %q", v, main, l.Dir(project.OCIPrefix+ref))
		}
	}
	if _, err := (&Engine{}).PublishProject(ctx, host+"/pub:x", files, PublishOptions{OCIVersion: "2.0"}); err == nil {
		t.Error("--oci-version 2.0 accepted")
	}
}
