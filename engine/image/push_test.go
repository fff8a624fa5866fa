package image

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/internal/testregistry"
)

// storedImage puts appImage into a fresh store tagged as ref.
func storedImage(t *testing.T, ref string) *Store {
	t.Helper()
	s := newTestStore(t)
	r, _ := ParseReference(ref)
	if _, err := s.Import(t.Context(), appImage(t), ImportOptions{Tags: []string{r.String()}}); err != nil {
		t.Fatal(err)
	}
	return s
}

type events struct {
	mu sync.Mutex
	l  []Event
}

func (e *events) add(ev Event) { e.mu.Lock(); e.l = append(e.l, ev); e.mu.Unlock() }
func (e *events) count(st Status) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.l {
		if ev.Status == st {
			n++
		}
	}
	return n
}

func basicKeychain(user, pass string) authn.Keychain {
	return authn.NewMultiKeychain(staticKeychain{&authn.Basic{Username: user, Password: pass}})
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }

// TestPushRoundTrip: a push with credentials (basic and token flows)
// uploads every blob once; the same image under a second tag uploads only
// its manifest; under another repository of a registry that scopes blobs,
// its blobs are mounted, not uploaded; the pushed image pulls back equal.
func TestPushRoundTrip(t *testing.T) {
	for mode, opt := range map[string]testregistry.Opt{
		"basic": testregistry.WithBasicAuth("u", "p"),
		"token": testregistry.WithTokenAuth("u", "p"),
	} {
		t.Run(mode, func(t *testing.T) {
			reg, err := testregistry.Start(t.Context(), opt, testregistry.WithRepoScopedBlobs())
			if err != nil {
				t.Fatal(err)
			}
			defer reg.Close()
			ref := reg.Addr() + "/team/app:1"
			s := storedImage(t, ref)
			ps := NewPusher(s, &Config{}, WithKeychain(basicKeychain("u", "p")), WithRemoteOptions(fastRetry))
			var ev events
			res, err := ps.Push(t.Context(), ref, PushOptions{Progress: ev.add})
			if err != nil {
				t.Fatal(err)
			}
			if st := reg.Stats(); st.BlobUploads != 4 || st.ManifestPuts != 1 || res.Uploaded != 4 {
				t.Errorf("first push: registry %+v, result %+v; want 4 blobs (3 layers + config) and 1 manifest", st, res)
			}
			if ev.count(StatusPushed) != 3 || ev.count(StatusPreparing) != 3 || ev.count(StatusPushing) < 3 {
				t.Errorf("events: %+v", ev.l)
			}
			img, _ := s.Get(ref)
			if !strings.Contains(strings.Join(img.RepoDigests, " "), reg.Addr()+"/team/app@"+img.Digest()) {
				t.Errorf("repo digests after push: %v", img.RepoDigests)
			}

			reg.ResetStats()
			if err := s.Tag(t.Context(), ref, reg.Addr()+"/team/app:2"); err != nil {
				t.Fatal(err)
			}
			ev = events{}
			res, err = ps.Push(t.Context(), reg.Addr()+"/team/app:2", PushOptions{Progress: ev.add})
			if err != nil {
				t.Fatal(err)
			}
			if st := reg.Stats(); st.BlobUploads != 0 || st.ManifestPuts != 1 || res.Skipped != 4 || ev.count(StatusLayerExists) != 3 {
				t.Errorf("same image, new tag: registry %+v, result %+v; want only the manifest", st, res)
			}

			reg.ResetStats()
			other := reg.Addr() + "/other/app:1"
			if err := s.Tag(t.Context(), ref, other); err != nil {
				t.Fatal(err)
			}
			ev = events{}
			res, err = ps.Push(t.Context(), other, PushOptions{Progress: ev.add})
			if err != nil {
				t.Fatal(err)
			}
			if st := reg.Stats(); st.BlobUploads != 0 || st.BlobMounts != 4 || res.Mounted != 4 || ev.count(StatusMounted) != 3 {
				t.Errorf("other repository: registry %+v, result %+v; want 4 mounts, no upload", st, res)
			}

			back := newTestStore(t)
			pl := NewPuller(back, &Config{}, WithKeychain(basicKeychain("u", "p")))
			got, err := pl.Pull(t.Context(), other, PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.ID() != img.ID() || got.Digest() != img.Digest() {
				t.Errorf("pulled back %s/%s, pushed %s/%s", got.ID(), got.Digest(), img.ID(), img.Digest())
			}
		})
	}
}

// TestPushErrors: a wrong password names the registry and quotes it; a
// 5xx is retried and a lasting one is reported with the body bounded; a
// missing local tag says so.
func TestPushErrors(t *testing.T) {
	var fail atomic.Int32
	reg, err := testregistry.Start(t.Context(), testregistry.WithBasicAuth("u", "p"), testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if (r.Method == http.MethodPatch || (r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/"))) && fail.Add(-1) >= 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte("<html>" + strings.Repeat("busy ", 5000) + "</html>"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ref := reg.Addr() + "/app:1"
	s := storedImage(t, ref)

	_, err = NewPusher(s, &Config{}, WithKeychain(basicKeychain("u", "nope")), WithRemoteOptions(fastRetry)).Push(t.Context(), ref, PushOptions{})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "registry "+reg.Addr()) || !strings.Contains(err.Error(), testregistry.ErrorMessage) || strings.Contains(err.Error(), "nope") {
		t.Errorf("wrong password: %v", err)
	}

	ps := NewPusher(s, &Config{}, WithKeychain(basicKeychain("u", "p")), WithRemoteOptions(remote.WithRetryBackoff(remote.Backoff{Duration: 1, Factor: 1, Steps: 3})))
	fail.Store(2) // two 503s, then the upload goes through
	if _, err := ps.Push(t.Context(), ref, PushOptions{}); err != nil {
		t.Errorf("two 503s then success: %v", err)
	}

	if err := s.Tag(t.Context(), ref, reg.Addr()+"/app2:1"); err != nil {
		t.Fatal(err)
	}
	fail.Store(1000)
	_, err = ps.Push(t.Context(), reg.Addr()+"/app2:1", PushOptions{})
	if err == nil || !strings.Contains(err.Error(), "registry "+reg.Addr()) || !strings.Contains(err.Error(), "503") || len(err.Error()) > 1200 {
		t.Errorf("lasting 503: %d bytes: %.300v", len(fmtErr(err)), err)
	}

	_, err = ps.Push(t.Context(), reg.Addr()+"/nothing:1", PushOptions{})
	if !errors.Is(err, ErrNoLocalTag) {
		t.Errorf("missing tag: %v", err)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestPullErrorBounded: a registry that answers a pull with a huge error
// page is quoted in at most a line's worth, and a refusal says to log in
// with berth.
func TestPullErrorBounded(t *testing.T) {
	tr := newTestRegistry(t)
	ref := tr.push(t, "big/err:1", appImage(t))
	tr.wrap = func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte("<html>" + strings.Repeat("x", 100000) + "</html>"))
	}
	_, err := newTestPuller(newTestStore(t)).Pull(t.Context(), ref, PullOptions{})
	if err == nil || len(err.Error()) > 2000 {
		t.Errorf("pull against a huge error page: %d bytes", len(fmtErr(err)))
	}
	tr.wrap = func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		w.WriteHeader(http.StatusUnauthorized)
	}
	_, err = newTestPuller(newTestStore(t)).Pull(t.Context(), ref, PullOptions{})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "berth login") {
		t.Errorf("401: %v", err)
	}
}

// TestPushErrorKinds: 403 and 404 from the registry name it and say what
// to do.
func TestPushErrorKinds(t *testing.T) {
	var code atomic.Int32
	reg, err := testregistry.Start(t.Context(), testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c := int(code.Load()); c != 0 && r.URL.Path != "/v2/" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(c)
				errCode := map[int]string{403: "DENIED", 404: "NAME_UNKNOWN"}[c]
				fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"registry says %d"}]}`, errCode, c)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ref := reg.Addr() + "/team/app:1"
	s := storedImage(t, ref)
	ps := NewPusher(s, &Config{}, WithRemoteOptions(fastRetry))
	for c, want := range map[int32]string{403: "may not push to team/app", 404: "repository team/app not found"} {
		code.Store(c)
		_, err := ps.Push(t.Context(), ref, PushOptions{})
		if err == nil || !strings.Contains(err.Error(), "registry "+reg.Addr()) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), fmt.Sprintf("registry says %d", c)) {
			t.Errorf("%d: %v", c, err)
		}
	}
}
