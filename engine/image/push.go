package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Push statuses, worded as `docker push` prints them.
const (
	StatusPreparing     Status = "Preparing"
	StatusPushing       Status = "Pushing"
	StatusPushed        Status = "Pushed"
	StatusLayerExists   Status = "Layer already exists"
	StatusMounted       Status = "Mounted"
	StatusPushDone      Status = "Pushed image"
	StatusManifestKnown Status = "Manifest already exists"
)

// ErrNoLocalTag is wrapped when the image to push is not in the store.
var ErrNoLocalTag = errors.New("an image does not exist locally with the tag")

// PushBackoff is how a push retries a request the registry answered
// 408/429/5xx or a connection that broke: 4 tries, 0.5 s, 1 s, 2 s apart.
var PushBackoff = remote.Backoff{Duration: 500 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 4}

// Pusher uploads images of a Store to registries. It takes the same
// options as a Puller (keychain, remote options).
type Pusher struct{ p *Puller }

// NewPusher makes a Pusher reading from store; cfg may be nil.
func NewPusher(store *Store, cfg *Config, opts ...PullerOpt) *Pusher {
	return &Pusher{p: NewPuller(store, cfg, opts...)}
}

// PushOptions tune one push.
type PushOptions struct {
	Progress ProgressFunc
}

// PushResult says what a push did.
type PushResult struct {
	Ref      string // the reference pushed (familiar form)
	Digest   string // manifest digest
	Size     int64  // manifest size
	Uploaded int    // blobs uploaded (layers and config)
	Skipped  int    // blobs the registry had
	Mounted  int    // blobs mounted from another repository
}

// Push uploads the image tagged ref to its registry: blobs the registry
// already holds are skipped, blobs another repository of that registry
// holds (known from the image's repo digests) are mounted, the rest are
// uploaded, then the manifest is put. The pushed name@digest is recorded
// as a repo digest of the image.
func (ps *Pusher) Push(ctx context.Context, ref string, opts PushOptions) (*PushResult, error) {
	r, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	if r.Digest != "" {
		return nil, fmt.Errorf("push %s: %w: push a tag, not a digest", ref, ErrInvalidReference)
	}
	s := ps.p.store
	lk, err := s.lockGC(ctx, false) // no prune removes a blob while it is read
	if err != nil {
		return nil, err
	}
	defer lk.Release()
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	rec, err := localTagged(idx, r)
	if err != nil {
		return nil, err
	}
	img, err := s.v1Image(rec)
	if err != nil {
		return nil, err
	}
	var nopts []name.Option
	if ps.p.cfg.IsInsecure(r.Domain) {
		nopts = append(nopts, name.Insecure)
	}
	tag, err := name.NewTag(r.Domain+"/"+r.Path+":"+r.Tag, nopts...)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", r.Familiar(), err)
	}
	obs := &pushObserver{base: remote.DefaultTransport}
	pi, err := newPushImage(img, r.Familiar(), mountSources(idx, rec, r, nopts), opts.Progress)
	if err != nil {
		return nil, err
	}
	ropts := append([]remote.Option{
		remote.WithContext(ctx), remote.WithAuthFromKeychain(ps.p.keychain),
		remote.WithTransport(obs), remote.WithRetryBackoff(PushBackoff),
	}, ps.p.remoteOpts...)
	if err := uploadImage(tag, pi, ropts, opts.Progress); err != nil {
		return nil, pushError(r, tag.RegistryStr(), explainHead(err, tag, ropts))
	}
	res := &PushResult{Ref: r.Familiar(), Digest: rec.Manifest}
	if m, err := img.RawManifest(); err == nil {
		res.Size = int64(len(m))
	}
	res.tally(pi, obs, opts.Progress)
	err = s.addRepoDigest(ctx, rec.Manifest, r.Name()+"@"+rec.Manifest)
	opts.Progress.send(Event{Image: r.Familiar(), Status: StatusPushDone})
	return res, err
}

// localTagged is the image the tag r names in the index.
func localTagged(idx *indexFile, r Reference) (*record, error) {
	t, ok := idx.Tags[r.String()]
	rec := idx.Images[t.Manifest]
	if !ok || rec == nil {
		return nil, fmt.Errorf("push %s: %w: %s", r.Familiar(), ErrNoLocalTag, r.Familiar())
	}
	return rec, nil
}

