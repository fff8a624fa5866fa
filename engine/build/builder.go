package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/network/ipam"
)

// Puller fetches a missing base image; *image.Puller is one.
type Puller interface {
	Pull(ctx context.Context, ref string, o image.PullOptions) (*image.Image, error)
}

// Builder builds images into an image store. It is safe for concurrent
// builds: cache entries and layers are written atomically.
type Builder struct {
	store  *image.Store
	rt     func(context.Context) (ociruntime.Runtime, error)
	dir    string
	puller Puller
	now    func() time.Time
	// ipam and hostLock make the build networks (see WithNetworkSetup).
	ipam     func() (*ipam.Allocator, error)
	hostLock string
	// fw holds the build networks' NAT rules (see WithFirewall).
	fw Firewall
}

// Opt configures a Builder.
type Opt func(*Builder)

// WithPuller sets how missing base images are fetched (default: an
// image.Puller on the store with the registry config of image.LoadConfig).
func WithPuller(p Puller) Opt { return func(b *Builder) { b.puller = p } }

// New makes a Builder storing images in store, running RUN steps with the
// runtime rt returns (asked for once per build that has a RUN step to
// run), and keeping its cache under stateDir ($BERTH_ROOT/build-cache).
func New(store *image.Store, rt func(ctx context.Context) (ociruntime.Runtime, error), stateDir string, opts ...Opt) (*Builder, error) {
	b := &Builder{store: store, rt: rt, dir: stateDir, now: time.Now}
	for _, o := range opts {
		o(b)
	}
	for _, d := range []string{b.keysDir(), b.layersDir(), b.tmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("build cache %s: %w", stateDir, err)
		}
	}
	return b, nil
}

func (b *Builder) keysDir() string   { return filepath.Join(b.dir, "keys") }
func (b *Builder) layersDir() string { return filepath.Join(b.dir, "layers") }
func (b *Builder) tmpDir() string    { return filepath.Join(b.dir, "tmp") }

// Options describe one build.
type Options struct {
	ContextDir       string               // the build context (a directory)
	Dockerfile       string               // path of the Dockerfile, relative to ContextDir ("Dockerfile")
	DockerfileInline string               // the Dockerfile's text (wins over Dockerfile)
	Args             map[string]*string   // --build-arg (nil values are ignored)
	Target           string               // stage to build (default: the last)
	Labels           map[string]string    // labels added to the image
	NoCache          bool                 // run every step, use no cached result
	Pull             bool                 // pull base images even when present
	Tags             []string             // names given to the image once built
	Network          string               // RUN network: "default" (a bridge of the build's own), "host" or "none"
	ExtraHosts       []string             // host:ip (or host=ip) lines for RUN's /etc/hosts
	ShmSize          int64                // RUN's /dev/shm size in bytes (0: 64 MiB)
	Secrets          map[string]Secret    // build secrets by id (RUN --mount=type=secret)
	SSH              map[string]SSHSource // agents/keys by id (RUN --mount=type=ssh)
	// Contexts are the additional build contexts by name (FROM NAME,
	// COPY --from=NAME, RUN --mount=from=NAME): a directory, or
	// docker-image://REF.
	Contexts map[string]string
	Progress func(Step) // step events (called from one goroutine)
}

// Build builds the image o describes and returns it, tagged with o.Tags.
// On error nothing is tagged and no work dir, mount or container is left.
func (b *Builder) Build(ctx context.Context, o Options) (*image.Image, error) {
	started := b.now()
	if o.ContextDir == "" {
		o.ContextDir = "."
	}
	abs, err := filepath.Abs(o.ContextDir)
	if err != nil {
		return nil, err
	}
	o.ContextDir = abs
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("build context %s: %w: not a directory", abs, ErrContextAccess)
	}
	switch o.Network {
	case "", "default", "host", "none":
	default:
		return nil, fmt.Errorf("build network %q: %w: use default, host or none", o.Network, ErrUnsupported)
	}
	if err := checkContexts(o.Contexts); err != nil {
		return nil, err
	}
	for _, t := range o.Tags {
		if _, err := image.ParseReference(t); err != nil {
			return nil, fmt.Errorf("tag %q: %w", t, err)
		}
	}
	use, err := fsutil.AcquireShared(ctx, b.useLock())
	if err != nil {
		return nil, err
	}
	defer use.Release()
	name, data, err := readDockerfile(&o)
	if err != nil {
		return nil, err
	}
	df, err := parseDockerfile(name, data)
	if err != nil {
		return nil, err
	}
	bctx, err := openContext(o.ContextDir, o.Dockerfile)
	if err != nil {
		return nil, err
	}
	r := &run{b: b, o: &o, df: df, ctx: bctx, args: newArgScope(df.escape, o.Args), stages: map[int]*stageState{}}
	defer r.closeNetwork(ctx)
	if err := r.args.declareGlobal(df.metaArgs); err != nil {
		return nil, fmt.Errorf("%s: %w", df.name, err)
	}
	target, err := df.target(o.Target)
	if err != nil {
		return nil, err
	}
	needed, err := r.plan(target)
	if err != nil {
		return nil, err
	}
	for _, i := range needed {
		if err := r.buildStage(ctx, i); err != nil {
			return nil, err
		}
	}
	return r.export(ctx, r.stages[target], started)
}

