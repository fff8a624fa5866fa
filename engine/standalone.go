package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/archive"
	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/engine/supervisor"
	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/internal/names"
	"github.com/berth-dev/berth/volumes"
)

// Standalone containers (`berth container run|create`, Docker's shape) are
// one-service projects synthesized in memory: they go through Up and Run
// like any service (rootfs, networks, ports, supervisor, logs, restart
// policies, healthchecks), each under a reserved project of its own that
// LabelStandalone marks, so that compose commands (`ls`, `ps`, `down`)
// leave them alone.

// LabelStandalone is "true" on a container `berth container` created.
const LabelStandalone = "dev.berth.standalone"

// StandaloneService is the service name of a standalone container's
// synthesized project.
const StandaloneService = "container"

// standaloneProjectPrefix starts the reserved project name of a standalone
// container; the rest is random.
const standaloneProjectPrefix = "berth-container-"

// IsStandalone reports whether a record is a standalone container's.
func IsStandalone(c *state.Container) bool {
	return c.Labels[LabelStandalone] == "true"
}

// StandaloneOptions describe a standalone container. Service carries what
// the docker-run flags say; Networks are existing berth networks to join
// (none: a bridge of its own); Volumes are the named volumes -v uses
// (created when missing, kept at rm).
type StandaloneOptions struct {
	Name     string
	Service  types.ServiceConfig
	Networks []string
	Volumes  []string
	Pull     string
	// Created, when set, is told the container's ID once it exists
	// (--cidfile); with -i/-t, once it has run.
	Created func(id string) error
	// IP is the container's address on the first of Networks (--ip).
	IP string
	// Aliases are its names on the first of Networks besides its own
	// (--network-alias); the default bridge takes none, as Docker's.
	Aliases []string
	// PublishAll publishes every exposed port (the image's EXPOSE and
	// --expose) on a free host port (-P).
	PublishAll bool
	// Create only creates (container create); else the container starts
	// under the supervisor (run -d).
	Create bool
	// Foreground runs it attached (run without -d): its output goes to
	// Output as it comes, and RunStandalone returns its exit code. With
	// Run.Tty or Run.Interactive it runs as `berth run` does, with the
	// CLI's stdio (Run carries them); else under the supervisor like any
	// container, its log kept. Remove (--rm) removes it when it exits.
	Foreground bool
	Remove     bool
	Output     func(LogLine)
	Run        RunOptions
}

// standaloneProject builds the one-service project of a standalone
// container.
func standaloneProject(o *StandaloneOptions) (*types.Project, error) {
	slug := newID()
	name := o.Name
	if name == "" {
		name = "berth_" + slug[:12]
		o.Name = name
	}
	wd, err := os.Getwd()
	if err != nil {
		wd = "/"
	}
	p := &types.Project{
		Name:       standaloneProjectPrefix + slug[:12],
		WorkingDir: wd,
		Services:   types.Services{},
		Networks:   types.Networks{},
		Volumes:    types.Volumes{},
	}
	svc := o.Service
	svc.Name = StandaloneService
	svc.ContainerName = name
	if svc.Labels == nil {
		svc.Labels = types.Labels{}
	}
	svc.Labels[LabelStandalone] = "true"
	if o.Remove && !o.Foreground {
		svc.Labels[supervisor.LabelAutoRemove] = "true" // the supervisor removes it
	}
	if svc.PullPolicy == "" {
		svc.PullPolicy = types.PullPolicyMissing
	}
	if err := standaloneNetworks(p, &svc, o); err != nil {
		return nil, err
	}
	for _, v := range o.Volumes {
		// made (as `docker volume create`) before Up, so that it belongs
		// to no project and outlives the container
		p.Volumes[v] = types.VolumeConfig{Name: v, External: true}
	}
	p.Services[svc.Name] = svc
	return p, nil
}

