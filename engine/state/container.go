package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/network/portmap"
)

// Status is a container's lifecycle state, with Docker's names.
type Status string

const (
	StatusCreated    Status = "created"
	StatusRunning    Status = "running"
	StatusPaused     Status = "paused"
	StatusRestarting Status = "restarting"
	StatusExited     Status = "exited"
	StatusDead       Status = "dead"
)

// Container is berth's record of one container. The CLI writes it when it
// creates the container; the project's supervisor keeps Runtime current.
type Container struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Project string            `json:"project"`
	Service string            `json:"service"`
	Number  int               `json:"number"`
	Oneoff  bool              `json:"oneoff,omitempty"`
	Labels  map[string]string `json:"labels"`
	Image   string            `json:"image"`    // the reference the service names
	ImageID string            `json:"image_id"` // config digest
	Created time.Time         `json:"created"`

	// Creating marks the first record written, before anything is made
	// for the container, so that a command killed midway leaves a record
	// that `down` (or the next `up`) finds and tears down.
	Creating bool `json:"creating,omitempty"`

	Hash    string          `json:"config_hash"`
	Config  json.RawMessage `json:"config,omitempty"`  // the hashed service config, to name changed fields
	Command []string        `json:"command,omitempty"` // args of the container's process, for ps

	Bundle string `json:"bundle"`          // dir holding config.json
	Rootfs string `json:"rootfs"`          // the overlay mount point
	Netns  string `json:"netns,omitempty"` // bind-mounted netns path
	// IpcMode is Docker's HostConfig.IpcMode: private, shareable, host,
	// or container:<full ID> of the container whose IPC namespace it joins.
	IpcMode string `json:"ipc_mode,omitempty"`
	Runtime string `json:"runtime,omitempty"` // OCI runtime binary name

	// PortSpecs are the ports the container asks to publish (normalized
	// once, at create); Ports are the host ports it holds now: assigned
	// by the plan and DNATed while the container runs, cleared (rules
	// removed) by stop, assigned again by start. Exposed are its
	// exposed-only ports (`expose:` and the image's EXPOSE).
	// Released are the ports stop freed: not claims, only what start
	// prefers to take again.
	PortSpecs []portmap.Spec `json:"port_specs,omitempty"`
	Ports     []Port         `json:"ports,omitempty"`
	Released  []Port         `json:"released_ports,omitempty"`
	Exposed   []Port         `json:"exposed,omitempty"`
	Networks  []Attachment   `json:"networks,omitempty"` // in interface order
	Mounts    []string       `json:"mounts,omitempty"`   // host paths berth mounted for it, unmounted at remove
	Volumes   []string       `json:"volumes,omitempty"`  // names of the volumes it uses
	// AnonymousVolumes maps a mount target to the anonymous volume there,
	// kept for the next container of the service when this one is recreated.
	AnonymousVolumes map[string]string `json:"anonymous_volumes,omitempty"`

	Hostname   string            `json:"hostname,omitempty"`
	DNS        []string          `json:"dns,omitempty"` // forwarders from dns:
	Tty        bool              `json:"tty,omitempty"`
	StdinOpen  bool              `json:"stdin_open,omitempty"`
	LogOptions map[string]string `json:"log_options,omitempty"` // logging.options (max-size, max-file)

	Health *HealthConfig `json:"health,omitempty"` // nil: no healthcheck

	StopSignal  string        `json:"stop_signal,omitempty"`
	StopTimeout time.Duration `json:"stop_timeout,omitempty"`
	Restart     string        `json:"restart,omitempty"`
}

// Attachment is a container's place on one network.
type Attachment struct {
	Network string   `json:"network"` // full network name
	Key     string   `json:"key"`     // the compose key
	Bridge  string   `json:"bridge"`
	IfName  string   `json:"ifname"`
	IP      string   `json:"ip"`
	Prefix  int      `json:"prefix"`
	Gateway string   `json:"gateway"`
	MAC     string   `json:"mac,omitempty"`
	Aliases []string `json:"aliases,omitempty"` // service name, aliases, container name, hostname
}