// run is the state of one build.
type run struct {
	b      *Builder
	o      *Options
	df     *dockerfile
	ctx    *buildContext
	args   *argScope
	stages map[int]*stageState
	total  int // steps the build shows
	seq    int // last step number used
	rtOnce sync.Once
	rt     ociruntime.Runtime
	rtErr  error
	// the build network, made by the first RUN on it (network.go)
	netOnce sync.Once
	net     *buildNetwork
	netErr  error
}

func (r *run) runtime(ctx context.Context) (ociruntime.Runtime, error) {
	r.rtOnce.Do(func() {
		if r.b.rt == nil {
			r.rtErr = errors.New("build: no OCI runtime configured")
			return
		}
		r.rt, r.rtErr = r.b.rt(ctx)
	})
	return r.rt, r.rtErr
}

// export assembles the target stage into an image, imports it into the
// store and tags it.
func (r *run) export(ctx context.Context, st *stageState, started time.Time) (*image.Image, error) {
	ev := r.begin("", 0, 0, "exporting to image")
	cfg := st.cfg.DeepCopy()
	if len(r.o.Labels) > 0 && cfg.Config.Labels == nil {
		cfg.Config.Labels = map[string]string{}
	}
	for k, v := range r.o.Labels {
		cfg.Config.Labels[k] = v
	}
	img, err := st.image(cfg)
	if err == nil && st.healthStart > 0 && cfg.Config.Healthcheck != nil {
		img, err = withHealthStart(img, st.healthStart)
	}
	if err != nil {
		return nil, r.fail(ev, fmt.Errorf("assemble image: %w", err))
	}
	out, err := r.b.store.Import(ctx, img, image.ImportOptions{Tags: r.o.Tags, Label: "build"})
	if err != nil {
		return nil, r.fail(ev, fmt.Errorf("store built image: %w", err))
	}
	if unused := r.args.unused(); len(unused) > 0 {
		r.output(ev, fmt.Sprintf("WARNING: build args not consumed by any ARG: %s", strings.Join(unused, ", ")))
	}
	ev.Status, ev.Line = StatusOutput, "writing image "+out.ID()
	r.emit(ev)
	for _, t := range r.o.Tags {
		ev.Line = "naming to " + t + " done" // BuildKit's words
		r.emit(ev)
	}
	r.done(ev)
	_ = started
	return out, nil
}

// image is the stage's image with cfg as its config.
func (st *stageState) image(cfg *v1.ConfigFile) (v1.Image, error) {
	base, err := st.base.ConfigFile()
	if err != nil {
		return nil, err
	}
	c := base.DeepCopy()
	c.Config = cfg.Config
	c.Architecture, c.OS = "amd64", "linux"
	c.Created = v1.Time{Time: st.created}
	c.Author = cfg.Author
	if c.RootFS.Type == "" {
		c.RootFS.Type = "layers"
	}
	img, err := mutate.ConfigFile(st.base, c)
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, st.adds...)
}

// hashKey chains a step onto its parent's key.
func hashKey(parent string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(parent))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// withHealthStart adds HEALTHCHECK --start-interval to img's config, as
// Docker writes it ("StartInterval", in nanoseconds), which
// go-containerregistry's config type has no field for: the raw config is
// rewritten and the manifest made to point at it.
func withHealthStart(img v1.Image, d time.Duration) (v1.Image, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	c, _ := cfg["config"].(map[string]any)
	h, _ := c["Healthcheck"].(map[string]any)
	if h == nil {
		return img, nil
	}
	h["StartInterval"] = int64(d)
	if raw, err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	m = m.DeepCopy()
	sum := sha256.Sum256(raw)
	m.Config.Digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	m.Config.Size = int64(len(raw))
	rawManifest, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &rawConfigImage{Image: img, raw: raw, manifest: m, rawManifest: rawManifest}, nil
}

// rawConfigImage is an image whose config (and so manifest) was rewritten;
// its layers are the original's.
type rawConfigImage struct {
	v1.Image
	raw, rawManifest []byte
	manifest         *v1.Manifest
}

func (i *rawConfigImage) RawConfigFile() ([]byte, error)  { return i.raw, nil }
func (i *rawConfigImage) ConfigName() (v1.Hash, error)    { return i.manifest.Config.Digest, nil }
func (i *rawConfigImage) Manifest() (*v1.Manifest, error) { return i.manifest, nil }
func (i *rawConfigImage) RawManifest() ([]byte, error)    { return i.rawManifest, nil }

func (i *rawConfigImage) ConfigFile() (*v1.ConfigFile, error) {
	return v1.ParseConfigFile(bytes.NewReader(i.raw))
}

func (i *rawConfigImage) Digest() (v1.Hash, error) {
	sum := sha256.Sum256(i.rawManifest)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}, nil
}

func (i *rawConfigImage) Size() (int64, error) { return int64(len(i.rawManifest)), nil }