// standaloneNetworks joins the container to its networks: --network's
// (external, the first with --ip and --network-alias), else Docker's
// default bridge; none with a network_mode. Aliases and a fixed address
// need a user-defined network, as in Docker.
func standaloneNetworks(p *types.Project, svc *types.ServiceConfig, o *StandaloneOptions) error {
	userNetwork := len(o.Networks) > 0 && o.Networks[0] != DefaultBridge
	if len(o.Aliases) > 0 && (svc.NetworkMode != "" || !userNetwork) {
		return fmt.Errorf("network-scoped alias is supported only for containers in user defined networks")
	}
	if o.IP != "" && (svc.NetworkMode != "" || !userNetwork) {
		return fmt.Errorf("user specified IP address is supported on user defined networks only")
	}
	switch {
	case svc.NetworkMode != "":
		svc.Networks = nil
	case userNetwork:
		svc.Networks = map[string]*types.ServiceNetworkConfig{}
		for i, n := range o.Networks {
			svc.Networks[n] = nil
			if i == 0 && (o.IP != "" || len(o.Aliases) > 0) {
				svc.Networks[n] = &types.ServiceNetworkConfig{Ipv4Address: o.IP, Aliases: o.Aliases}
			}
			p.Networks[n] = types.NetworkConfig{Name: n, External: true}
		}
	default:
		// Docker's default bridge (defaultbridge.go): made on first use
		svc.Networks = map[string]*types.ServiceNetworkConfig{defaultBridgeKey: nil}
		p.Networks[defaultBridgeKey] = types.NetworkConfig{Name: DefaultBridge, External: true}
	}
	return nil
}

// RunStandalone creates a standalone container and, unless Create, starts
// it: detached under the project's supervisor, or in the foreground with
// the CLI's stdio (then it returns the exit code). A GPU request the host
// cannot meet fails before anything is made.
func (e *Engine) RunStandalone(ctx context.Context, o *StandaloneOptions) (*state.Container, int, error) {
	if err := e.checkStandaloneDevices(o.Service); err != nil {
		return nil, -1, err
	}
	p, err := standaloneProject(o)
	if err != nil {
		return nil, -1, err
	}
	if err := e.standaloneResources(ctx, p, o); err != nil {
		return nil, -1, err
	}
	if o.Foreground && (o.Run.Tty || o.Run.Interactive || runsAlone(o)) {
		return e.runStandaloneAttached(ctx, p, o)
	}
	_, err = e.Up(ctx, p, UpOptions{NoStart: o.Create, Pull: o.Pull, IgnoreOrphans: true})
	if err != nil {
		// nothing of a failed standalone container stays
		e.Down(context.WithoutCancel(ctx), p.Name, nil, DownOptions{Volumes: true})
		return nil, -1, err
	}
	rec, err := e.ContainerByRef(o.Name)
	if err == nil && o.Created != nil {
		err = o.Created(rec.ID)
	}
	if err != nil || !o.Foreground {
		return rec, 0, err
	}
	code, err := e.attachStandalone(ctx, p, rec, o)
	return rec, code, err
}

// standaloneResources makes what the container needs before it is
// created: the ports -P publishes (from its image's EXPOSE) and its
// named volumes, which belong to no project.
func (e *Engine) standaloneResources(ctx context.Context, p *types.Project, o *StandaloneOptions) error {
	if o.PublishAll {
		if err := e.publishAll(ctx, p, o.Pull); err != nil {
			return err
		}
	}
	for _, v := range o.Volumes {
		if _, err := e.volumeManager().Create(ctx, volumes.Spec{Name: v}); err != nil {
			return fmt.Errorf("volume %s: %w", v, err)
		}
	}
	return nil
}

// runStandaloneAttached runs a foreground container as `berth run` does,
// with the CLI as its parent: with a terminal or stdin, or when it runs
// alone (runsAlone). With --rm (or when it failed before it existed)
// its project goes after it, network and supervisor included.
func (e *Engine) runStandaloneAttached(ctx context.Context, p *types.Project, o *StandaloneOptions) (*state.Container, int, error) {
	ro := o.Run
	ro.Remove = o.Remove
	ro.Service = StandaloneService
	ro.Name = o.Name
	ro.NoDeps = true
	ro.ServicePorts = true
	ro.Pull = o.Pull
	res, err := e.Run(ctx, p, &ro)
	rec, _ := e.ContainerByRef(o.Name)
	if rec != nil && o.Created != nil && err == nil {
		err = o.Created(rec.ID)
	}
	if ro.Remove || (err != nil && rec == nil) {
		// the container went with --rm: its network and supervisor too
		if derr := e.Down(context.WithoutCancel(ctx), p.Name, nil, DownOptions{Volumes: true}); derr != nil && err == nil {
			err = derr
		}
	}
	return rec, res.ExitCode, err
}

