package engine

import (
	"fmt"
	"strings"
	"syscall"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/compose-spec/compose-go/v2/types"
)

// prepareIpc points c at the IPC namespace an `ipc: service:NAME` or
// `ipc: container:NAME` service joins: that of the target's running init,
// as berth recorded it (its pid from berth's state, checked alive), never
// a path from the compose file. private, shareable, none and "" give the
// container a namespace of its own; host is handled by the spec generator.
// It returns Docker's HostConfig.IpcMode for the container.
func (e *Engine) prepareIpc(p *types.Project, svc types.ServiceConfig, c *ociruntime.Container) (string, error) {
	mode := svc.Ipc
	switch {
	case mode == "":
		return "private", nil
	case mode == "private", mode == "shareable", mode == "host", mode == "none":
		// none: a namespace of its own, as private (Docker also leaves
		// out /dev/shm; berth keeps it).
		return mode, nil
	case strings.HasPrefix(mode, types.ServicePrefix), strings.HasPrefix(mode, types.ContainerPrefix):
	default:
		return "", fmt.Errorf("service %q: ipc %q is not supported (use private, shareable, none, host, service:NAME or container:NAME)", svc.Name, mode)
	}
	other, err := e.sharedNetnsOwner(p, mode)
	if err != nil {
		return "", fmt.Errorf("service %q: ipc %s: %w", svc.Name, mode, err)
	}
	st, err := e.store.GetState(other.ID)
	if err != nil || st.Status != state.StatusRunning || st.Pid <= 0 || !pidAlive(st.Pid) {
		return "", fmt.Errorf("service %q: ipc %s: container %s is not running, so its IPC namespace cannot be joined", svc.Name, mode, other.Name)
	}
	c.IpcNS = fmt.Sprintf("/proc/%d/ns/ipc", st.Pid)
	return types.ContainerPrefix + other.ID, nil
}

// pidAlive says whether a process with this pid exists.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
