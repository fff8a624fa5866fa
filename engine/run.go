package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/format"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/engine/supervisor"
	"github.com/berth-dev/berth/graph"
	"github.com/berth-dev/berth/internal/safepath"
)

// RunOptions are `run`'s flags.
type RunOptions struct {
	Service     string
	Command     []string // nil: the service's command
	Entrypoint  []string // nil: the service's entrypoint
	Env         []string // KEY=VALUE or KEY (from the host)
	Workdir     string
	User        string
	Volumes     []string // short syntax
	Name        string
	Labels      map[string]string
	CapAdd      []string // added to the service's cap_add
	CapDrop     []string // added to the service's cap_drop
	NoDeps      bool
	Remove      bool
	Detach      bool
	Tty         bool
	Interactive bool
	Stdin       *os.File
	Stdout      *os.File
	Stderr      *os.File
	Pull        string
	Build       string // BuildMissing, BuildAlways (--build) or BuildNever
	// ServicePorts publishes the service's ports (--service-ports); a
	// one-off publishes none otherwise, only Publish (-p, short syntax).
	ServicePorts bool
	Publish      []string
}

// RunResult is what Run made and how its command ended.
type RunResult struct {
	// Container is the one-off's name ("" when Run failed before
	// creating it).
	Container string
	// ExitCode is the command's exit code: 0 when detached, -1 when the
	// command did not run.
	ExitCode int
}

// Run runs a one-off container of a service: its dependencies are started
// first (unless NoDeps), then the command runs attached in the
// foreground (the CLI is its parent and gets its exit code) or detached
// under the supervisor. It returns the container it made and the
// command's exit code.
func (e *Engine) Run(ctx context.Context, p *types.Project, o *RunOptions) (RunResult, error) {
	res := RunResult{ExitCode: -1}
	publish, err := runPublish(o)
	if err != nil {
		return res, err
	}
	svc, p, err := runService(p, o.Service)
	if err != nil {
		return res, err
	}
	if !o.NoDeps {
		if err := e.upDependencies(ctx, p, o); err != nil {
			return res, err
		}
	}
	images, err := e.ensureImages(ctx, p, []string{o.Service}, imagePolicy{pull: o.Pull, build: o.Build})
	if err != nil {
		return res, err
	}
	if err := e.ensureNetworks(ctx, p, []string{o.Service}); err != nil {
		return res, err
	}
	if svc, err = oneoffService(p, svc, o, publish, os.LookupEnv); err != nil {
		return res, err
	}
	// Compose's slug: 64 random hex digits, the first 12 in the name.
	slug := newID()
	name := o.Name
	if name == "" {
		name = fmt.Sprintf("%s-%s-run-%s", p.Name, o.Service, slug[:12])
	}
	rec, err := e.createOneoff(ctx, p, svc, name, slug, images[o.Service])
	if err != nil {
		return res, err
	}
	res.Container = rec.Name
	if o.Detach {
		if err := e.startOneoff(ctx, p, rec); err != nil {
			return res, err
		}
		res.ExitCode = 0
		return res, nil
	}
	res.ExitCode, err = e.runOneoff(ctx, p, rec, o)
	return res, err
}

// runPublish is --publish parsed (short syntax), refused with
// --service-ports.
func runPublish(o *RunOptions) ([]types.ServicePortConfig, error) {
	if o.ServicePorts && len(o.Publish) > 0 {
		return nil, fmt.Errorf("--service-ports and --publish are incompatible")
	}
	var publish []types.ServicePortConfig
	for _, spec := range o.Publish {
		pcs, err := types.ParsePortConfig(spec)
		if err != nil {
			return nil, fmt.Errorf("--publish %q: %w", spec, err)
		}
		publish = append(publish, pcs...)
	}
	return publish, nil
}

