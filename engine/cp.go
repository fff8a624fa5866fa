package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/archive"
	"github.com/berth-dev/berth/engine/state"
)

// CopyOptions pick the container(s) of a `cp` and carry its flags.
type CopyOptions struct {
	Service string
	// Index is the replica; 0 (Compose's default) copies into every
	// replica of the service, and out of the first one.
	Index int
	archive.Options
}

// CopyFromContainer copies src, a path in the service's container (the
// replica Index, else the first), to the host path dst (see package
// archive for the rules).
func (e *Engine) CopyFromContainer(ctx context.Context, project string, o CopyOptions, src, dst string) error {
	recs, err := e.copyTargets(project, o)
	if err != nil {
		return err
	}
	rec := recs[0]
	root, err := e.copyRoot(rec)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := archive.CopyOut(ctx, root, src, dst, o.Options); err != nil {
		return fmt.Errorf("cp from %s: %w", rec.Name, err)
	}
	return nil
}

// CopyToContainer copies the host path src to dst in the service's
// containers: every replica, as Compose does, or the replica Index. It
// stops at the first replica it cannot copy into, naming it.
func (e *Engine) CopyToContainer(ctx context.Context, project string, o CopyOptions, src, dst string) error {
	recs, err := e.copyTargets(project, o)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		root, err := e.copyRoot(rec)
		if err != nil {
			return err
		}
		err = archive.CopyIn(ctx, root, src, dst, o.Options)
		root.Close()
		if err != nil {
			return fmt.Errorf("cp to %s: %w", rec.Name, err)
		}
	}
	return nil
}

// copyTargets are the containers a cp works on, by replica number: the
// replica Index alone, or (Index 0) all the service's replicas. One-off
// containers are never targets.
func (e *Engine) copyTargets(project string, o CopyOptions) ([]*state.Container, error) {
	recs, err := e.store.List(project)
	if err != nil {
		return nil, err
	}
	var out []*state.Container
	for _, r := range recs {
		if r.Service == o.Service && !r.Oneoff && (o.Index <= 0 || r.Number == o.Index) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		if o.Index > 0 {
			return nil, fmt.Errorf("service %q has no container number %d (is the project up?)", o.Service, o.Index)
		}
		return nil, fmt.Errorf("no container found for service %q (is the project up?)", o.Service)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

// copyRoot opens a container's root: through its running process
// (/proc/PID/root, which shows its volumes), or its rootfs mount when it
// does not run.
func (e *Engine) copyRoot(rec *state.Container) (*os.File, error) {
	st, err := e.store.GetState(rec.ID)
	if err != nil {
		return nil, err
	}
	if st.Pid > 0 && (st.Status == state.StatusRunning || st.Status == state.StatusPaused || st.Status == state.StatusRestarting) {
		root, err := openProcessRoot(st.Pid, rec.Rootfs)
		if err == nil {
			return root, nil
		}
		if !errors.Is(err, errProcessGone) {
			return nil, fmt.Errorf("cp: container %s: %w", rec.Name, err)
		}
	}
	root, err := os.OpenFile(rec.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cp: container %s: %w", rec.Name, err)
	}
	return root, nil
}

// errProcessGone: the recorded PID has exited; the container is copied
// through its rootfs as a stopped one is.
var errProcessGone = errors.New("its process is gone")

// openProcessRoot opens /proc/pid/root as a directory handle and proves it
// is the container's: the pid is pinned by a pidfd before the open and
// checked alive after it (so a recycled pid cannot slip in between), and
// the root opened must be the container's rootfs mount itself (same
// device and inode as rootfs on the host), not some other process's.
func openProcessRoot(pid int, rootfs string) (*os.File, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil, errProcessGone
	}
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	root, err := os.OpenFile(fmt.Sprintf("/proc/%d/root", pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the root of process %d: %w", pid, err)
	}
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		root.Close()
		return nil, errProcessGone
	}
	var got, want unix.Stat_t
	if err := unix.Fstat(int(root.Fd()), &got); err != nil {
		root.Close()
		return nil, err
	}
	if err := unix.Stat(rootfs, &want); err != nil {
		root.Close()
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	if got.Dev != want.Dev || got.Ino != want.Ino {
		root.Close()
		return nil, fmt.Errorf("the recorded process %d is not this container (its root is not the container's rootfs %s); refusing to copy through it", pid, rootfs)
	}
	return root, nil
}

// Export writes the filesystem of the service's container (the replica
// Index, else the first) to w as a tar archive, as `docker compose
// export`: the container's own root filesystem, not its volumes or the
// kernel filesystems mounted in it.
func (e *Engine) Export(ctx context.Context, project string, o CopyOptions, w io.Writer) error {
	recs, err := e.copyTargets(project, o)
	if err != nil {
		return err
	}
	rec := recs[0]
	root, err := os.OpenFile(rec.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("export: container %s: %w", rec.Name, err)
	}
	defer root.Close()
	if err := archive.Export(ctx, root, w); err != nil {
		return fmt.Errorf("export %s: %w", rec.Name, err)
	}
	return nil
}