// runsAlone reports whether a foreground container can run as `berth
// run` does, with the CLI as its parent and no supervisor (the fast path
// of `run --rm IMAGE CMD`): it goes with --rm, so no log needs to outlive
// it, and it has no healthcheck, which only the supervisor runs.
func runsAlone(o *StandaloneOptions) bool {
	hc := o.Service.HealthCheck
	return o.Remove && (hc == nil || hc.Disable)
}

// attachStandalone follows a foreground container's output until it
// exits (Ctrl-C stops it) and returns its exit code; with Remove, nothing
// of it is left then.
func (e *Engine) attachStandalone(ctx context.Context, p *types.Project, rec *state.Container, o *StandaloneOptions) (int, error) {
	out := o.Output
	if out == nil {
		out = func(LogLine) {}
	}
	err := e.Attach(ctx, []*state.Container{rec}, AttachOptions{}, out)
	bg := context.WithoutCancel(ctx)
	if ctx.Err() != nil {
		err = e.StopContainer(bg, rec, -1)
	}
	code := -1
	if st, serr := e.store.GetState(rec.ID); serr == nil {
		code = st.ExitCode
	}
	if o.Remove {
		zero := time.Duration(0)
		if derr := e.Down(bg, p.Name, nil, DownOptions{Volumes: true, Timeout: &zero}); err == nil {
			err = derr
		}
	}
	return code, err
}

// checkStandaloneDevices resolves the container's device requests (--gpus)
// before anything is created, so that a host without the GPU says so
// first.
func (e *Engine) checkStandaloneDevices(svc types.ServiceConfig) error {
	if len(svc.Gpus) == 0 && len(svc.Devices) == 0 {
		return nil
	}
	if _, _, err := e.serviceDevices(&svc); err != nil {
		return err
	}
	return nil
}

// ContainerByRef finds a container of any project by name, full ID or
// unique ID prefix, as Docker's container commands do.
func (e *Engine) ContainerByRef(ref string) (*state.Container, error) {
	recs, err := e.store.List("")
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.ID == ref {
			return r, nil
		}
	}
	return containerByRef(recs, ref)
}

// StopContainer stops one container (timeout < 0: its own grace period)
// and frees its host ports.
func (e *Engine) StopContainer(ctx context.Context, rec *state.Container, timeout time.Duration) error {
	if err := e.stopContainer(ctx, rec, timeout); err != nil {
		return err
	}
	return e.unpublish(rec)
}

// StartContainer starts one stopped container under its project's
// supervisor, taking its host ports again.
func (e *Engine) StartContainer(ctx context.Context, rec *state.Container) error {
	st, err := e.store.GetState(rec.ID)
	if err != nil {
		return err
	}
	if st.Status == state.StatusRunning {
		return nil
	}
	ports, err := e.startPorts([]*state.Container{rec})
	if err != nil {
		return err
	}
	if err := e.supervisor(rec.Project).Ensure(ctx); err != nil {
		return err
	}
	if err := e.publishRecord(rec.ID, ports[rec.ID]); err != nil {
		return err
	}
	return e.startContainer(ctx, rec.ID, rec.Name)
}

// KillContainer sends a signal to a running container.
func (e *Engine) KillContainer(ctx context.Context, rec *state.Container, signal string) error {
	if _, err := supervisor.ParseSignal(signal); err != nil {
		return err
	}
	st, err := e.store.GetState(rec.ID)
	if err != nil {
		return err
	}
	if st.Status != state.StatusRunning {
		return fmt.Errorf("container %s is not running", rec.Name)
	}
	if _, err := e.supervisor(rec.Project).Call(ctx, supervisor.Request{Op: supervisor.OpKill, ID: rec.ID, Signal: signal}); err != nil {
		return fmt.Errorf("kill %s: %w", rec.Name, err)
	}
	return nil
}