// runService is the service a one-off runs; a service disabled by a
// profile is enabled for it (as Compose's run), in the project returned.
func runService(p *types.Project, name string) (types.ServiceConfig, *types.Project, error) {
	if svc, ok := p.Services[name]; ok {
		return svc, p, nil
	}
	ds, disabled := p.DisabledServices[name]
	if !disabled {
		return types.ServiceConfig{}, p, fmt.Errorf("no such service: %s", name)
	}
	p, err := p.WithServicesEnabled(name)
	if err != nil {
		return types.ServiceConfig{}, p, err
	}
	return ds, p, nil
}

// upDependencies starts what the one-off's service depends on
// (transitively), as `up` would.
func (e *Engine) upDependencies(ctx context.Context, p *types.Project, o *RunOptions) error {
	g, err := projectGraph(p)
	if err != nil {
		return err
	}
	var deps []string
	for _, n := range g.Subgraph([]string{o.Service}, graph.Forward).Nodes() {
		if n != o.Service {
			deps = append(deps, n)
		}
	}
	if len(deps) == 0 {
		return nil
	}
	_, err = e.Up(ctx, p, UpOptions{Services: deps, Pull: o.Pull, Build: o.Build})
	return err
}

// oneoffService is the one-off's own config: compose run's overrides, no
// restart, no published ports (unless asked), its own name. lookupEnv
// gives `-e KEY` its value from the host.
func oneoffService(p *types.Project, svc types.ServiceConfig, o *RunOptions, publish []types.ServicePortConfig, lookupEnv func(string) (string, bool)) (types.ServiceConfig, error) {
	if o.Command != nil {
		svc.Command = o.Command
	}
	if o.Entrypoint != nil {
		svc.Entrypoint = o.Entrypoint
		if o.Command == nil {
			svc.Command = nil
		}
	}
	overrideEnv(&svc, o.Env, lookupEnv)
	if o.Workdir != "" {
		svc.WorkingDir = o.Workdir
	}
	if o.User != "" {
		svc.User = o.User
	}
	for _, v := range o.Volumes {
		vc, err := format.ParseVolume(v)
		if err != nil {
			return svc, fmt.Errorf("-v %q: %w", v, err)
		}
		if vc.Type == types.VolumeTypeBind && !strings.HasPrefix(vc.Source, "/") {
			vc.Source = p.RelativePath(vc.Source)
		}
		svc.Volumes = append(svc.Volumes, vc)
	}
	svc.CapAdd = append(svc.CapAdd, o.CapAdd...)
	svc.CapDrop = append(svc.CapDrop, o.CapDrop...)
	for k, v := range o.Labels {
		setLabel(&svc, k, v)
	}
	if o.Remove && o.Detach {
		// detached: the supervisor removes it when it exits (Compose's
		// --rm -d), as it does standalone containers of `container run --rm`
		setLabel(&svc, supervisor.LabelAutoRemove, "true")
	}
	svc.Restart = "no"
	if svc.Deploy != nil {
		// a one-off keeps the service's resources, GPU reservations
		// included (as Compose's run), not its replicas or restart policy
		svc.Deploy = &types.DeployConfig{Resources: svc.Deploy.Resources}
	}
	if !o.ServicePorts {
		svc.Ports = publish
	}
	svc.ContainerName = ""
	svc.Tty = o.Tty
	svc.StdinOpen = o.Interactive
	return svc, nil
}

// overrideEnv sets -e KEY=VALUE (or KEY, from the host when it has it)
// over the service's environment.
func overrideEnv(svc *types.ServiceConfig, env []string, lookupEnv func(string) (string, bool)) {
	if len(env) == 0 {
		return
	}
	for k, v := range types.NewMappingWithEquals(env) {
		if v == nil {
			if hv, ok := lookupEnv(k); ok {
				v = &hv
			}
		}
		if svc.Environment == nil {
			svc.Environment = types.MappingWithEquals{}
		}
		svc.Environment[k] = v
	}
}