// uploadImage uploads pi under tag, reporting its layers as preparing first and,
// when the upload fails, those not finished as failed.
func uploadImage(tag name.Tag, pi *pushImage, ropts []remote.Option, progress ProgressFunc) error {
	for _, l := range pi.layers {
		progress.send(Event{Image: l.label, Layer: l.short, Status: StatusPreparing, Total: l.size})
	}
	err := remote.Write(tag, pi, ropts...)
	if err != nil {
		for _, l := range pi.layers {
			if !l.finished() {
				progress.send(Event{Image: l.label, Layer: l.short, Status: StatusFailed})
			}
		}
	}
	return err
}

// tally counts the blobs (layers and config) of a push by what became of
// them, and reports each layer's end.
func (res *PushResult) tally(pi *pushImage, obs *pushObserver, progress ProgressFunc) {
	for _, l := range append(pi.layers, pi.config) {
		st := l.status(obs)
		switch st {
		case StatusPushed:
			res.Uploaded++
		case StatusMounted:
			res.Mounted++
		default:
			res.Skipped++
		}
		if l != pi.config {
			ev := Event{Image: res.Ref, Layer: l.short, Status: st, Current: l.size, Total: l.size}
			if st == StatusMounted {
				ev.From = obs.mountedFrom(l.digest)
			}
			progress.send(ev)
		}
	}
}

// addRepoDigest records rd (name@digest) as a repo digest of the image
// with manifest digest manifest.
func (s *Store) addRepoDigest(ctx context.Context, manifest, rd string) error {
	return s.updateIndex(ctx, func(idx *indexFile) error {
		if cur := idx.Images[manifest]; cur != nil && !slices.Contains(cur.RepoDigests, rd) {
			cur.RepoDigests = append(cur.RepoDigests, rd)
		}
		return nil
	})
}

// TagsOf lists the tags (full names) of repository repo (a name without
// tag, "127.0.0.1:5000/app"), sorted: what `image push -a` pushes.
func (s *Store) TagsOf(repo string) ([]string, error) {
	r, err := ParseReference(repo)
	if err != nil {
		return nil, err
	}
	if r.Digest != "" || strings.HasSuffix(repo, ":"+r.Tag) {
		return nil, fmt.Errorf("%w %q: --all-tags takes a name without a tag", ErrInvalidReference, repo)
	}
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []string
	for t := range idx.Tags {
		if strings.HasPrefix(t, r.Name()+":") {
			out = append(out, familiar(t))
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("push %s: %w: %s", r.FamiliarName(), ErrNoLocalTag, r.FamiliarName())
	}
	return out, nil
}

// mountSources finds, for the image rec, another repository of r's
// registry that holds its blobs: a repo digest of this image, or of an
// image sharing a layer with it, recorded by a pull or an earlier push.
// Layers map to the reference to mount from (config included).
func mountSources(idx *indexFile, rec *record, r Reference, nopts []name.Option) map[string]name.Reference {
	out := map[string]name.Reference{}
	want := map[string]bool{rec.Config: true}
	for _, l := range rec.Layers {
		want[l.Blob] = true
	}
	consider := func(other *record) {
		for _, rd := range other.RepoDigests {
			src, err := ParseReference(rd)
			if err != nil || src.Domain != r.Domain || src.Path == r.Path {
				continue
			}
			ref, err := name.ParseReference(src.Name()+"@"+src.Digest, nopts...)
			if err != nil {
				continue
			}
			blobs := []string{other.Config}
			for _, l := range other.Layers {
				blobs = append(blobs, l.Blob)
			}
			for _, b := range blobs {
				if want[b] && out[b] == nil {
					out[b] = ref
				}
			}
		}
	}
	consider(rec)
	for _, other := range idx.Images {
		if other != rec {
			consider(other)
		}
	}
	return out
}

// pushImage is the stored image with its layers wrapped to report
// progress and, where a source is known, to be mounted.
type pushImage struct {
	v1.Image
	layers []*pushLayer
	config *pushLayer
}

func newPushImage(img v1.Image, label string, mounts map[string]name.Reference, progress ProgressFunc) (*pushImage, error) {
	ls, err := img.Layers()
	if err != nil {
		return nil, err
	}
	pi := &pushImage{Image: img}
	mk := func(l v1.Layer) (*pushLayer, error) {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		size, _ := l.Size()
		return &pushLayer{Layer: l, label: label, digest: d, short: short(d), size: size, progress: progress, from: mounts[d.String()]}, nil
	}
	for _, l := range ls {
		pl, err := mk(l)
		if err != nil {
			return nil, err
		}
		pi.layers = append(pi.layers, pl)
	}
	cl, err := partial.ConfigLayer(img)
	if err != nil {
		return nil, err
	}
	if pi.config, err = mk(cl); err != nil {
		return nil, err
	}
	return pi, nil
}

func (l *pushLayer) v1() v1.Layer {
	if l.from != nil {
		return &remote.MountableLayer{Layer: l, Reference: l.from}
	}
	return l
}

func (pi *pushImage) Layers() ([]v1.Layer, error) {
	out := make([]v1.Layer, len(pi.layers))
	for i, l := range pi.layers {
		out[i] = l.v1()
	}
	return out, nil
}

// ConfigLayer lets the config blob be mounted too (see partial.ConfigLayer).
func (pi *pushImage) ConfigLayer() (v1.Layer, error) { return pi.config.v1(), nil }

// pushLayer reports the bytes read from it as the upload's progress.
type pushLayer struct {
	v1.Layer
	label    string
	digest   v1.Hash
	short    string
	size     int64
	progress ProgressFunc
	from     name.Reference

	mu     sync.Mutex
	opened bool
	done   bool
}

func (l *pushLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.opened = true
	l.mu.Unlock()
	send := func(n int64) {
		l.progress.send(Event{Image: l.label, Layer: l.short, Status: StatusPushing, Current: n, Total: l.size})
	}
	send(0)
	pr := &progressReader{r: rc, step: 256 << 10, report: func(n int64) {
		send(n)
		if n >= l.size {
			l.mu.Lock()
			l.done = true
			l.mu.Unlock()
		}
	}}
	return struct {
		io.Reader
		io.Closer
	}{pr, rc}, nil
}

func (l *pushLayer) finished() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done
}

