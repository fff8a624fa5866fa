package engine

import (
	"context"
	"os/exec"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/archive"
	"github.com/berth-dev/berth/engine/auth"
	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/engine/events"
	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/ociruntime/initproc"
	"github.com/berth-dev/berth/engine/supervisor"
	"github.com/berth-dev/berth/internal/layout"
)

// This file is the engine's door for what the CLI needs of its
// subpackages: their types under the engine's names, and the few calls
// that need no Engine. cmd/berth imports package engine only
// (cmd/berth/boundary_test.go); a subpackage's type it shows to users is
// named here once.

// Images: the local store, registries, pull and push.
type (
	ImageStore        = image.Store
	Image             = image.Image
	ImageSummary      = image.Summary
	ImageReference    = image.Reference
	RemovedImages     = image.Removed
	ImagePruneOptions = image.PruneOptions
	RegistryConfig    = image.Config
	Puller            = image.Puller
	Pusher            = image.Pusher
	PullOptions       = image.PullOptions
	PushOptions       = image.PushOptions
	// ImageEvent is one line of pull or push progress.
	ImageEvent  = image.Event
	ImageStatus = image.Status
)

// Pull and push progress, worded as Docker does.
const (
	ImageStatusResolving     = image.StatusResolving
	ImageStatusWaiting       = image.StatusWaiting
	ImageStatusDownloading   = image.StatusDownloading
	ImageStatusExtracting    = image.StatusExtracting
	ImageStatusAlreadyExists = image.StatusAlreadyExists
	ImageStatusPullComplete  = image.StatusPullComplete
	ImageStatusFailed        = image.StatusFailed
	ImageStatusDone          = image.StatusDone
	ImageStatusPreparing     = image.StatusPreparing
	ImageStatusPushing       = image.StatusPushing
	ImageStatusPushed        = image.StatusPushed
	ImageStatusLayerExists   = image.StatusLayerExists
	ImageStatusMounted       = image.StatusMounted
	ImageStatusPushDone      = image.StatusPushDone
	ImageStatusManifestKnown = image.StatusManifestKnown
)

// A service's pull_policy values.
const (
	PullPolicyAlways  = image.PolicyAlways
	PullPolicyMissing = image.PolicyMissing
	PullPolicyNever   = image.PolicyNever
	PullPolicyBuild   = image.PolicyBuild
)

// Errors of the image store.
var (
	ErrImageNotFound = image.ErrNotFound
	ErrImageInUse    = image.ErrInUse
)

// OpenImages opens the image store of a layout, for commands that need
// no Engine (images, image ls/inspect/rm/prune/load/save/tag, pull, push).
func OpenImages(l layout.Layout) (*ImageStore, error) { return image.NewStore(l.Images()) }

// ParseImageReference parses an image reference with Docker's defaults
// (docker.io, library/, :latest).
func ParseImageReference(s string) (ImageReference, error) { return image.ParseReference(s) }

// LoadRegistryConfig reads berth's registry settings (mirrors, insecure
// registries) from config.yaml.
func LoadRegistryConfig() (*RegistryConfig, error) { return image.LoadConfig() }

// NewPuller pulls images into a store.
func NewPuller(store *ImageStore, cfg *RegistryConfig) *Puller { return image.NewPuller(store, cfg) }

// NewPusher pushes images of a store.
func NewPusher(store *ImageStore, cfg *RegistryConfig) *Pusher { return image.NewPusher(store, cfg) }

// Builds.
type (
	Builder = build.Builder
	// ImageBuildOptions are `image build`'s: one context, one Dockerfile.
	ImageBuildOptions = build.Options
	// BuildStep is one line of build progress.
	BuildStep       = build.Step
	BuildStepStatus = build.StepStatus
	// BuildSecret and BuildSSHSource are a build's secrets and SSH
	// agents (build --ssh, image build --secret/--ssh).
	BuildSecret    = build.Secret
	BuildSSHSource = build.SSHSource
)

// ParseBuildSecretSpec reads image build's --secret id=ID[,src=FILE|,env=VAR].
func ParseBuildSecretSpec(spec string, lookup func(string) (string, bool)) (string, BuildSecret, error) {
	return build.ParseSecretSpec(spec, lookup)
}

