package engine

import (
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/layout"
)

// The records the engine keeps, as the CLI reads them. They are the
// engine's own types (engine/state is where they are stored, and the
// CLI never imports it).
type (
	// Container is berth's record of one container.
	Container = state.Container
	// ContainerState is the runtime part of a container's record.
	ContainerState = state.RuntimeState
	// ContainerStatus is a container's lifecycle state, with Docker's names.
	ContainerStatus = state.Status
	// Attachment is a container's place on one network (address, aliases).
	Attachment = state.Attachment
	// NetworkRecord is berth's record of one network.
	NetworkRecord = state.Network
)

// A container's lifecycle states.
const (
	StatusCreated    = state.StatusCreated
	StatusRunning    = state.StatusRunning
	StatusPaused     = state.StatusPaused
	StatusRestarting = state.StatusRestarting
	StatusExited     = state.StatusExited
	StatusDead       = state.StatusDead
)

// ErrNoContainer is returned for a container record that does not exist.
var ErrNoContainer = state.ErrNoContainer

// Records is a read-only look at berth's container and network records.
// Opening it creates nothing, so commands that must leave the state as
// they find it (completion) or need no engine (ls, network ls, inspect)
// read through it; an Engine has the same methods.
type Records struct {
	layout     layout.Layout
	containers *state.Store
	networks   *state.Networks
}

// OpenRecords reads the records of a layout.
func OpenRecords(l layout.Layout) *Records {
	return &Records{layout: l, containers: state.NewStore(l.Containers()), networks: state.NewNetworks(l.Networks())}
}

// Layout is where the records (and the rest of the state) live.
func (r *Records) Layout() layout.Layout { return r.layout }

// Containers returns the records of a project's containers ("" for all),
// ordered by service, then one-off last, then number.
func (r *Records) Containers(project string) ([]*Container, error) {
	return r.containers.List(project)
}

// Container returns one container's record; ErrNoContainer when none.
func (r *Records) Container(id string) (*Container, error) { return r.containers.Get(id) }

// ContainerState returns the runtime part of a container's record; a
// container never started is StatusCreated.
func (r *Records) ContainerState(id string) (*ContainerState, error) {
	return r.containers.GetState(id)
}

// LogPath is where a container's log is written.
func (r *Records) LogPath(id string) string { return r.containers.LogPath(id) }

// NetworkRecords returns the records of every network berth made.
func (r *Records) NetworkRecords() ([]*NetworkRecord, error) { return r.networks.List() }

// NetworkRecord returns the record of the network of a full name.
func (r *Records) NetworkRecord(name string) (*NetworkRecord, error) { return r.networks.Get(name) }