func setLabel(svc *types.ServiceConfig, k, v string) {
	if svc.Labels == nil {
		svc.Labels = types.Labels{}
	}
	svc.Labels[k] = v
}

// createOneoff creates the one-off container of svc, its ports assigned
// against every other container's.
func (e *Engine) createOneoff(ctx context.Context, p *types.Project, svc types.ServiceConfig, name, slug string, img *image.Image) (*state.Container, error) {
	hash, cfg, err := serviceHash(p, svc)
	if err != nil {
		return nil, err
	}
	specs, err := servicePortSpecs(p, svc)
	if err != nil {
		return nil, err
	}
	alloc, err := e.portAllocator(nil)
	if err != nil {
		return nil, err
	}
	ports, err := alloc.Assign(name, specs, nil)
	if err != nil {
		return nil, portError(p, svc.Name, 1, err)
	}
	return e.create(ctx, containerSpec{project: p, service: svc, number: 1, name: name, oneoff: true, slug: slug, image: img, hash: hash, config: cfg, portSpecs: specs, ports: ports})
}

// startOneoff starts a detached one-off under the supervisor; one that
// cannot start is removed.
func (e *Engine) startOneoff(ctx context.Context, p *types.Project, rec *state.Container) error {
	if err := e.supervisor(p.Name).Ensure(ctx); err != nil {
		e.remove(context.WithoutCancel(ctx), rec, true)
		return err
	}
	if err := e.startContainer(ctx, rec.ID, rec.Name); err != nil {
		e.remove(context.WithoutCancel(ctx), rec, true)
		return err
	}
	return nil
}

// runOneoff runs a created one-off in the foreground (runForeground),
// its names served by the project's resolver meanwhile, and with --rm
// removes it after. It returns the command's exit code.
func (e *Engine) runOneoff(ctx context.Context, p *types.Project, rec *state.Container, o *RunOptions) (int, error) {
	named := servesNames(rec)
	if named {
		// the project's resolver must answer inside the one-off's netns
		sup := e.supervisor(p.Name)
		if err := sup.Ensure(ctx); err == nil {
			sup.Call(ctx, supervisor.Request{Op: supervisor.OpServeDNS, ID: rec.ID})
		}
	}
	code, runErr := e.runForeground(ctx, rec, *o)
	if named {
		// stop serving its names; the record itself stays unless --rm,
		// with the exit runForeground wrote (Compose: "exited")
		e.supervisor(p.Name).Call(context.WithoutCancel(ctx), supervisor.Request{Op: supervisor.OpUnserveDNS, ID: rec.ID})
	}
	if o.Remove {
		remove := e.remove
		if runErr == nil && !named {
			// the runtime deleted it at its exit, and no supervisor
			// holds it: nobody to ask
			remove = e.removeRan
		}
		if err := remove(context.WithoutCancel(ctx), rec, true); err != nil && runErr == nil {
			runErr = err
		}
	}
	return code, runErr
}

// runForeground runs a created container with the CLI's stdio and
// records its exit in the container's state.
func (e *Engine) runForeground(ctx context.Context, rec *state.Container, o RunOptions) (int, error) {
	rt, err := e.Runtime(ctx, rec.Runtime)
	if err != nil {
		return -1, err
	}
	stdin := o.Stdin
	if !o.Interactive {
		stdin = nil
	}
	unstage, err := safepath.StageDir(rec.Bundle) // as the supervisor's run
	if err != nil {
		return -1, err
	}
	defer unstage()
	st := &state.RuntimeState{Status: state.StatusRunning, StartedAt: time.Now().UTC()}
	e.store.PutState(rec.ID, st)
	code, err := rt.Run(ctx, rec.ID, rec.Bundle, ociruntime.Stdio{Stdin: stdin, Stdout: o.Stdout, Stderr: o.Stderr})
	st.Status, st.ExitCode, st.FinishedAt = state.StatusExited, code, time.Now().UTC()
	e.store.PutState(rec.ID, st)
	if err != nil && ctx.Err() == nil {
		return code, fmt.Errorf("service %q: %w", rec.Service, err)
	}
	return code, nil
}