// ErrContainerRunning says rm without force met a running container.
var ErrContainerRunning = fmt.Errorf("container is running")

// RemoveContainer removes one container: a running one only with force
// (killed first, as Docker). A standalone container takes its network and
// supervisor with it, as `down` does for a project; volumes removes its
// anonymous volumes.
func (e *Engine) RemoveContainer(ctx context.Context, rec *state.Container, force, volumes bool) error {
	st, err := e.store.GetState(rec.ID)
	if err != nil {
		return err
	}
	if st.Status == state.StatusRunning || st.Status == state.StatusPaused || st.Status == state.StatusRestarting {
		if !force {
			return fmt.Errorf("cannot remove container %s: %w: stop the container before removing or force remove (-f)", rec.Name, ErrContainerRunning)
		}
	}
	if IsStandalone(rec) {
		zero := time.Duration(0)
		return e.Down(ctx, rec.Project, nil, DownOptions{Volumes: volumes, Timeout: &zero})
	}
	if force {
		if err := e.stopContainer(ctx, rec, 0); err != nil {
			return err
		}
	}
	return e.remove(ctx, rec, volumes)
}

// AutoRemove removes a container that exited for good with --rm (a
// standalone one with its network). The supervisor starts it in a child
// process, so it must not wait for the supervisor or its keeper to end:
// they go by themselves once idle.
func (e *Engine) AutoRemove(ctx context.Context, id string) error {
	rec, err := e.store.Get(id)
	if errors.Is(err, state.ErrNoContainer) {
		return nil // removed already (rm -f)
	}
	if err != nil {
		return err
	}
	lock, err := fsutil.Acquire(ctx, e.layout.ProjectLock(rec.Project))
	if err != nil {
		return err
	}
	defer e.releaseProjectLock(lock, rec.Project)
	st, err := e.store.GetState(id)
	if errors.Is(err, state.ErrNoContainer) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Status != state.StatusExited && st.Status != state.StatusDead {
		return nil // started again meanwhile
	}
	if err := e.remove(ctx, rec, true); err != nil {
		return err
	}
	if !IsStandalone(rec) {
		return nil
	}
	if left, err := e.store.List(rec.Project); err != nil || len(left) > 0 {
		return err
	}
	return e.removeProjectNetworks(ctx, rec.Project, nil)
}

// ExecContainer runs a command in one running container.
func (e *Engine) ExecContainer(ctx context.Context, rec *state.Container, o ExecOptions) (int, error) {
	st, err := e.store.GetState(rec.ID)
	if err != nil {
		return -1, err
	}
	if st.Status != state.StatusRunning {
		return -1, fmt.Errorf("container %s is not running (%s)", rec.Name, st.Status)
	}
	return e.execIn(ctx, rec, o, nil)
}

// ContainerLogs sends one container's log lines to fn (LogsOptions as
// Logs).
func (e *Engine) ContainerLogs(ctx context.Context, rec *state.Container, o LogsOptions, fn func(LogLine)) error {
	sel := Selection{Project: rec.Project, Services: []string{rec.Service}, All: true}
	if !rec.Oneoff {
		o.Index = rec.Number
	} else {
		o.Index = 0
	}
	if IsStandalone(rec) || !rec.Oneoff {
		return e.Logs(ctx, sel, o, fn)
	}
	// a compose one-off: only its own log
	return e.Logs(ctx, sel, o, func(l LogLine) {
		if l.Container == rec.Name {
			fn(l)
		}
	})
}

// ListContainers summarizes every container of every project (all: also
// stopped ones), standalone ones included, as `docker ps`.
func (e *Engine) ListContainers(ctx context.Context, all bool) ([]ContainerSummary, error) {
	recs, err := e.store.List("")
	if err != nil {
		return nil, err
	}
	projects := map[string]bool{}
	for _, r := range recs {
		projects[r.Project] = true
	}
	var out []ContainerSummary
	for name := range projects {
		list, err := e.Ps(ctx, name, PsOptions{All: all, Oneoff: true})
		if err != nil {
			return nil, err
		}
		for i := range list {
			// the user's command, as docker ps shows it with --init
			if rec, err := e.store.Get(list[i].ID); err == nil {
				list[i].Command = quoteCommand(withoutInit(rec.Command))
			}
		}
		out = append(out, list...)
	}
	return out, nil
}

