package ociruntime

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/internal/fsutil"
)

// OCIVersion is the ociVersion berth writes into config.json. runtime-spec's
// Go types are 1.3.0, but crun 1.8 rejects any version ≥ 1.2.0; runc and crun
// both accept 1.0.2, and berth uses nothing newer.
const OCIVersion = "1.0.2"

// Annotations berth puts on a spec for its own callers (the runtime ignores them).
const (
	AnnotationStopSignal      = "berth.stop-signal"       // signal name, e.g. "SIGTERM"
	AnnotationStopGracePeriod = "berth.stop-grace-period" // Go duration, e.g. "10s"
	AnnotationStdinOpen       = "berth.stdin-open"        // "true" when stdin_open is set
)

// DefaultPath is the PATH a container gets when neither image nor service sets one (as Docker).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// SpecOpt changes one aspect of a spec. Options are applied in order, each
// on the result of the previous ones, so later options win.
type SpecOpt func(*specs.Spec) error

// NewSpec returns Docker's default spec (WithDefaults) with opts applied in order.
func NewSpec(opts ...SpecOpt) (*specs.Spec, error) {
	s := &specs.Spec{}
	if err := WithDefaults()(s); err != nil {
		return nil, err
	}
	if err := ApplyOpts(s, opts...); err != nil {
		return nil, err
	}
	return s, nil
}

// ApplyOpts applies opts to s in order and stops at the first error.
func ApplyOpts(s *specs.Spec, opts ...SpecOpt) error {
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(s); err != nil {
			return err
		}
	}
	return nil
}

// WriteBundle writes s as dir/config.json (atomically) and makes sure
// dir/rootfs exists when the spec's root is the relative "rootfs".
func WriteBundle(dir string, s *specs.Spec) error {
	if s.Root != nil && !filepath.IsAbs(s.Root.Path) {
		if err := os.MkdirAll(filepath.Join(dir, s.Root.Path), 0o755); err != nil {
			return fmt.Errorf("bundle %s: %w", dir, err)
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("bundle %s: encode config.json: %w", dir, err)
	}
	// temp + fsync + rename + fsync of the directory: a crash leaves the
	// old config.json or the new one, never a torn one.
	if err := fsutil.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		return fmt.Errorf("bundle %s: %w", dir, err)
	}
	return nil
}

// ReadBundle reads dir/config.json.
func ReadBundle(dir string) (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("bundle %s: decode config.json: %w", dir, err)
	}
	return &s, nil
}

// WithDefaults resets s to Docker's defaults for a root container: cwd "/",
// PATH, Docker's capability set, namespaces pid/mount/ipc/uts/net/cgroup, the
// default mounts (/proc, /dev, /dev/pts, /dev/shm 64m, /dev/mqueue, /sys ro,
// /sys/fs/cgroup ro), masked and read-only paths, the default device cgroup
// rules, and RLIMIT_NOFILE at the calling process's current values.
func WithDefaults() SpecOpt {
	return func(s *specs.Spec) error {
		*s = specs.Spec{
			Version: OCIVersion,
			Root:    &specs.Root{Path: "rootfs"},
			Process: &specs.Process{
				Cwd: "/",
				Env: []string{"PATH=" + DefaultPath},
				// 0, not inherited: the supervisor protects itself with -999.
				OOMScoreAdj: new(0),
				User:        specs.User{UID: 0, GID: 0},
				Capabilities: &specs.LinuxCapabilities{
					Bounding:  DefaultCapabilities(),
					Effective: DefaultCapabilities(),
					Permitted: DefaultCapabilities(),
				},
			},
			Mounts:      DefaultMounts(DefaultShmSize),
			Annotations: map[string]string{},
			Linux: &specs.Linux{
				Namespaces: []specs.LinuxNamespace{
					{Type: specs.PIDNamespace},
					{Type: specs.MountNamespace},
					{Type: specs.IPCNamespace},
					{Type: specs.UTSNamespace},
					{Type: specs.NetworkNamespace},
					{Type: specs.CgroupNamespace},
				},
				MaskedPaths:   append([]string(nil), defaultMaskedPaths...),
				ReadonlyPaths: append([]string(nil), defaultReadonlyPaths...),
				Resources: &specs.LinuxResources{
					Devices: defaultDeviceRules(),
				},
			},
		}
		if nofile, err := currentRlimit("RLIMIT_NOFILE"); err == nil {
			s.Process.Rlimits = []specs.POSIXRlimit{nofile}
		}
		return nil
	}
}

// WithRoot sets the rootfs path (absolute, or relative to the bundle) and
// whether it is mounted read-only (service read_only).
func WithRoot(path string, readonly bool) SpecOpt {
	return func(s *specs.Spec) error {
		if path == "" {
			return fmt.Errorf("spec: empty rootfs path")
		}
		s.Root = &specs.Root{Path: path, Readonly: readonly}
		return nil
	}
}

// WithAnnotation sets one annotation.
func WithAnnotation(key, value string) SpecOpt {
	return func(s *specs.Spec) error {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[key] = value
		return nil
	}
}

func ensureResources(s *specs.Spec) *specs.LinuxResources {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
	return s.Linux.Resources
}

func ensureProcess(s *specs.Spec) *specs.Process {
	if s.Process == nil {
		s.Process = &specs.Process{Cwd: "/"}
	}
	return s.Process
}
