package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/internal/safepath"
)

// fileMounts materializes a service's configs and secrets into the
// container's directory and returns read-only bind mounts of them: a
// secret at /run/secrets/<name> unless it names a target, a config at
// /<name> unless it names one; uid, gid and mode as given (secrets and
// configs default to 0444, owned by root, as Compose).
func fileMounts(p *types.Project, svc types.ServiceConfig, dir string) ([]specs.Mount, error) {
	var out []specs.Mount
	add := func(kind string, ref types.FileReferenceConfig, obj types.FileObjectConfig, ok bool, defaultDir string) error {
		if !ok {
			return fmt.Errorf("service %q: %s %q is not defined at the top level", svc.Name, kind, ref.Source)
		}
		if bool(obj.External) {
			return fmt.Errorf("service %q: %s %q is external, which needs a swarm; berth supports file, environment and content %ss", svc.Name, kind, ref.Source, kind)
		}
		var data []byte
		switch {
		case obj.Content != "":
			data = []byte(obj.Content)
		case obj.Environment != "":
			v, ok := p.Environment[obj.Environment]
			if !ok {
				return fmt.Errorf("service %q: %s %q: environment variable %s is not set", svc.Name, kind, ref.Source, obj.Environment)
			}
			data = []byte(v)
		case obj.File != "":
			b, err := os.ReadFile(obj.File)
			if err != nil {
				return fmt.Errorf("service %q: %s %q: %w", svc.Name, kind, ref.Source, err)
			}
			data = b
		default:
			return fmt.Errorf("service %q: %s %q has no file, environment or content", svc.Name, kind, ref.Source)
		}
		target := ref.Target
		if target == "" {
			target = path.Join(defaultDir, ref.Source)
		} else if !path.IsAbs(target) {
			target = path.Join(defaultDir, target)
		}
		mode := os.FileMode(0o444)
		if ref.Mode != nil {
			mode = os.FileMode(*ref.Mode)
		}
		uid, gid, err := refOwner(ref)
		if err != nil {
			return fmt.Errorf("service %q: %s %q: %w", svc.Name, kind, ref.Source, err)
		}
		// Written beneath the container's dir following no symlink, mode
		// and owner set on the file itself (design decision 10).
		sub := kind + "s"
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if err := safepath.WriteFile(dir, path.Join(sub, ref.Source), data, mode, uid, gid); err != nil {
			return fmt.Errorf("service %q: %s %q: %w", svc.Name, kind, ref.Source, err)
		}
		host := filepath.Join(dir, sub, ref.Source)
		out = append(out, ociruntime.BindMount(host, target, true))
		return nil
	}
	for _, s := range svc.Secrets {
		obj, ok := p.Secrets[s.Source]
		if err := add("secret", types.FileReferenceConfig(s), types.FileObjectConfig(obj), ok, "/run/secrets"); err != nil {
			return nil, err
		}
	}
	for _, c := range svc.Configs {
		obj, ok := p.Configs[c.Source]
		if err := add("config", types.FileReferenceConfig(c), types.FileObjectConfig(obj), ok, "/"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// refOwner is the uid and gid a config or secret asks for (-1: root's).
func refOwner(ref types.FileReferenceConfig) (uid, gid int, err error) {
	uid, gid = -1, -1
	if ref.UID != "" {
		if uid, err = strconv.Atoi(ref.UID); err != nil {
			return 0, 0, fmt.Errorf("uid %q must be a number", ref.UID)
		}
	}
	if ref.GID != "" {
		if gid, err = strconv.Atoi(ref.GID); err != nil {
			return 0, 0, fmt.Errorf("gid %q must be a number", ref.GID)
		}
	}
	return uid, gid, nil
}