// HealthConfig is a container's healthcheck, merged from the service and
// its image.
type HealthConfig struct {
	Test          []string      `json:"test"`
	Interval      time.Duration `json:"interval"`
	Timeout       time.Duration `json:"timeout"`
	StartPeriod   time.Duration `json:"start_period"`
	StartInterval time.Duration `json:"start_interval"`
	Retries       int           `json:"retries"`
}

// HealthResult is one probe's outcome.
type HealthResult struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	ExitCode int       `json:"exit_code"`
	Output   string    `json:"output"`
}

// Port is a published port (portmap's one value type; the JSON of
// records written before it is the same).
type Port = portmap.Binding

// RuntimeState is the part of a container's record the supervisor owns.
type RuntimeState struct {
	Status       Status    `json:"status"`
	Pid          int       `json:"pid,omitempty"`
	ExitCode     int       `json:"exit_code"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	RestartCount int       `json:"restart_count,omitempty"`
	// StoppedByUser is set by stop/kill so restart policies leave the
	// container down (Docker's "manually stopped").
	StoppedByUser bool           `json:"stopped_by_user,omitempty"`
	Health        string         `json:"health,omitempty"`
	HealthLog     []HealthResult `json:"health_log,omitempty"`
	FailingStreak int            `json:"failing_streak,omitempty"`
	Error         string         `json:"error,omitempty"`
}

// ErrNoContainer is returned for a container record that does not exist.
var ErrNoContainer = errors.New("no such container")

// Store keeps container records under <root>/containers/<id>/.
type Store struct {
	root string
}

// NewStore returns the record store in dir (layout.Layout.Containers).
func NewStore(dir string) *Store { return &Store{root: dir} }

// Dir is the directory of a container's records, logs and bundle.
func (s *Store) Dir(id string) string { return filepath.Join(s.root, id) }

// Put writes a container record atomically.
func (s *Store) Put(c *Container) error {
	return fsutil.WriteJSON(filepath.Join(s.Dir(c.ID), "container.json"), c)
}

// Get reads one container record.
func (s *Store) Get(id string) (*Container, error) {
	var c Container
	if err := fsutil.ReadJSON(filepath.Join(s.Dir(id), "container.json"), &c); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("container %s: %w", id, ErrNoContainer)
		}
		return nil, err
	}
	return &c, nil
}

// PutState writes the runtime part of a record.
func (s *Store) PutState(id string, st *RuntimeState) error {
	return fsutil.WriteJSON(filepath.Join(s.Dir(id), "state.json"), st)
}

// GetState reads the runtime part of a record; a container never started
// is StatusCreated.
func (s *Store) GetState(id string) (*RuntimeState, error) {
	var st RuntimeState
	err := fsutil.ReadJSON(filepath.Join(s.Dir(id), "state.json"), &st)
	if errors.Is(err, os.ErrNotExist) {
		return &RuntimeState{Status: StatusCreated}, nil
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// LogPath is where the supervisor writes a container's log.
func (s *Store) LogPath(id string) string { return filepath.Join(s.Dir(id), id+"-json.log") }

// Delete removes a container's records and everything in its directory.
func (s *Store) Delete(id string) error {
	if id == "" || strings.ContainsAny(id, "/.") {
		return fmt.Errorf("delete container: bad id %q", id)
	}
	return os.RemoveAll(s.Dir(id))
}

// IDs returns the IDs of every container record, in no order: a cheap
// look for new containers (List reads every record).
func (s *Store) IDs() ([]string, error) {
	entries, err := os.ReadDir(s.root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// List returns the records of a project's containers ("" for all),
// ordered by service then number.
func (s *Store) List(project string) ([]*Container, error) {
	entries, err := os.ReadDir(s.root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := s.Get(e.Name())
		if errors.Is(err, ErrNoContainer) {
			continue // being created or removed
		}
		if err != nil {
			return nil, err
		}
		if project == "" || c.Project == project {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		if out[i].Oneoff != out[j].Oneoff {
			return !out[i].Oneoff
		}
		return out[i].Number < out[j].Number
	})
	return out, nil
}
