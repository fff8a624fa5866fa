package volumes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/internal/layout"
	volnames "github.com/berth-dev/berth/internal/names"
)

// Labels berth writes on volumes. The Compose ones are Compose's own, so that
// tooling and `docker volume ls --filter label=…` habits carry over; the
// anonymous one is Docker's.
const (
	LabelProject = "com.docker.compose.project"
	LabelVolume  = "com.docker.compose.volume"
	// LabelConfigHash is the hash of a project volume's definition
	// (driver, driver_opts, labels), as Compose labels it: a volume whose
	// definition changed is found by it (ConfigHash).
	LabelConfigHash = "com.docker.compose.config-hash"
	LabelAnonymous  = "com.docker.volume.anonymous"
	// LabelContainer names the container an anonymous volume was made for.
	LabelContainer = "io.berth.container"
)

// DriverLocal is the only volume driver berth has.
const DriverLocal = "local"

// Sentinel errors; every error wrapping one names the volume.
var (
	ErrNotFound      = errors.New("no such volume")
	ErrInUse         = errors.New("volume is in use")
	ErrConflict      = errors.New("volume belongs to another project")
	ErrDriver        = errors.New("volume driver not supported")
	ErrInvalidName   = volnames.ErrInvalid
	ErrInvalidOption = errors.New("invalid volume option")
)

// Spec describes a volume to create.
type Spec struct {
	Name       string
	Driver     string            // "" or "local"
	DriverOpts map[string]string // local: type, o, device
	Labels     map[string]string
	// External volumes are never created: they must exist.
	External  bool
	Anonymous bool
}

