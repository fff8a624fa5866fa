package testregistry

import (
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// TestAuthModes: without credentials (or with wrong ones) both modes
// answer 401 with the registry's message; with them a push goes through
// and is counted.
func TestAuthModes(t *testing.T) {
	for mode, opt := range map[string]Opt{"basic": WithBasicAuth("u", "p"), "token": WithTokenAuth("u", "p")} {
		t.Run(mode, func(t *testing.T) {
			reg, err := Start(t.Context(), opt)
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			img, _ := random.Image(1024, 2)
			ref, _ := name.NewTag(reg.Addr() + "/x:1")
			for _, a := range []authn.Authenticator{authn.Anonymous, &authn.Basic{Username: "u", Password: "nope"}} {
				err := remote.Write(ref, img, remote.WithContext(t.Context()), remote.WithAuth(a))
				var te *transport.Error
				if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
					t.Errorf("push as %v: %v, want 401", a, err)
				}
			}
			if err := remote.Write(ref, img, remote.WithContext(t.Context()), remote.WithAuth(&authn.Basic{Username: "u", Password: "p"})); err != nil {
				t.Fatal(err)
			}
			if st := reg.Stats(); st.BlobUploads != 3 || st.ManifestPuts != 1 || st.Unauthorized == 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestRepoScopedBlobs: a blob pushed to one repository is unknown in
// another until mounted from the first.
func TestRepoScopedBlobs(t *testing.T) {
	reg, err := Start(t.Context(), WithRepoScopedBlobs())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	img, _ := random.Image(1024, 1)
	a, _ := name.NewTag(reg.Addr() + "/a:1")
	if err := remote.Write(a, img, remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
	ls, _ := img.Layers()
	d, _ := ls[0].Digest()
	url := "http://" + reg.Addr() + "/v2/b/blobs/" + d.String()
	if resp, err := http.Head(url); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HEAD in b before mount: %v %v", resp.StatusCode, err)
	}
	resp, err := http.Post("http://"+reg.Addr()+"/v2/b/blobs/uploads/?mount="+d.String()+"&from=a", "", nil)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("mount: %v %v", resp.StatusCode, err)
	}
	if resp, err := http.Head(url); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD in b after mount: %v %v", resp.StatusCode, err)
	}
	if st := reg.Stats(); st.BlobMounts != 1 {
		t.Errorf("stats %+v", st)
	}
}
