package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/engine/devices"
	"github.com/berth-dev/berth/engine/events"
	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/rootfs"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/internal/safepath"
	"github.com/berth-dev/berth/network/portmap"
	"github.com/berth-dev/berth/volumes"
)

// newID returns a container ID: 64 hex characters, as Docker's.
func newID() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// containerSpec is one container to create.
type containerSpec struct {
	project *types.Project
	service types.ServiceConfig
	number  int
	name    string
	oneoff  bool
	image   *image.Image
	hash    string
	config  []byte
	// keepAnon are the anonymous volumes of the container this one
	// replaces (target → volume).
	keepAnon map[string]string
	// slug is a one-off's random part (com.docker.compose.slug).
	slug string
	// replaces is the ID of the container this one replaces
	// (com.docker.compose.replace).
	replaces string
	// portSpecs and ports are its published ports, as asked and as the
	// plan assigned them.
	portSpecs []portmap.Spec
	ports     []portmap.Binding
}

// create makes a container: its rootfs, mounts, network namespace,
// bundle and record. On failure nothing of it is left. What the record
// says is computed apart (earlyRecord, containerRecord); this function
// does the host's side, in order.
func (e *Engine) create(ctx context.Context, cs containerSpec) (rec *state.Container, err error) {
	svc := cs.service
	p := cs.project
	cdiNames, cdi, err := e.serviceDevices(&svc) // before anything is made: devices.go
	if err != nil {
		return nil, err
	}
	id := newID()
	dir := e.store.Dir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	layout := rootfs.LayoutIn(dir)
	var cleanups []func()
	defer func() {
		if err != nil {
			for i := len(cleanups) - 1; i >= 0; i-- {
				cleanups[i]()
			}
			rootfs.Unmount(layout)
			unmountImageVolumes(dir)
			os.RemoveAll(dir)
		}
	}()

	// The first record, before anything exists: if this command is killed
	// from here on, `down` finds the container and removes what was made.
	early := earlyRecord(cs, id, dir, layout.Merged, time.Now().UTC())
	if len(serviceNetworks(svc)) > 0 {
		early.Netns = e.netnsPath(id)
	}
	if err := e.claimName(ctx, early); err != nil {
		return nil, err
	}
	rt, err := e.Runtime(ctx, svc.Runtime)
	if err != nil {
		return nil, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	if err := rootfs.Mount(cs.image.LayerDirs(), layout); err != nil {
		return nil, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	mounts, used, err := e.containerMounts(ctx, cs, id, dir, layout.Merged)
	if err != nil {
		return nil, err
	}
	c := ociContainer(p, id, layout.Merged, mounts, cdiNames, cdi)
	exposed, err := exposedPorts(p, svc, cs.image.Config().Config.ExposedPorts)
	if err != nil {
		return nil, err
	}
	ns, err := e.prepareNetwork(ctx, p, svc, id, cs.name, dir, cs.ports, &c)
	if err != nil {
		return nil, err
	}
	cleanups = append(cleanups, func() { e.releaseNetwork(context.WithoutCancel(ctx), id, ns) })
	ipcMode, err := e.prepareIpc(p, svc, &c) // engine/ipc.go
	if err != nil {
		return nil, err
	}
	if err := withInit(svc, &c); err != nil {
		return nil, err
	}
	spec, err := e.generateSpec(cs, c)
	if err != nil {
		return nil, err
	}
	if err := writeBundle(dir, spec); err != nil {
		return nil, err
	}
	rec = containerRecord(cs, made{
		id: id, bundle: dir, rootfs: layout.Merged, spec: spec, net: ns, runtime: rt.Name(),
		volumes: used, exposed: exposed, imageID: cs.image.ID(), ipcMode: ipcMode,
		health: healthConfig(svc, cs.image.Config(), cs.image.HealthStartInterval()), // engine/health.go
	}, time.Now().UTC())
	if err := e.store.Put(rec); err != nil {
		return nil, err
	}
	e.record(events.ActionCreate, rec)
	return rec, nil
}

// earlyRecord is the record create claims the container's name with,
// before anything of it exists (Creating set): enough for `down` to find
// and remove what a killed create left.
func earlyRecord(cs containerSpec, id, bundle, rootfsPath string, at time.Time) *state.Container {
	return &state.Container{
		ID: id, Name: cs.name, Project: cs.project.Name, Service: cs.service.Name, Number: cs.number, Oneoff: cs.oneoff,
		Labels: containerLabels(cs), // labels.go
		Image:  imageRef(cs.project, cs.service), Created: at, Bundle: bundle, Rootfs: rootfsPath, Creating: true,
	}
}

// containerMounts are the container's volumes, binds, tmpfs and image
// volumes (mounts.go), then its configs and secrets (files.go), with
// the volumes it uses.
func (e *Engine) containerMounts(ctx context.Context, cs containerSpec, id, dir, rootfsPath string) ([]specs.Mount, []volumes.Used, error) {
	mounts, used, err := e.serviceMounts(ctx, cs.project, cs.service, cs.image, rootfsPath, id, cs.keepAnon)
	if err != nil {
		return nil, nil, err
	}
	files, err := fileMounts(cs.project, cs.service, dir)
	if err != nil {
		return nil, nil, err
	}
	return append(mounts, files...), used, nil
}

// ociContainer is what the spec generator needs of the host for one
// container (its network part is filled in by prepareNetwork, its init
// by withInit).
func ociContainer(p *types.Project, id, rootfsPath string, mounts []specs.Mount, cdiNames []string, cdi ociruntime.DeviceInjector) ociruntime.Container {
	return ociruntime.Container{
		ID:         id,
		Project:    p.Name,
		Rootfs:     rootfsPath,
		Mounts:     mounts,
		ProjectDir: p.WorkingDir,
		LookupEnv: func(k string) (string, bool) {
			v, ok := p.Environment[k]
			return v, ok
		},
		CDIDevices: cdiNames,
		CDI:        cdi,
	}
}

// withInit makes berth itself the container's init (`init: true`).
func withInit(svc types.ServiceConfig, c *ociruntime.Container) error {
	if svc.Init == nil || !*svc.Init {
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("service %q: init: %w", svc.Name, err)
	}
	c.InitBinary, c.InitArgs = self, []string{"__init", "--"}
	// berth built the ordinary Go way (cgo on) is dynamically linked:
	// it then runs as the init through the host's own loader.
	if c.InitInterp, c.InitLibs, err = ociruntime.InitDeps(self); err != nil {
		return fmt.Errorf("service %q: init: true: %w", svc.Name, err)
	}
	return nil
}

// generateSpec is the container's OCI spec; what the generator and the
// device request could not honour is shown as warnings.
func (e *Engine) generateSpec(cs containerSpec, c ociruntime.Container) (*specs.Spec, error) {
	svc := cs.service
	spec, warnings, err := ociruntime.Generate(cs.image.Config(), &svc, c)
	if err != nil {
		return nil, err
	}
	for _, w := range devices.Warnings(&svc) {
		warnings = append(warnings, fmt.Sprintf("service %q: %s", svc.Name, w))
	}
	for _, w := range warnings {
		e.progress(Event{Kind: "Container", Name: cs.name, Status: "Warning", Text: w})
	}
	return spec, nil
}

// made is what create made on the host for a container: the parts of its
// record only the host can say.
type made struct {
	id, bundle, rootfs string
	spec               *specs.Spec
	net                *netSetup
	runtime            string
	volumes            []volumes.Used
	exposed            []portmap.Binding
	imageID            string
	health             *state.HealthConfig
	ipcMode            string // HostConfig.IpcMode, from prepareIpc
}

// containerRecord is the record of a created container: what the spec
// asked (cs) and what the host made (m), created at at.
func containerRecord(cs containerSpec, m made, at time.Time) *state.Container {
	svc := cs.service
	var volumeNames []string
	anon := map[string]string{}
	for _, u := range m.volumes {
		volumeNames = append(volumeNames, u.Name)
		if u.Anonymous {
			anon[u.Target] = u.Name
		}
	}
	rec := &state.Container{
		ID:               m.id,
		Name:             cs.name,
		Project:          cs.project.Name,
		Service:          svc.Name,
		Number:           cs.number,
		Oneoff:           cs.oneoff,
		Labels:           containerLabels(cs),
		Image:            imageRef(cs.project, svc),
		ImageID:          m.imageID,
		Created:          at,
		Hash:             cs.hash,
		Config:           json.RawMessage(cs.config),
		Command:          m.spec.Process.Args,
		Bundle:           m.bundle,
		Rootfs:           m.rootfs,
		Netns:            m.net.netns,
		IpcMode:          m.ipcMode,
		Networks:         m.net.attached,
		PortSpecs:        cs.portSpecs,
		Ports:            m.net.ports,
		Exposed:          m.exposed,
		Hostname:         m.net.hostname,
		DNS:              m.net.dns,
		Runtime:          m.runtime,
		Volumes:          volumeNames,
		AnonymousVolumes: anon,
		Tty:              svc.Tty,
		StdinOpen:        svc.StdinOpen,
		StopSignal:       m.spec.Annotations[ociruntime.AnnotationStopSignal],
		Restart:          restartPolicy(svc),
		Health:           m.health,
	}
	if svc.Logging != nil {
		rec.LogOptions = svc.Logging.Options
	}
	if svc.StopGracePeriod != nil {
		rec.StopTimeout = time.Duration(*svc.StopGracePeriod)
	}
	return rec
}

// restartPolicy is the service's restart:, or deploy.restart_policy as
// Compose maps it.
func restartPolicy(s types.ServiceConfig) string {
	if s.Restart != "" {
		return s.Restart
	}
	if s.Deploy != nil && s.Deploy.RestartPolicy != nil {
		rp := s.Deploy.RestartPolicy
		switch rp.Condition {
		case "none":
			return "no"
		case "on-failure":
			if rp.MaxAttempts != nil {
				return fmt.Sprintf("on-failure:%d", *rp.MaxAttempts)
			}
			return "on-failure"
		case "any":
			return "always"
		}
	}
	return "no"
}

// imageRef is the image a service runs: image:, else <project>-<service>.
func imageRef(p *types.Project, s types.ServiceConfig) string { return build.ImageName(p, s) }

func writeBundle(dir string, spec *specs.Spec) error {
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, "config.json"), data, 0o600)
}