// PauseContainer pauses (or, with pause false, resumes) one container.
func (e *Engine) PauseContainer(ctx context.Context, rec *state.Container, pause bool) error {
	op := supervisor.OpResume
	if pause {
		op = supervisor.OpPause
	}
	if _, err := e.supervisor(rec.Project).Call(ctx, supervisor.Request{Op: op, ID: rec.ID}); err != nil {
		return fmt.Errorf("%s %s: %w", op, rec.Name, err)
	}
	return nil
}

// CopyContainer copies between the host and one container (docker cp):
// src in the container to the host path dst, or with in the host path src
// to dst in the container.
func (e *Engine) CopyContainer(ctx context.Context, rec *state.Container, in bool, src, dst string, o archive.Options) error {
	root, err := e.copyRoot(rec)
	if err != nil {
		return err
	}
	defer root.Close()
	if in {
		if err := archive.CopyIn(ctx, root, src, dst, o); err != nil {
			return fmt.Errorf("cp to %s: %w", rec.Name, err)
		}
		return nil
	}
	if err := archive.CopyOut(ctx, root, src, dst, o); err != nil {
		return fmt.Errorf("cp from %s: %w", rec.Name, err)
	}
	return nil
}

// withoutInit drops berth's init (`/.berth/init __init --`) from a
// container's arguments.
func withoutInit(args []string) []string {
	if len(args) >= 3 && args[0] == ociruntime.InitPath && args[1] == "__init" && args[2] == "--" {
		return args[3:]
	}
	return args
}

// publishAll adds to the standalone service a port with no host port (a
// free one, assigned by Up) for each port it exposes that it does not
// publish already: docker run -P. The image is fetched for its EXPOSE.
func (e *Engine) publishAll(ctx context.Context, p *types.Project, pull string) error {
	images, err := e.ensureImages(ctx, p, []string{StandaloneService}, imagePolicy{pull: pull})
	if err != nil {
		return err
	}
	svc := p.Services[StandaloneService]
	exposed, err := exposedPorts(p, svc, images[StandaloneService].Config().Config.ExposedPorts)
	if err != nil {
		return err
	}
	for _, b := range exposed {
		dup := false
		for _, pc := range svc.Ports {
			if pc.Target == uint32(b.ContainerPort) && (pc.Protocol == string(b.Protocol) || (pc.Protocol == "" && b.Protocol == "tcp")) {
				dup = true
			}
		}
		if !dup {
			svc.Ports = append(svc.Ports, types.ServicePortConfig{Target: uint32(b.ContainerPort), Protocol: string(b.Protocol), Mode: "ingress"})
		}
	}
	p.Services[StandaloneService] = svc
	return nil
}

// RenameContainer gives a container a new name, unique under the state
// root as at create. Other containers resolve it by the new name at once
// through the store (dns peers); its own project's resolver learns it at
// its next start.
func (e *Engine) RenameContainer(ctx context.Context, ref, name string) error {
	if err := names.ValidContainerName(name); err != nil {
		return err
	}
	lock, err := fsutil.Acquire(ctx, e.layout.Lock("container-names"))
	if err != nil {
		return err
	}
	defer lock.Release()
	recs, err := e.store.List("")
	if err != nil {
		return err
	}
	rec, err := containerByRef(recs, ref)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Name == name && r.ID != rec.ID {
			return fmt.Errorf("the container name %q is already in use by container %s: remove or rename that container first", name, ociruntime.ShortID(r.ID))
		}
	}
	old := rec.Name
	rec.Name = name
	for i := range rec.Networks {
		for j, a := range rec.Networks[i].Aliases {
			if a == old {
				rec.Networks[i].Aliases[j] = name
			}
		}
	}
	return e.store.Put(rec)
}
