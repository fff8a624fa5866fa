package engine

import (
	"context"
	"io"
	"sync"

	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/engine/devices"
	"github.com/berth-dev/berth/engine/events"
	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/engine/supervisor"
	"github.com/berth-dev/berth/internal/layout"
	"github.com/berth-dev/berth/network"
	"github.com/berth-dev/berth/network/ipam"
	"github.com/berth-dev/berth/network/portmap"
)

// Engine is what the CLI calls. It holds no process-wide state beyond
// caches: every call observes what is on disk, plans, and executes.
type Engine struct {
	// Records are the container and network records, read-only: the
	// engine's read API (Containers, ContainerState, NetworkRecords…).
	*Records

	layout layout.Layout
	store  *state.Store
	images *image.Store

	// Runtime is the OCI runtime asked for (--runtime / BERTH_RUNTIME);
	// "" detects one.
	runtimeName string
	progress    func(Event)
	hookOutput  func(*state.Container, string) // WithHookOutput (hookoutput.go)
	stdout      io.Writer
	stderr      io.Writer

	events *events.Log

	rtMu     sync.Mutex
	runtimes map[string]ociruntime.Runtime

	buildProgress func(service string, s build.Step)
	builderOnce   sync.Once
	builder       *build.Builder
	builderErr    error

	// portHost and portOpts are the host side of port allocation (nil:
	// network.HostProbe and the host's ephemeral range); see WithPortHost.
	portHost portmap.Probe
	portOpts []portmap.Opt

	// firewall is berth's nftables table (WithFirewall; default: the
	// host's, opened once in New).
	firewall Firewall

	// netHost makes namespaces, bridges and veths (WithNetworkHost;
	// default: network.Kernel).
	netHost network.Host

	// poolOnce reads the configured address pool once (networkPool).
	poolOnce sync.Once
	poolOpts []ipam.Opt
	poolErr  error

	devMu  sync.Mutex
	devReg *devices.Registry // engine/devices.go

	// compatibility names containers as Compose v1 did (engine/compat.go).
	compatibility bool
}

// Opt configures an Engine.
type Opt func(*Engine)

// WithRuntime names the OCI runtime to use ("" detects crun or runc).
func WithRuntime(name string) Opt { return func(e *Engine) { e.runtimeName = name } }

// WithProgress receives what the engine does, for the CLI to show.
func WithProgress(fn func(Event)) Opt { return func(e *Engine) { e.progress = fn } }

// WithOutput sets where attached output (up without -d, run) goes.
func WithOutput(stdout, stderr io.Writer) Opt {
	return func(e *Engine) { e.stdout, e.stderr = stdout, stderr }
}

// New returns an engine on the state root and run dir.
func New(root, run string, opts ...Opt) (*Engine, error) {
	e := &Engine{
		Records:  OpenRecords(layout.Layout{Root: root, Run: run}),
		layout:   layout.Layout{Root: root, Run: run},
		progress: func(Event) {},
		stdout:   io.Discard,
		stderr:   io.Discard,
		runtimes: map[string]ociruntime.Runtime{},
	}
	e.store = e.Records.containers
	for _, o := range opts {
		o(e)
	}
	if e.firewall == nil {
		e.firewall = newFirewall()
	}
	if e.netHost == nil {
		e.netHost = network.Kernel{LockFile: hostNetworkLock}
	}
	if err := e.ensureDirs(); err != nil {
		return nil, err
	}
	e.events = events.New(e.layout.Events())
	imgs, err := image.NewStore(e.layout.Images())
	if err != nil {
		return nil, err
	}
	e.images = imgs
	return e, nil
}

// ensureDirs makes the state root and run dir private (layout.Ensure):
// whichever command comes first, and whatever the umask, other users never
// reach what containers leave in them. A dir found loose is tightened and
// said once.
func (e *Engine) ensureDirs() error {
	notices, err := e.layout.Ensure()
	if err != nil {
		return err
	}
	for _, n := range notices {
		e.progress(Event{Kind: "State", Name: "berth", Status: "Warning", Text: n})
	}
	return nil
}

// Runtime returns the OCI runtime of a name ("" for the default one).
func (e *Engine) Runtime(ctx context.Context, name string) (ociruntime.Runtime, error) {
	if name == "" {
		name = e.runtimeName
	}
	e.rtMu.Lock()
	defer e.rtMu.Unlock()
	if rt, ok := e.runtimes[name]; ok {
		return rt, nil
	}
	rt, err := ociruntime.Detect(ctx, name, e.layout.Run)
	if err != nil {
		return nil, err
	}
	e.runtimes[name] = rt
	e.runtimes[rt.Name()] = rt
	return rt, nil
}

// supervisor returns the client of a project's supervisor.
func (e *Engine) supervisor(project string) *supervisor.Client {
	return supervisor.NewClient(e.layout.Run, project)
}

// Event is one step of the engine's work, for progress output.
type Event struct {
	Kind   string // "Container", "Image", "Volume", "Network"
	Name   string
	Status string // "Creating", "Created", "Starting", "Started", "Stopping", …
	Err    error
	Text   string // extra detail
}

func (e *Engine) emit(kind, name, status string) {
	e.progress(Event{Kind: kind, Name: name, Status: status})
}

func supervisorRemove(id string) supervisor.Request {
	return supervisor.Request{Op: supervisor.OpRemove, ID: id}
}

// record appends a container event to the event log; a failure to log
// never fails the operation.
func (e *Engine) record(action string, rec *state.Container, attrs ...string) {
	if err := e.events.Emit(events.ForContainer(action, rec, attrs...)); err != nil {
		e.progress(Event{Kind: "Container", Name: rec.Name, Status: "Warning", Text: "event log: " + err.Error()})
	}
}