// ExecOptions are `exec`'s flags.
type ExecOptions struct {
	Service     string
	Index       int // 1-based replica number
	Command     []string
	Env         []string
	Workdir     string
	User        string
	Detach      bool
	Tty         bool
	Interactive bool
	Privileged  bool
	Stdin       *os.File
	Stdout      *os.File
	Stderr      *os.File
}

// execTarget picks exec's container as Compose does: replica number index
// when given (one-offs have none), else the running replica with the lowest
// number, else a running one-off of the service.
func (e *Engine) execTarget(projectName, service string, index int) (*state.Container, error) {
	recs, err := e.store.List(projectName)
	if err != nil {
		return nil, err
	}
	var best *state.Container
	for _, r := range recs {
		if r.Service != service || (index > 0 && (r.Oneoff || r.Number != index)) {
			continue
		}
		st, err := e.store.GetState(r.ID)
		if err != nil {
			return nil, err
		}
		if st.Status != state.StatusRunning {
			continue
		}
		if best == nil || (best.Oneoff && !r.Oneoff) || (best.Oneoff == r.Oneoff && r.Number < best.Number) {
			best = r
		}
	}
	switch {
	case best != nil:
		return best, nil
	case index > 0:
		return nil, fmt.Errorf("service %q is not running container #%d", service, index)
	default:
		return nil, fmt.Errorf("service %q is not running", service)
	}
}

// Exec runs a command in a running container of a service and returns its
// exit code.
func (e *Engine) Exec(ctx context.Context, projectName string, o ExecOptions) (int, error) {
	rec, err := e.execTarget(projectName, o.Service, o.Index)
	if err != nil {
		return -1, err
	}
	return e.execIn(ctx, rec, o, nil)
}

// execIn runs a process in a running container; output, when set,
// receives both streams instead of o's.
func (e *Engine) execIn(ctx context.Context, rec *state.Container, o ExecOptions, output io.Writer) (int, error) {
	spec, err := ociruntime.ReadBundle(rec.Bundle)
	if err != nil {
		return -1, err
	}
	p := ociruntime.ExecProcess(spec.Process, o.Command, o.Env, o.Workdir, o.Tty)
	if o.User != "" {
		u, err := ociruntime.ResolveUser(rec.Rootfs, o.User, nil)
		if err != nil {
			return -1, fmt.Errorf("exec in %s: %w", rec.Name, err)
		}
		p.User = specs.User{UID: u.UID, GID: u.GID, AdditionalGids: u.AdditionalGids}
	}
	if o.Privileged {
		caps, err := ociruntime.Capabilities(nil, []string{"ALL"}, nil)
		if err != nil {
			return -1, err
		}
		p.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
	}
	rt, err := e.Runtime(ctx, rec.Runtime)
	if err != nil {
		return -1, err
	}
	eo := ociruntime.ExecOpts{Detach: o.Detach}
	switch {
	case output != nil:
		eo.Stdout, eo.Stderr = output, output
	case !o.Detach:
		if o.Interactive && o.Stdin != nil {
			eo.Stdin = o.Stdin
		}
		if o.Stdout != nil {
			eo.Stdout = o.Stdout
		}
		if o.Stderr != nil {
			eo.Stderr = o.Stderr
		}
	}
	x, err := rt.Exec(ctx, rec.ID, p, eo)
	if err != nil {
		return -1, fmt.Errorf("exec in %s: %w", rec.Name, err)
	}
	code, err := x.Wait()
	var ce *ociruntime.CommandError
	if errors.As(err, &ce) {
		return code, fmt.Errorf("exec in %s: %w", rec.Name, err)
	}
	return code, nil
}
