package testregistry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/berth-dev/berth/internal/testimages"
)

func pull(t *testing.T, ref string) *remote.Descriptor {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Get(r, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return d
}

func TestPushStandardPullBothNames(t *testing.T) {
	reg := New(t)
	if !strings.HasPrefix(reg.Addr(), "127.0.0.1:") {
		t.Errorf("Addr = %s, want 127.0.0.1:PORT", reg.Addr())
	}
	imgs, err := testimages.Standard()
	if err != nil {
		t.Fatal(err)
	}
	for n, img := range imgs {
		want, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range []string{reg.Addr() + "/" + n, reg.Addr() + "/library/" + n} {
			d := pull(t, ref)
			if d.Digest != want {
				t.Errorf("%s: digest %s, want %s", ref, d.Digest, want)
			}
			got, err := d.Image()
			if err != nil {
				t.Fatal(err)
			}
			// Reads every blob back and checks each digest.
			if err := validate.Image(got); err != nil {
				t.Errorf("%s: %v", ref, err)
			}
		}
	}
	if got, want := reg.MirrorEnv(), "BERTH_REGISTRY_MIRRORS=docker.io="+reg.Addr(); got != want {
		t.Errorf("MirrorEnv = %s", got)
	}
}

func TestPushNames(t *testing.T) {
	reg, err := Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	img, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := reg.Push(t.Context(), "org/app", img)
	if err != nil {
		t.Fatal(err)
	}
	if want := reg.Addr() + "/org/app:latest"; ref != want {
		t.Errorf("Push returned %s, want %s", ref, want)
	}
	pull(t, ref)
	r, _ := name.ParseReference(reg.Addr() + "/library/org/app:latest")
	_, err = remote.Get(r, remote.WithContext(t.Context()))
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
		t.Errorf("library/org/app: err = %v, want 404", err)
	}
}

func TestMiddlewareAndClose(t *testing.T) {
	var hits atomic.Int32
	reg, err := Start(t.Context(), WithMiddleware(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if strings.Contains(r.URL.Path, "/denied/") {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(reg.Addr() + "/denied/x:latest")
	if _, err := remote.Get(r, remote.WithContext(t.Context())); err == nil {
		t.Error("middleware's 401 not seen")
	}
	if hits.Load() == 0 {
		t.Error("middleware not called")
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r, _ = name.ParseReference(reg.Addr() + "/busybox:latest")
	if _, err := remote.Get(r, remote.WithContext(ctx)); err == nil {
		t.Error("registry still answers after Close")
	}
}