// status is what became of the layer: uploaded, mounted or already there.
func (l *pushLayer) status(obs *pushObserver) Status {
	l.mu.Lock()
	opened := l.opened
	l.mu.Unlock()
	switch {
	case opened:
		return StatusPushed
	case obs.mountedFrom(l.digest) != "":
		return StatusMounted
	}
	return StatusLayerExists
}

// pushObserver sees the requests of a push to tell mounts from blobs the
// registry had.
type pushObserver struct {
	base http.RoundTripper
	mu   sync.Mutex
	from map[string]string
}

func (o *pushObserver) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodPost {
		return resp, err
	}
	q := req.URL.Query()
	if d := q.Get("mount"); d != "" && q.Get("from") != "" && resp.StatusCode == http.StatusCreated {
		o.mu.Lock()
		if o.from == nil {
			o.from = map[string]string{}
		}
		o.from[d] = q.Get("from")
		o.mu.Unlock()
	}
	return resp, nil
}

func (o *pushObserver) mountedFrom(d v1.Hash) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.from[d.String()]
}

// explainHead turns a refusal of a HEAD request, which has no body, into
// the registry's own words: the same manifest is asked for with GET.
func explainHead(err error, tag name.Tag, ropts []remote.Option) error {
	var te *transport.Error
	if !errors.As(err, &te) || te.Request == nil || te.Request.Method != http.MethodHead || te.StatusCode < 400 {
		return err
	}
	_, gerr := remote.Get(tag, ropts...)
	var ge *transport.Error
	if errors.As(gerr, &ge) && ge.StatusCode == te.StatusCode {
		return gerr
	}
	return err
}

// pushError names the image and registry and says what to do.
func pushError(r Reference, reg string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		msg := boundMessage(te.Error())
		switch {
		case te.StatusCode == http.StatusUnauthorized || hasCode(te, transport.UnauthorizedErrorCode):
			return fmt.Errorf("push %s to registry %s: %w (log in with `berth login %s`): %s", r.Familiar(), reg, ErrUnauthorized, reg, msg)
		case te.StatusCode == http.StatusForbidden || hasCode(te, transport.DeniedErrorCode):
			return fmt.Errorf("push %s to registry %s: %w (the account may not push to %s): %s", r.Familiar(), reg, ErrUnauthorized, r.Path, msg)
		case te.StatusCode == http.StatusNotFound || hasCode(te, transport.NameUnknownErrorCode):
			return fmt.Errorf("push %s to registry %s: repository %s not found (create it first, or check the name): %s", r.Familiar(), reg, r.Path, msg)
		case te.StatusCode >= 500:
			return fmt.Errorf("push %s to registry %s: the registry failed (%d, after retries): %s", r.Familiar(), reg, te.StatusCode, msg)
		}
		return fmt.Errorf("push %s to registry %s: %s", r.Familiar(), reg, msg)
	}
	return fmt.Errorf("push %s to registry %s: %s", r.Familiar(), reg, boundMessage(err.Error()))
}

// boundMessage cuts a registry's message (which may be a whole HTML page)
// to a length fit for one error line.
func boundMessage(s string) string {
	const max = 512
	if len(s) <= max {
		return s
	}
	return s[:max] + "… (truncated)"
}
