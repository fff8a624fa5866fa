package layout

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/berth-dev/berth/internal/fsutil"
)

// DefaultRoot and DefaultRun are where berth keeps its state and runtime
// files unless BERTH_ROOT / BERTH_RUN say otherwise.
const (
	DefaultRoot = "/var/lib/berth"
	DefaultRun  = "/run/berth"
)

// Modes of the directories that hold what containers made. Containers
// write setuid-root files into volumes (and images bring them in by copy-up);
// a local user who can reach such a file runs it as root. So nothing under
// the state root is reachable by others: the root is Docker's 0710 (root's
// group may traverse, no one else), the volumes dir and the run dir 0700
// (Docker's /run/docker is 0700).
const (
	RootMode    fs.FileMode = 0o710
	VolumesMode fs.FileMode = 0o700
	RunMode     fs.FileMode = 0o700
)

// Layout is berth's state root (records, images, volumes: kept across
// boots) and run dir (sockets, locks of live processes, namespaces: gone
// at boot).
type Layout struct {
	Root string
	Run  string
}

// FromEnv is the layout the environment asks for: BERTH_ROOT, else
// /var/lib/berth; BERTH_RUN, else /run/berth.
func FromEnv() Layout {
	l := Layout{Root: os.Getenv("BERTH_ROOT"), Run: os.Getenv("BERTH_RUN")}
	if l.Root == "" {
		l.Root = DefaultRoot
	}
	if l.Run == "" {
		l.Run = DefaultRun
	}
	return l
}

// Containers is the dir of container records: <root>/containers/<id>/.
func (l Layout) Containers() string { return filepath.Join(l.Root, "containers") }

// Networks is the dir of network records: <root>/networks/<name>.json.
func (l Layout) Networks() string { return filepath.Join(l.Root, "networks") }

// IPAM is the dir of the address allocator's file and lock.
func (l Layout) IPAM() string { return filepath.Join(l.Root, "network") }

// Images is the image store: blobs, unpacked layers, index.
func (l Layout) Images() string { return filepath.Join(l.Root, "image") }

// Volumes is the dir of named volumes.
func (l Layout) Volumes() string { return filepath.Join(l.Root, "volumes") }

// BuildCache is the build cache of `build`.
func (l Layout) BuildCache() string { return filepath.Join(l.Root, "build-cache") }

// Runtime is the OCI runtimes' state dir (their --root) and probes.
func (l Layout) Runtime() string { return filepath.Join(l.Root, "runtime") }

// Events is the dir of the event log (events.json and its lock).
func (l Layout) Events() string { return l.Root }

// Config is berth's own config.yaml (registries, address pools).
func (l Layout) Config() string { return filepath.Join(l.Root, "config.yaml") }

// Lock is the path of a named lock under <root>/locks.
func (l Layout) Lock(name string) string {
	return filepath.Join(l.Root, "locks", name+".lock")
}

// ProjectLock is the lock that serializes commands changing one project.
func (l Layout) ProjectLock(project string) string { return l.Lock("project-" + project) }

// Netns is where a container's network namespace is bind-mounted.
func (l Layout) Netns(id string) string { return filepath.Join(l.Run, "netns", id) }

// CDI is where generated CDI specs go.
func (l Layout) CDI() string { return filepath.Join(l.Run, "cdi") }

// Ensure makes the state root, its volumes dir and the run dir, or
// tightens them when they exist with a mode that lets others in (made by
// an older berth, by hand, or by a tool under a loose umask). Modes are
// set with chmod, not left to the umask. It returns one line per
// directory it tightened, for the CLI to tell the user once: a tightened
// directory is not tightened again.
func (l Layout) Ensure() (notices []string, err error) {
	for _, d := range []struct {
		what, path string
		mode       fs.FileMode
	}{
		{"state root", l.Root, RootMode},
		{"state root", l.Volumes(), VolumesMode},
		{"run dir", l.Run, RunMode},
	} {
		n, err := fsutil.EnsureDir(d.path, d.mode)
		if err != nil {
			return notices, fmt.Errorf("%s: %w", d.what, err)
		}
		if n != "" {
			notices = append(notices, n)
		}
	}
	return notices, nil
}
