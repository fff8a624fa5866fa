package image

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// TestPullFailures checks that each registry fault gives an error naming
// the image and the registry, leaves the store as it was, and that a retry
// once the fault is gone succeeds.
func TestPullFailures(t *testing.T) {
	img := appImage(t)
	layers, _ := img.Layers()
	bigDigest, _ := layers[0].Digest()

	tests := []struct {
		name    string
		ref     string // repo:tag to pull (the image is pushed as app:1)
		wantIs  error
		wantMsg string
		fault   func(w http.ResponseWriter, r *http.Request, next http.Handler) bool // true: handled
	}{
		{name: "tag not found", ref: "app:nope", wantIs: ErrManifestUnknown},
		{name: "repository not found", ref: "nothere:1", wantIs: ErrManifestUnknown, wantMsg: "/nothere, repository does not exist or may require 'docker login'"},
		{name: "unauthorized", ref: "app:1", wantIs: ErrUnauthorized, fault: func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return true
		}},
		{name: "manifest unknown", ref: "app:1", wantIs: ErrManifestUnknown, fault: func(w http.ResponseWriter, r *http.Request, _ http.Handler) bool {
			if !strings.Contains(r.URL.Path, "/manifests/") {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`)
			return true
		}},
		{name: "connection cut mid-blob", ref: "app:1", wantMsg: bigDigest.String(), fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, bigDigest.String()) {
				return false
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			conn, bw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(err)
			}
			bw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nContent-Type: application/octet-stream\r\n\r\n")
			bw.Write(body[:len(body)/2])
			bw.Flush()
			conn.Close()
			return true
		}},
		{name: "wrong digest", ref: "app:1", wantMsg: bigDigest.String(), fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, bigDigest.String()) {
				return false
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			body[len(body)-10] ^= 0xff // same length, other content
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
			return true
		}},
		{name: "another valid blob served", ref: "app:1", wantMsg: bigDigest.String(), fault: func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, bigDigest.String()) {
				return false
			}
			rc, _ := layerOf(t, "", file("bin/hello", "forged")).Compressed()
			body, _ := io.ReadAll(rc)
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
			return true
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newTestRegistry(t)
			reg.push(t, "app:1", img)
			s := newTestStore(t)
			// Something already there must stay.
			other := reg.push(t, "other:1", imageOf(t, layerOf(t, "", file("x", "y"))))
			if _, err := newTestPuller(s).Pull(t.Context(), other, PullOptions{}); err != nil {
				t.Fatal(err)
			}
			before := storeFiles(t, s)
			var faults atomic.Int32
			reg.wrap = func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				if tt.fault != nil && tt.fault(w, r, next) {
					faults.Add(1)
					return
				}
				next.ServeHTTP(w, r)
			}
			ref := reg.host + "/" + tt.ref
			_, err := newTestPuller(s).Pull(t.Context(), ref, PullOptions{})
			if err == nil {
				t.Fatal("pull succeeded")
			}
			t.Log(err)
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", err, tt.wantIs)
			}
			for _, w := range []string{tt.ref, "registry " + reg.host, tt.wantMsg} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tt.fault != nil && faults.Load() == 0 {
				t.Error("fault never injected")
			}
			if after := storeFiles(t, s); !slices.Equal(before, after) {
				t.Errorf("failed pull changed the store:\nbefore %v\nafter  %v", before, after)
			}
			if tt.fault == nil {
				return
			}
			reg.wrap = nil
			got, err := newTestPuller(s).Pull(t.Context(), ref, PullOptions{})
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if d, _ := img.Digest(); got.Digest() != d.String() {
				t.Errorf("retry digest %s, want %s", got.Digest(), d)
			}
		})
	}
}

// TestPullMaliciousLayer: a layer that tries to escape fails the pull with
// an error naming the entry, and the store keeps nothing of it.
func TestPullMaliciousLayer(t *testing.T) {
	reg := newTestRegistry(t)
	s := newTestStore(t)
	bad := imageOf(t,
		layerOf(t, "", file("ok", "fine")),
		layerOf(t, "", symlink("etc", "/etc"), file("etc/berth-pwned", "x")),
	)
	ref := reg.push(t, "evil:1", bad)
	before := storeFiles(t, s)
	_, err := newTestPuller(s).Pull(t.Context(), ref, PullOptions{})
	if !errors.Is(err, ErrUnsafeEntry) || !strings.Contains(err.Error(), "etc/berth-pwned") {
		t.Fatalf("pull = %v, want ErrUnsafeEntry naming etc/berth-pwned", err)
	}
	if after := storeFiles(t, s); !slices.Equal(before, after) {
		t.Errorf("store changed:\n%v\n%v", before, after)
	}
	if _, err := s.Get(ref); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after failed pull = %v", err)
	}
}

// TestPullContextCancel: a cancelled pull stops and leaves nothing.
func TestPullContextCancel(t *testing.T) {
	reg := newTestRegistry(t)
	s := newTestStore(t)
	ref := reg.push(t, "app:1", appImage(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := newTestPuller(s).Pull(ctx, ref, PullOptions{}); err == nil {
		t.Fatal("cancelled pull succeeded")
	}
	if files := storeFiles(t, s); len(files) != 3 { // blobs, blobs/sha256, layers, and nothing below
		t.Errorf("store after cancelled pull: %v", files)
	}
}
