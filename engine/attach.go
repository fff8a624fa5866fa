package engine

import (
	"context"
	"fmt"
	"io"

	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/engine/supervisor"
)

// AttachContainerOptions are `attach`'s flags.
type AttachContainerOptions struct {
	Service string
	Index   int       // the replica, 1 when zero
	Stdin   io.Reader // nil: no stdin (--no-stdin)
	Stdout  io.Writer
	Stderr  io.Writer
	// SigProxy sends the container a SIGINT when ctx ends (Ctrl-C), and
	// stays attached until it exits or Detach ends; without it, ctx
	// ending detaches.
	SigProxy bool
	// Detach ends the attach whatever SigProxy says (a second Ctrl-C).
	Detach context.Context
}

// AttachContainer attaches to a running container of a service, as
// `docker compose attach`: its output from now on, and the local stdin
// streamed to its stdin (when it was started with stdin_open). It
// returns the container's exit code when it exits while attached, -1
// when the attach was left first.
func (e *Engine) AttachContainer(ctx context.Context, project string, o AttachContainerOptions) (int, error) {
	if o.Index <= 0 {
		o.Index = 1
	}
	recs, err := e.store.List(project)
	if err != nil {
		return -1, err
	}
	var rec *state.Container
	for _, r := range recs {
		if r.Service == o.Service && r.Number == o.Index && !r.Oneoff {
			rec = r
		}
	}
	if rec == nil {
		return -1, fmt.Errorf("service %q has no container number %d (is the project up?)", o.Service, o.Index)
	}
	st, err := e.store.GetState(rec.ID)
	if err != nil {
		return -1, err
	}
	if st.Status != state.StatusRunning {
		return -1, fmt.Errorf("cannot attach to container %s: it is not running (%s)", rec.Name, st.Status)
	}
	attachCtx, detach := context.WithCancel(context.Background())
	defer detach()
	if o.Detach != nil {
		stop := context.AfterFunc(o.Detach, detach)
		defer stop()
	}
	stop := context.AfterFunc(ctx, func() {
		if !o.SigProxy {
			detach()
			return
		}
		_, err := e.supervisor(project).Call(context.Background(), supervisor.Request{Op: supervisor.OpKill, ID: rec.ID, Signal: "SIGINT"})
		if err != nil {
			detach()
		}
	})
	defer stop()
	if o.Stdin != nil && rec.StdinOpen {
		conn, err := e.supervisor(project).Stdin(attachCtx, rec.ID)
		if err != nil {
			return -1, fmt.Errorf("attach to %s: %w", rec.Name, err)
		}
		defer conn.Close()
		go func() {
			io.Copy(conn, o.Stdin)
			conn.CloseWrite()
		}()
	}
	code := -1
	err = e.Attach(attachCtx, []*state.Container{rec}, AttachOptions{
		Offsets: e.LogOffsets([]*state.Container{rec}),
		Exited:  func(_ *state.Container, st *state.RuntimeState) { code = st.ExitCode },
	}, func(l LogLine) {
		w := o.Stdout
		if l.Stream == "stderr" && o.Stderr != nil {
			w = o.Stderr
		}
		if w != nil {
			io.WriteString(w, l.Log)
		}
	})
	if err != nil && attachCtx.Err() == nil {
		return -1, err
	}
	return code, nil
}
