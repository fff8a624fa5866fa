package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/engine/supervisor"
)

// preStart runs a service's pre_start hooks (Compose 5): each hook is a
// container of its own, run to completion before the service's container
// starts, in order; the first that fails stops the sequence and leaves
// the service's container created, not started. compose-go has already
// completed each hook's container spec from the service's (image, env,
// user…); volumes come at run time from the service's container, as
// volumes_from would (named, bind and its anonymous volumes).
//
// By default the hooks run once per service however many replicas start
// (the first replica to start runs them, the others wait for the
// outcome); per_replica runs them before each replica. They run only
// when the service goes from no running container to running: an up that
// keeps a running replica (nothing changed, or a scale-up) runs none.
type preStart struct {
	e    *Engine
	p    *types.Project
	svc  types.ServiceConfig
	img  *image.Image // the service's image, for hooks that inherit it
	once sync.Once
	err  error
}

// newPreStart returns the hooks to run before the service's containers
// start in this up, or nil when there are none to run.
func (e *Engine) newPreStart(p *types.Project, svc types.ServiceConfig, img *image.Image, steps []Step) *preStart {
	if len(svc.PreStart) == 0 {
		return nil
	}
	for _, s := range steps {
		if s.Action == ActionKeep {
			return nil // a replica runs already
		}
	}
	return &preStart{e: e, p: p, svc: svc, img: img}
}

// before runs the hooks before rec starts (nil: nothing to run).
func (h *preStart) before(ctx context.Context, rec *state.Container) error {
	if h == nil {
		return nil
	}
	var perReplica, perService []int
	for i, hook := range h.svc.PreStart {
		if hook.PerReplica {
			perReplica = append(perReplica, i)
		} else {
			perService = append(perService, i)
		}
	}
	h.once.Do(func() { h.err = h.run(ctx, rec, perService) })
	if h.err != nil {
		return h.err
	}
	return h.run(ctx, rec, perReplica)
}

func (h *preStart) run(ctx context.Context, rec *state.Container, which []int) error {
	for _, i := range which {
		if err := h.runOne(ctx, rec, i); err != nil {
			return err
		}
	}
	return nil
}

// runOne runs hook i against rec's volumes and returns an error naming
// the hook (`pre_start[1]`) and its exit status, with the end of its
// output.
func (h *preStart) runOne(ctx context.Context, rec *state.Container, i int) error {
	e, p, svc := h.e, h.p, h.svc
	hook := svc.PreStart[i]
	what := fmt.Sprintf("service %q: pre_start[%d]", svc.Name, i)
	img := h.img
	if hook.Image != "" && hook.Image != svc.Image {
		var err error
		if img, err = e.localImage(ctx, hook.Image); err != nil {
			return fmt.Errorf("%s: image %s: %w", what, hook.Image, err)
		}
	}
	hs := types.ServiceConfig{Name: svc.Name, ContainerSpec: hook.ContainerSpec}
	hs.Volumes = inheritedVolumes(hook.Volumes, svc.Volumes)
	hs.ContainerName = ""
	hs.Restart = "no"
	if hs.Image == "" {
		hs.Image = imageRef(p, svc) // a hook of a built service runs its image
	}
	hash, cfg, err := serviceHash(p, hs)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	slug := newID()
	name := fmt.Sprintf("%s-%s-pre_start-%d-%s", p.Name, svc.Name, i, slug[:12])
	hrec, err := e.create(ctx, containerSpec{project: p, service: hs, number: rec.Number, name: name, oneoff: true, slug: slug, image: img, hash: hash, config: cfg, keepAnon: rec.AnonymousVolumes})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	// removeVolumes false: the anonymous volumes are the service's.
	defer e.remove(context.WithoutCancel(ctx), hrec, false)
	out, err := os.Create(filepath.Join(hrec.Bundle, "pre_start.log"))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer out.Close()
	if len(hrec.Networks) > 0 {
		sup := e.supervisor(p.Name)
		if err := sup.Ensure(ctx); err == nil {
			sup.Call(ctx, supervisor.Request{Op: supervisor.OpServeDNS, ID: hrec.ID})
			defer sup.Call(context.WithoutCancel(ctx), supervisor.Request{Op: supervisor.OpUnserveDNS, ID: hrec.ID})
		}
	}
	e.emit("Container", rec.Name, fmt.Sprintf("Running pre_start[%d]", i))
	code, err := e.runForeground(ctx, hrec, RunOptions{Stdout: out, Stderr: out})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if code != 0 {
		return fmt.Errorf("%s exited with status %d%s", what, code, outputTail(out.Name()))
	}
	return nil
}

// inheritedVolumes is the hook's own volumes plus the service's, as
// volumes_from gives them: a target the hook declares itself wins.
func inheritedVolumes(own, service []types.ServiceVolumeConfig) []types.ServiceVolumeConfig {
	out := append([]types.ServiceVolumeConfig(nil), own...)
	for _, v := range service {
		taken := false
		for _, o := range own {
			if o.Target == v.Target {
				taken = true
				break
			}
		}
		if !taken {
			out = append(out, v)
		}
	}
	return out
}

// localImage is the image ref names in the store, pulled when missing (a
// pre_start hook's own image, an image volume's).
func (e *Engine) localImage(ctx context.Context, ref string) (*image.Image, error) {
	img, err := e.images.Get(ref)
	if err == nil || !errors.Is(err, image.ErrNotFound) {
		return img, err
	}
	cfg, err := image.LoadConfig()
	if err != nil {
		return nil, err
	}
	e.emit("Image", ref, "Pulling")
	img, err = image.NewPuller(e.images, cfg).Pull(ctx, ref, image.PullOptions{})
	if err != nil {
		return nil, err
	}
	e.emit("Image", ref, "Pulled")
	return img, nil
}

// outputTail is ": " and the last lines a hook printed, or "".
func outputTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return ": " + strings.Join(lines, "\n")
}
