package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors of a pull, wrapped with the image and registry at fault.
var (
	ErrManifestUnknown  = errors.New("manifest unknown")
	ErrUnauthorized     = errors.New("access denied")
	ErrPlatformNotFound = errors.New("no matching platform")
)

// Puller fetches images from registries (mirrors first) into a Store.
type Puller struct {
	store      *Store
	cfg        *Config
	keychain   authn.Keychain
	remoteOpts []remote.Option
}

// PullerOpt configures a Puller.
type PullerOpt func(*Puller)

// WithKeychain sets where credentials come from (default: Docker's
// ~/.docker/config.json and credential helpers).
func WithKeychain(k authn.Keychain) PullerOpt { return func(p *Puller) { p.keychain = k } }

// WithRemoteOptions adds go-containerregistry remote options (transport,
// retry policy) to every registry call.
func WithRemoteOptions(o ...remote.Option) PullerOpt {
	return func(p *Puller) { p.remoteOpts = append(p.remoteOpts, o...) }
}

// NewPuller makes a Puller storing into store; cfg may be nil.
func NewPuller(store *Store, cfg *Config, opts ...PullerOpt) *Puller {
	p := &Puller{store: store, cfg: cfg, keychain: authn.DefaultKeychain}
	for _, o := range opts {
		o(p)
	}
	return p
}

// PullOptions tune one pull.
type PullOptions struct {
	Platform string // os/arch[/variant]; DefaultPlatform when empty
	Progress ProgressFunc
}

// DefaultPlatform is the platform chosen from a multi-platform image when
// none is asked for: linux and this machine's architecture.
func DefaultPlatform() string { return "linux/" + runtime.GOARCH }

// Pull fetches ref and stores it, tagged as ref (unless ref is a digest).
func (p *Puller) Pull(ctx context.Context, ref string, opts PullOptions) (*Image, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	opts.Progress.send(Event{Image: ref, Status: StatusResolving})
	res, err := p.Resolve(ctx, r, opts.Platform)
	if err != nil {
		if accessDenied(err) {
			// Docker's words for a repository the registry does not show
			return nil, fmt.Errorf("pull access denied for %s, repository does not exist or may require 'docker login': pull %s: %w", r.FamiliarName(), r.Familiar(), err)
		}
		return nil, fmt.Errorf("pull %s: %w", r.Familiar(), err)
	}
	io := ImportOptions{RepoDigest: r.Name() + "@" + res.Digest, Pulled: true, Label: ref, Progress: opts.Progress}
	if r.Tag != "" {
		io.Tags = []string{r.WithTag(r.Tag).String()}
	}
	img, err := p.store.Import(ctx, res.Image, io)
	if err != nil {
		return nil, fmt.Errorf("pull %s from registry %s: %w", r.Familiar(), res.Registry, err)
	}
	opts.Progress.send(Event{Image: ref, Status: StatusDone})
	return img, nil
}

// Resolved is an image found in a registry, not yet fetched.
type Resolved struct {
	Image    v1.Image
	Digest   string // what ref points at: the index digest for a multi-platform image
	Registry string // the registry (or mirror) that answered
}