// remove deletes a container: stopped at once through its supervisor (or
// the runtime when none runs), its rootfs unmounted, its network torn
// down, its records and logs deleted; with volumes, its anonymous volumes
// too.
func (e *Engine) remove(ctx context.Context, rec *state.Container, removeVolumes bool) error {
	sup := e.supervisor(rec.Project)
	if _, err := sup.Call(ctx, supervisorRemove(rec.ID)); err != nil {
		if rt, rerr := e.Runtime(ctx, rec.Runtime); rerr == nil {
			rt.Delete(ctx, rec.ID, true)
		}
	}
	return e.removeRan(ctx, rec, removeVolumes)
}

// removeRan is remove for a container the runtime no longer knows: one
// that `<runtime> run` ran in the foreground to its end (the runtime
// deletes it then), so neither the supervisor nor the runtime is asked.
func (e *Engine) removeRan(ctx context.Context, rec *state.Container, removeVolumes bool) error {
	var errs []error
	// A start killed half-way may have left a subpath bound in the dir:
	// removing the dir through it would empty the volume.
	if err := safepath.UnstageDir(rec.Bundle); err != nil {
		errs = append(errs, err)
	}
	e.teardownNetwork(ctx, rec)
	if err := rootfs.Unmount(rootfs.LayoutIn(rec.Bundle)); err != nil {
		errs = append(errs, err)
	}
	if err := unmountImageVolumes(rec.Bundle); err != nil {
		errs = append(errs, err)
	}
	if removeVolumes {
		if err := e.removeAnonymousVolumes(ctx, rec); err != nil {
			errs = append(errs, err)
		}
	}
	if spec, err := ociruntime.ReadBundle(rec.Bundle); err == nil && spec.Linux != nil && spec.Linux.CgroupsPath != "" {
		// the runtime removes the container's cgroup; its project's goes
		// with the last container
		cg := spec.Linux.CgroupsPath
		ociruntime.RemoveCgroup(cg, filepath.Dir(filepath.Dir(cg)))
	}
	if len(errs) == 0 {
		if err := e.store.Delete(rec.ID); err != nil {
			errs = append(errs, err)
		} else {
			e.record(events.ActionDestroy, rec)
		}
	}
	if !rec.Oneoff {
		e.emit("Container", rec.Name, "Removed")
	}
	return errors.Join(errs...)
}
