package testregistry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berth-dev/berth/internal/testimages"
)

// Registry is a running in-memory registry on 127.0.0.1.
type Registry struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
	obs  *observer
	auth authn.Authenticator // what Push uses (anonymous without auth)
}

type options struct {
	addr       string
	log        io.Writer
	middleware func(http.Handler) http.Handler

	auth           int
	user, password string
	scoped         bool
}

// Opt configures Start.
type Opt func(*options)

// WithAddr listens on addr instead of 127.0.0.1 on a random port.
func WithAddr(addr string) Opt { return func(o *options) { o.addr = addr } }

// WithLog writes the registry's request log to w (default: discarded).
func WithLog(w io.Writer) Opt { return func(o *options) { o.log = w } }

// WithMiddleware wraps the registry's handler, e.g. to inject faults (a
// 401, a 404, a connection dropped mid-blob) in tests of pulls.
func WithMiddleware(m func(http.Handler) http.Handler) Opt {
	return func(o *options) { o.middleware = m }
}

// Start runs a registry until Close. It returns once the registry listens.
func Start(ctx context.Context, opts ...Opt) (*Registry, error) {
	o := options{addr: "127.0.0.1:0", log: io.Discard}
	for _, opt := range opts {
		opt(&o)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", o.addr)
	if err != nil {
		return nil, fmt.Errorf("test registry: listen on %s: %w", o.addr, err)
	}
	var h http.Handler = registry.New(registry.Logger(log.New(o.log, "registry: ", log.LstdFlags)))
	if o.middleware != nil {
		h = o.middleware(h)
	}
	obs := &observer{scoped: o.scoped}
	h = obs.wrap(h)
	var auth authn.Authenticator = authn.Anonymous
	if o.auth != authNone {
		h = &authHandler{mode: o.auth, user: o.user, password: o.password, next: h, obs: obs, tokens: map[string]bool{}}
		auth = &authn.Basic{Username: o.user, Password: o.password}
	}
	r := &Registry{
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second},
		ln:   ln,
		done: make(chan error, 1),
		obs:  obs,
		auth: auth,
	}
	go func() { r.done <- r.srv.Serve(ln) }()
	return r, nil
}

// Addr is the registry's host:port, e.g. "127.0.0.1:41234".
func (r *Registry) Addr() string { return r.ln.Addr().String() }

// Ref is the reference of name (e.g. "busybox:latest") in this registry:
// "127.0.0.1:PORT/busybox:latest".
func (r *Registry) Ref(name string) string { return r.Addr() + "/" + withTag(name) }

// MirrorEnv is the environment entry that makes berth resolve docker.io
// images (`image: busybox`) from this registry.
func (r *Registry) MirrorEnv() string { return "BERTH_REGISTRY_MIRRORS=docker.io=" + r.Addr() }

func withTag(n string) string {
	last := n[strings.LastIndex(n, "/")+1:]
	if !strings.Contains(last, ":") && !strings.Contains(last, "@") {
		n += ":latest"
	}
	return n
}

// Push uploads img as name. A name without a slash ("busybox:latest") is
// pushed as both <addr>/busybox:latest and <addr>/library/busybox:latest;
// a name with one ("org/app:1") as <addr>/org/app:1. It returns the first
// reference.
func (r *Registry) Push(ctx context.Context, name string, img v1.Image) (string, error) {
	name = withTag(name)
	refs := []string{r.Ref(name)}
	if !strings.Contains(name, "/") {
		refs = append(refs, r.Addr()+"/library/"+name)
	}
	for _, s := range refs {
		if err := push(ctx, s, img, r.auth); err != nil {
			return "", err
		}
	}
	return refs[0], nil
}

func push(ctx context.Context, ref string, img v1.Image, auth authn.Authenticator) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx), remote.WithAuth(auth)); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// PushStandard pushes testimages.Standard(). It returns the references
// pushed by name ("busybox:latest" → "127.0.0.1:PORT/busybox:latest").
func (r *Registry) PushStandard(ctx context.Context) (map[string]string, error) {
	imgs, err := testimages.Standard()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(imgs))
	for n := range imgs {
		names = append(names, n)
	}
	sort.Strings(names)
	refs := make(map[string]string, len(imgs))
	for _, n := range names {
		ref, err := r.Push(ctx, n, imgs[n])
		if err != nil {
			return nil, err
		}
		refs[n] = ref
	}
	return refs, nil
}

// Close stops the registry, dropping open connections.
func (r *Registry) Close() error {
	err := r.srv.Close()
	if serr := <-r.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// New starts a registry for the test, with the standard test images pushed,
// and closes it when the test ends.
func New(t testing.TB, opts ...Opt) *Registry {
	t.Helper()
	r, err := Start(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("test registry close: %v", err)
		}
	})
	if _, err := r.PushStandard(t.Context()); err != nil {
		t.Fatal(err)
	}
	return r
}