// Volume is a volume's record, kept in <root>/<name>/volume.json.
type Volume struct {
	Name       string            `json:"name"`
	Driver     string            `json:"driver"`
	DriverOpts map[string]string `json:"driver_opts,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	Anonymous  bool              `json:"anonymous,omitempty"`
	// Initialized is set at the first mount into a container (after the
	// image's content was copied in), so an emptied volume is not re-filled.
	Initialized bool `json:"initialized,omitempty"`

	// Mountpoint is where the volume's data is on the host: <root>/<name>/_data,
	// or the device of a bind volume (driver_opts type=none, o=bind).
	Mountpoint string `json:"-"`
}

// Project is the Compose project the volume was made for ("" if none).
func (v *Volume) Project() string { return v.Labels[LabelProject] }

// Manager keeps the named volumes under one root ($BERTH_ROOT/volumes).
type Manager struct {
	root    string
	now     func() time.Time
	mounter Mounter
	newID   func() string
}

// Opt configures a Manager.
type Opt func(*Manager)

// WithClock sets the clock used for creation times (tests).
func WithClock(now func() time.Time) Opt { return func(m *Manager) { m.now = now } }

// WithMounter sets what mounts tmpfs and other filesystem volumes (tests
// pass an in-memory fake; the default calls mount(2)).
func WithMounter(mt Mounter) Opt { return func(m *Manager) { m.mounter = mt } }

// WithIDs sets the generator of anonymous volume names (tests).
func WithIDs(f func() string) Opt { return func(m *Manager) { m.newID = f } }

// New returns the volume manager rooted at root.
func New(root string, opts ...Opt) *Manager {
	m := &Manager{root: root, now: time.Now, mounter: SystemMounter{}, newID: randomID}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Root is the directory holding the volumes.
func (m *Manager) Root() string { return m.root }

func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

func (m *Manager) dir(name string) string      { return filepath.Join(m.root, name) }
func (m *Manager) dataDir(name string) string  { return filepath.Join(m.root, name, "_data") }
func (m *Manager) metaPath(name string) string { return filepath.Join(m.root, name, "volume.json") }

// lock serializes changes to one volume across processes. Lock files live
// apart from the volume so that removing a volume never races its lock.
func (m *Manager) lock(ctx context.Context, name string) (*fsutil.Lock, error) {
	return fsutil.Acquire(ctx, filepath.Join(m.root, ".locks", name+".lock"))
}

// checkName applies Docker's rule for volume names (names.ValidVolumeName):
// a name is one path component under the root, never "..".
func checkName(name string) error {
	return volnames.ValidVolumeName(name)
}

// Create makes a volume, or returns the existing one of that name. An
// existing volume made for another Compose project is an error naming both
// projects (as Compose); an external volume must already exist.
func (m *Manager) Create(ctx context.Context, s Spec) (*Volume, error) {
	if err := checkName(s.Name); err != nil {
		return nil, err
	}
	l, err := m.lock(ctx, s.Name)
	if err != nil {
		return nil, err
	}
	defer l.Release()
	return m.createLocked(s)
}

func (m *Manager) createLocked(s Spec) (*Volume, error) {
	v, err := m.read(s.Name)
	switch {
	case err == nil:
		if s.External {
			return v, nil
		}
		want, have := s.Labels[LabelProject], v.Labels[LabelProject]
		if want != "" && have != "" && want != have {
			return nil, fmt.Errorf("volume %q already exists but was created for project %q (expected %q): %w; set 'external: true' to use an existing volume",
				s.Name, have, want, ErrConflict)
		}
		if d := driverName(s.Driver); d != v.Driver {
			return nil, fmt.Errorf("volume %q already exists with driver %q, not %q: %w", s.Name, v.Driver, d, ErrConflict)
		}
		return v, nil
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	if s.External {
		return nil, fmt.Errorf("volume %q is external but does not exist: create it with 'berth volume create %s': %w", s.Name, s.Name, ErrNotFound)
	}
	if d := driverName(s.Driver); d != DriverLocal {
		return nil, fmt.Errorf("volume %q: driver %q is not supported (only local): %w", s.Name, d, ErrDriver)
	}
	opts, err := parseLocalOpts(s.DriverOpts)
	if err != nil {
		return nil, fmt.Errorf("volume %q: %w", s.Name, err)
	}
	if opts.isBind() {
		if err := checkBindDevice(opts.device); err != nil {
			return nil, fmt.Errorf("volume %q: %w", s.Name, err)
		}
	}
	v = &Volume{
		Name:       s.Name,
		Driver:     DriverLocal,
		DriverOpts: maps.Clone(s.DriverOpts),
		Labels:     maps.Clone(s.Labels),
		CreatedAt:  m.now().UTC().Truncate(time.Second),
		Anonymous:  s.Anonymous,
	}
	// The volumes dir is private (layout.VolumesMode): containers leave
	// setuid files in _data that no other user may reach.
	if _, err := fsutil.EnsureDir(m.root, layout.VolumesMode); err != nil {
		return nil, fmt.Errorf("volume %q: %w", s.Name, err)
	}
	if err := os.MkdirAll(m.dataDir(s.Name), 0o755); err != nil {
		return nil, fmt.Errorf("volume %q: %w", s.Name, err)
	}
	if err := m.write(v); err != nil {
		os.RemoveAll(m.dir(s.Name))
		return nil, err
	}
	m.fill(v)
	return v, nil
}

func driverName(d string) string {
	if d == "" {
		return DriverLocal
	}
	return d
}

func (m *Manager) write(v *Volume) error {
	if err := fsutil.WriteJSON(m.metaPath(v.Name), v); err != nil {
		return fmt.Errorf("volume %q: write record: %w", v.Name, err)
	}
	return nil
}

func (m *Manager) read(name string) (*Volume, error) {
	var v Volume
	if err := fsutil.ReadJSON(m.metaPath(name), &v); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("volume %q: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("volume %q: %w", name, err)
	}
	m.fill(&v)
	return &v, nil
}

// fill sets the fields not stored on disk.
func (m *Manager) fill(v *Volume) {
	v.Mountpoint = m.dataDir(v.Name)
	if o, err := parseLocalOpts(v.DriverOpts); err == nil && o.isBind() {
		v.Mountpoint = o.device
	}
}

// Get returns one volume; a missing one is ErrNotFound.
func (m *Manager) Get(_ context.Context, name string) (*Volume, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("volume %q: %w", name, ErrNotFound)
	}
	return m.read(name)
}

// Filter selects volumes in List. Zero fields match everything.
type Filter struct {
	Project   string            // com.docker.compose.project
	Labels    map[string]string // each key must be present; a non-empty value must match
	Anonymous *bool             // only anonymous (true) or only named (false)
}

func (f Filter) match(v *Volume) bool {
	if f.Project != "" && v.Labels[LabelProject] != f.Project {
		return false
	}
	for k, want := range f.Labels {
		got, ok := v.Labels[k]
		if !ok || (want != "" && got != want) {
			return false
		}
	}
	if f.Anonymous != nil && v.Anonymous != *f.Anonymous {
		return false
	}
	return true
}

// List returns the volumes the filter selects, by name.
func (m *Manager) List(_ context.Context, f Filter) ([]*Volume, error) {
	entries, err := os.ReadDir(m.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []*Volume
	for _, e := range entries {
		if !e.IsDir() || checkName(e.Name()) != nil {
			continue
		}
		v, err := m.read(e.Name())
		if errors.Is(err, ErrNotFound) {
			continue // being created or removed
		}
		if err != nil {
			return nil, err
		}
		if f.match(v) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// InUse reports whether a container uses the named volume. nil means none is.
type InUse func(name string) bool

// Remove deletes a volume and its data. A volume in use is refused even
// with force; force makes a missing volume no error and removes the record
// even when unmounting its filesystem fails.
func (m *Manager) Remove(ctx context.Context, name string, force bool, inUse InUse) error {
	if err := checkName(name); err != nil {
		if force {
			return nil
		}
		return fmt.Errorf("volume %q: %w", name, ErrNotFound)
	}
	l, err := m.lock(ctx, name)
	if err != nil {
		return err
	}
	defer l.Release()
	return m.removeLocked(name, force, inUse)
}

func (m *Manager) removeLocked(name string, force bool, inUse InUse) error {
	v, err := m.read(name)
	if err != nil {
		if force && errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	}
	if inUse != nil && inUse(name) {
		return fmt.Errorf("remove volume %q: %w by a container: remove the container first", name, ErrInUse)
	}
	if err := m.unmount(v, force); err != nil {
		return err
	}
	// The record goes first: a half-removed volume is then no volume.
	if err := os.Remove(m.metaPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove volume %q: %w", name, err)
	}
	if err := os.RemoveAll(m.dir(name)); err != nil {
		return fmt.Errorf("remove volume %q: %w", name, err)
	}
	return nil
}

// PruneReport says what Prune removed.
type PruneReport struct {
	Removed   []string
	Reclaimed uint64 // bytes
}

// Prune removes the volumes no container uses: only anonymous ones unless
// all is set (as `docker volume prune`).
func (m *Manager) Prune(ctx context.Context, all bool, inUse InUse) (PruneReport, error) {
	var rep PruneReport
	vols, err := m.List(ctx, Filter{})
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, v := range vols {
		if (!all && !v.Anonymous) || (inUse != nil && inUse(v.Name)) {
			continue
		}
		size := fsutil.DirSize(m.dataDir(v.Name))
		if err := m.Remove(ctx, v.Name, false, inUse); err != nil {
			if !errors.Is(err, ErrNotFound) {
				errs = append(errs, err)
			}
			continue
		}
		rep.Removed = append(rep.Removed, v.Name)
		rep.Reclaimed += size
	}
	return rep, errors.Join(errs...)
}