// ParseBuildSSHSpec reads --ssh default|ID[=SOCKET|KEY[,KEY]].
func ParseBuildSSHSpec(spec string) (string, BuildSSHSource, error) { return build.ParseSSHSpec(spec) }

// What happened to a build step.
const (
	BuildStatusStarted = build.StatusStarted
	BuildStatusOutput  = build.StatusOutput
	BuildStatusCached  = build.StatusCached
	BuildStatusDone    = build.StatusDone
	BuildStatusError   = build.StatusError
)

// ServiceImageName is the image a service runs or builds: image:, else
// <project>-<service>.
func ServiceImageName(p *types.Project, svc types.ServiceConfig) string {
	return build.ImageName(p, svc)
}

// ArchiveOptions are `cp`'s flags about what is copied and how.
type ArchiveOptions = archive.Options

// ShortID is the 12-character form of a container ID.
func ShortID(id string) string { return ociruntime.ShortID(id) }

// ContainerSpec reads the OCI runtime spec a container runs with.
func ContainerSpec(c *Container) (*specs.Spec, error) { return ociruntime.ReadBundle(c.Bundle) }

// Events: the state root's event log.
type (
	EventLog    = events.Log
	EventFilter = events.Filter
	// ProjectEvent is one recorded container event (create, start, die…).
	ProjectEvent = events.Event
)

// OpenEventLog opens the event log of a layout.
func OpenEventLog(l layout.Layout) *EventLog { return events.New(l.Events()) }

// ParseEventTime parses --since/--until: a Unix time, an RFC 3339 time
// or a duration back from now.
func ParseEventTime(s string, now time.Time) (time.Time, error) { return events.ParseTime(s, now) }

// ComposeEvent is an event as `docker compose events --json` writes it.
func ComposeEvent(e ProjectEvent) events.ComposeJSON { return events.Compose(e) }

// EventText is an event as `docker compose events` prints it.
func EventText(e ProjectEvent) string { return events.Text(e) }

// Registry logins.
type CredentialsFile = auth.File

// DefaultRegistryServer is Docker Hub's key in ~/.docker/config.json.
const DefaultRegistryServer = auth.DefaultServer

// ErrNotLoggedIn is returned for a logout from a server with no login.
var ErrNotLoggedIn = auth.ErrNotLoggedIn

// RegistryServerAddress is the config.json key of a registry.
func RegistryServerAddress(server string) string { return auth.ServerAddress(server) }

// LoadCredentials reads ~/.docker/config.json (dir "" for the default).
func LoadCredentials(dir string) (*CredentialsFile, error) { return auth.Load(dir) }

// VerifyLogin checks a user and password against a registry.
func VerifyLogin(ctx context.Context, server, user, password string, insecure bool) error {
	return auth.Verify(ctx, server, user, password, insecure, nil)
}

// InitMain is the minimal init of `init: true` containers (berth
// re-executed as `__init -- CMD`); it returns the exit code.
func InitMain(args []string) int { return initproc.Main(args) }

// Keep runs a project's keeper: it starts the supervisor (serve) and
// restarts it when it dies, reaping the containers' inits meanwhile.
func Keep(ctx context.Context, l layout.Layout, project string, serve func() *exec.Cmd, logf func(string, ...any)) error {
	return supervisor.Keep(ctx, supervisor.KeepConfig{Project: project, RunDir: l.Run, Serve: serve, Logf: logf})
}

// Supervise runs a project's supervisor until its last container is
// removed; autoRemove is called for a `run --rm` container that exited.
func Supervise(ctx context.Context, l layout.Layout, project string, autoRemove func(id string), logf func(string, ...any)) error {
	return supervisor.Run(ctx, supervisor.Config{
		Project: project,
		Root:    l.Root,
		RunDir:  l.Run,
		RuntimeFor: func(ctx context.Context, name string) (ociruntime.Runtime, error) {
			return ociruntime.Detect(ctx, name, l.Run)
		},
		Logf:       logf,
		AutoRemove: autoRemove,
	})
}