// Resolve finds ref's manifest for platform, asking ref's mirrors first
// and then its registry. Layers are fetched lazily from the registry that
// answered when the image is read.
func (p *Puller) Resolve(ctx context.Context, r Reference, platform string) (*Resolved, error) {
	want, err := parsePlatform(platform)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, host := range append(slices.Clone(p.cfg.MirrorsFor(r.Domain)), r.Domain) {
		res, err := p.resolveAt(ctx, host, r, want, platform != "")
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil || errors.Is(err, ErrPlatformNotFound) {
			return nil, err
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (p *Puller) resolveAt(ctx context.Context, host string, r Reference, want *v1.Platform, explicit bool) (*Resolved, error) {
	regHost, _, _ := strings.Cut(host, "/")
	repo := r.Path
	if prefix, ok := strings.CutPrefix(host, regHost+"/"); ok {
		repo = prefix + "/" + r.Path
	}
	var opts []name.Option
	if p.cfg.IsInsecure(regHost) {
		opts = append(opts, name.Insecure)
	}
	s := regHost + "/" + repo
	if r.Digest != "" {
		s += "@" + r.Digest
	} else {
		s += ":" + r.Tag
	}
	ref, err := name.ParseReference(s, opts...)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", regHost, err)
	}
	ropts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(p.keychain), remote.WithPlatform(*want)}, p.remoteOpts...)
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", regHost, classify(err))
	}
	res := &Resolved{Digest: desc.Digest.String(), Registry: regHost}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("registry %s: %w", regHost, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("registry %s: index %s: %w", regHost, desc.Digest, classify(err))
		}
		d, err := choosePlatform(im.Manifests, want)
		if err != nil {
			return nil, fmt.Errorf("registry %s: %w", regHost, err)
		}
		if res.Image, err = idx.Image(d); err != nil {
			return nil, fmt.Errorf("registry %s: %w", regHost, classify(err))
		}
		return res, nil
	}
	if res.Image, err = desc.Image(); err != nil {
		return nil, fmt.Errorf("registry %s: %w", regHost, classify(err))
	}
	if explicit {
		cfg, err := res.Image.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("registry %s: config: %w", regHost, classify(err))
		}
		got := &v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
		if !platformMatches(want, got) {
			return nil, fmt.Errorf("%w: image is %s, %s was asked for", ErrPlatformNotFound, platformOf(cfg), platformString(want))
		}
	}
	return res, nil
}

func parsePlatform(s string) (*v1.Platform, error) {
	if s == "" {
		s = DefaultPlatform()
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return nil, fmt.Errorf("platform %q: want os/arch[/variant], like linux/amd64", s)
	}
	return p, nil
}

// choosePlatform picks want from an index's manifests; a missing variant
// in want matches any (the first listed, as Docker does).
func choosePlatform(ms []v1.Descriptor, want *v1.Platform) (v1.Hash, error) {
	var avail []string
	for _, m := range ms {
		if m.Platform == nil || m.Platform.OS == "unknown" {
			continue // attestations and other non-images
		}
		if platformMatches(want, m.Platform) {
			return m.Digest, nil
		}
		avail = append(avail, platformString(m.Platform))
	}
	return v1.Hash{}, fmt.Errorf("%w: no %s image (available: %s)", ErrPlatformNotFound, platformString(want), strings.Join(avail, ", "))
}

func platformMatches(want, got *v1.Platform) bool {
	if want.OS != got.OS || want.Architecture != got.Architecture {
		return false
	}
	return want.Variant == "" || want.Variant == got.Variant ||
		(want.Architecture == "arm64" && want.Variant == "v8" && got.Variant == "")
}

func platformString(p *v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// classify wraps registry errors in the package's sentinels, keeping the
// registry's own words.
func classify(err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return err
	}
	err = boundedError{err}
	switch {
	case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden || hasCode(te, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
		return fmt.Errorf("%w (private image? check the name, or log in with `berth login`): %w", ErrUnauthorized, err)
	case te.StatusCode == http.StatusNotFound || hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode):
		return fmt.Errorf("%w (no such image or tag): %w", ErrManifestUnknown, err)
	}
	return err
}

// accessDenied reports whether a registry refused a repository or said it
// has none of that name (not a missing tag of a repository it has).
func accessDenied(err error) bool {
	if errors.Is(err, ErrUnauthorized) {
		return true
	}
	var te *transport.Error
	return errors.As(err, &te) && hasCode(te, transport.NameUnknownErrorCode, transport.DeniedErrorCode)
}

// boundedError shows at most boundMessage's length of a registry's error
// (whose body may be a whole HTML page) and still unwraps to it.
type boundedError struct{ err error }

func (b boundedError) Error() string { return boundMessage(b.err.Error()) }
func (b boundedError) Unwrap() error { return b.err }

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		if slices.Contains(codes, d.Code) {
			return true
		}
	}
	return false
}
