package testregistry

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// Auth modes of the registry (WithBasicAuth, WithTokenAuth).
const (
	authNone = iota
	authBasic
	authToken
)

// ErrorMessage is what the registry says to a wrong user name or
// password, in the OCI error body's message.
const ErrorMessage = "incorrect username or password"

// WithBasicAuth makes every /v2/ request need HTTP basic auth as user and
// password, as distribution's htpasswd auth does: without it (or with a
// wrong one) the answer is 401 with a Basic challenge and an OCI error
// body saying ErrorMessage.
func WithBasicAuth(user, password string) Opt {
	return func(o *options) { o.auth, o.user, o.password = authBasic, user, password }
}

// WithTokenAuth makes the registry use the bearer token flow of Docker
// Hub and distribution's token auth: /v2/ answers 401 with a Bearer
// challenge naming the registry's own /token endpoint, which hands out a
// random token to a client that gives user and password by basic auth
// (and says ErrorMessage with 401 to one that does not).
func WithTokenAuth(user, password string) Opt {
	return func(o *options) { o.auth, o.user, o.password = authToken, user, password }
}

// WithRepoScopedBlobs makes blobs visible only in the repositories they
// were uploaded or mounted to, as distribution does (go-containerregistry's
// registry shares every blob across repositories), and answers
// cross-repository mount requests (POST …/blobs/uploads/?mount=D&from=R)
// with 201 when R holds D.
func WithRepoScopedBlobs() Opt { return func(o *options) { o.scoped = true } }

// Stats counts what clients did, for tests that check a push sent only
// what the registry lacked.
type Stats struct {
	BlobUploads  int // blob uploads completed (PUT …/blobs/uploads/…?digest=, 201)
	BlobMounts   int // cross-repository mounts answered 201
	ManifestPuts int // manifests stored (201)
	Unauthorized int // requests refused with 401
}

// Stats returns the counters since the registry started or ResetStats.
func (r *Registry) Stats() Stats {
	r.obs.mu.Lock()
	defer r.obs.mu.Unlock()
	return r.obs.stats
}

// ResetStats zeroes the counters.
func (r *Registry) ResetStats() {
	r.obs.mu.Lock()
	defer r.obs.mu.Unlock()
	r.obs.stats = Stats{}
}

// observer counts requests and, with scoped blobs, keeps which
// repositories hold which blobs.
type observer struct {
	scoped bool
	mu     sync.Mutex
	stats  Stats
	links  map[string]map[string]bool // repo → blob digest → linked
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// splitPath parses /v2/<repo>/<kind>/<rest> (kind: blobs or manifests).
func splitPath(p string) (repo, kind, rest string, ok bool) {
	p, ok = strings.CutPrefix(p, "/v2/")
	if !ok {
		return "", "", "", false
	}
	for _, k := range []string{"/blobs/", "/manifests/"} {
		if i := strings.LastIndex(p, k); i > 0 {
			return p[:i], strings.Trim(k, "/"), p[i+len(k):], true
		}
	}
	return "", "", "", false
}

func (o *observer) link(repo, digest string) {
	if o.links[repo] == nil {
		o.links[repo] = map[string]bool{}
	}
	o.links[repo][digest] = true
}

func (o *observer) wrap(next http.Handler) http.Handler {
	o.links = map[string]map[string]bool{}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		repo, kind, rest, ok := splitPath(req.URL.Path)
		if !ok {
			next.ServeHTTP(w, req)
			return
		}
		if o.scoped && kind == "blobs" && !strings.HasPrefix(rest, "uploads") && (req.Method == http.MethodHead || req.Method == http.MethodGet) {
			o.mu.Lock()
			linked := o.links[repo][rest]
			o.mu.Unlock()
			if !linked {
				writeError(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry")
				return
			}
		}
		if o.scoped && kind == "blobs" && req.Method == http.MethodPost {
			q := req.URL.Query()
			if d, from := q.Get("mount"), q.Get("from"); d != "" && from != "" {
				o.mu.Lock()
				has := o.links[from][d]
				if has {
					o.link(repo, d)
					o.stats.BlobMounts++
				}
				o.mu.Unlock()
				if has {
					w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d)
					w.Header().Set("Docker-Content-Digest", d)
					w.WriteHeader(http.StatusCreated)
					return
				}
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, req)
		o.mu.Lock()
		defer o.mu.Unlock()
		switch {
		case kind == "blobs" && req.Method == http.MethodPut && sw.code == http.StatusCreated:
			o.stats.BlobUploads++
			if d := req.URL.Query().Get("digest"); d != "" {
				o.link(repo, d)
			}
		case kind == "manifests" && req.Method == http.MethodPut && sw.code == http.StatusCreated:
			o.stats.ManifestPuts++
		}
	})
}

// writeError answers with an OCI distribution error body.
func writeError(w http.ResponseWriter, code int, errCode, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": errCode, "message": msg}}})
}

// authHandler guards the registry with basic auth or the token flow.
type authHandler struct {
	mode           int
	user, password string
	next           http.Handler
	obs            *observer

	mu     sync.Mutex
	tokens map[string]bool
}

func (a *authHandler) basicOK(req *http.Request) bool {
	u, p, ok := req.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(u), []byte(a.user)) == 1 &&
		subtle.ConstantTimeCompare([]byte(p), []byte(a.password)) == 1
}

func (a *authHandler) refuse(w http.ResponseWriter, challenge, msg string) {
	a.obs.mu.Lock()
	a.obs.stats.Unauthorized++
	a.obs.mu.Unlock()
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", msg)
}

func (a *authHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch a.mode {
	case authBasic:
		if !a.basicOK(req) {
			a.refuse(w, `Basic realm="testregistry"`, ErrorMessage)
			return
		}
	case authToken:
		if req.URL.Path == "/token" {
			a.token(w, req)
			return
		}
		tok, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		a.mu.Lock()
		valid := ok && a.tokens[tok]
		a.mu.Unlock()
		if !valid {
			challenge := `Bearer realm="http://` + req.Host + `/token",service="testregistry"`
			if repo, _, _, ok := splitPath(req.URL.Path); ok {
				challenge += `,scope="repository:` + repo + `:pull,push"`
			}
			a.refuse(w, challenge, "authentication required")
			return
		}
	}
	a.next.ServeHTTP(w, req)
}

// token is the token endpoint: basic auth in, {"token": …} out.
func (a *authHandler) token(w http.ResponseWriter, req *http.Request) {
	if !a.basicOK(req) {
		a.refuse(w, `Basic realm="testregistry"`, ErrorMessage)
		return
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := hex.EncodeToString(b[:])
	a.mu.Lock()
	a.tokens[tok] = true
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300})
}
