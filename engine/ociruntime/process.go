package ociruntime

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// ErrNoCommand is returned when neither image nor service gives anything to run.
var ErrNoCommand = errors.New("no command specified (image has no CMD or ENTRYPOINT)")

// Command returns the argv a container runs, with Compose's rules over the
// image's ENTRYPOINT and CMD:
//
//   - entrypoint nil (unset): the image ENTRYPOINT stays; command replaces
//     the image CMD when set (`command: []` or `”` clears it).
//   - entrypoint set and non-empty: it replaces the image ENTRYPOINT and the
//     image CMD is dropped; only the service's command follows it.
//   - entrypoint `[]` or `”`: the image ENTRYPOINT is cleared; as the Docker
//     engine does for an empty entrypoint, the image CMD still runs unless a
//     command is set.
//
// compose-go already shell-splits the string forms, and keeps nil (unset)
// apart from an empty list (`[]`, `”`).
func Command(imgEntrypoint, imgCmd []string, entrypoint, command types.ShellCommand) ([]string, error) {
	ep := imgEntrypoint
	cmd := imgCmd
	switch {
	case len(entrypoint) > 0:
		ep = entrypoint
		cmd = nil
	case entrypoint != nil:
		ep = nil
	}
	if command != nil {
		cmd = command
	}
	args := make([]string, 0, len(ep)+len(cmd))
	args = append(append(args, ep...), cmd...)
	if len(args) == 0 {
		return nil, ErrNoCommand
	}
	return args, nil
}

// WithArgs sets the process argv.
func WithArgs(args ...string) SpecOpt {
	return func(s *specs.Spec) error {
		if len(args) == 0 {
			return ErrNoCommand
		}
		ensureProcess(s).Args = append([]string(nil), args...)
		return nil
	}
}

// EnvLookup finds a variable of the host environment (os.LookupEnv fits).
type EnvLookup func(key string) (string, bool)

// MergeEnv merges a list of KEY=VALUE (the image's ENV) with the service's
// environment, the service winning. compose-go has already merged env_file
// into environment; a nil value is a bare `KEY`, which takes its value from
// lookup or, when lookup does not have it, removes KEY, the image's too
// (as Docker does with a KEY without '='). Image order is kept; new keys
// follow, sorted.
func MergeEnv(base []string, env types.MappingWithEquals, lookup EnvLookup) []string {
	out := make([]string, 0, len(base)+len(env))
	index := map[string]int{}
	set := func(k, v string) {
		if i, ok := index[k]; ok {
			out[i] = k + "=" + v
			return
		}
		index[k] = len(out)
		out = append(out, k+"="+v)
	}
	unset := func(k string) {
		i, ok := index[k]
		if !ok {
			return
		}
		out = append(out[:i], out[i+1:]...)
		delete(index, k)
		for key, j := range index {
			if j > i {
				index[key] = j - 1
			}
		}
	}
	for _, kv := range base {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			continue
		}
		set(k, v)
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := env[k]
		if v == nil {
			var hv string
			ok := false
			if lookup != nil {
				hv, ok = lookup(k)
			}
			if !ok {
				unset(k)
				continue
			}
			v = &hv
		}
		set(k, *v)
	}
	return out
}

// WithEnv replaces the process environment by image ENV merged with the
// service environment (see MergeEnv), with PATH defaulted when absent.
func WithEnv(imageEnv []string, env types.MappingWithEquals, lookup EnvLookup) SpecOpt {
	return func(s *specs.Spec) error {
		merged := MergeEnv(imageEnv, env, lookup)
		if _, ok := getEnv(merged, "PATH"); !ok {
			merged = append([]string{"PATH=" + DefaultPath}, merged...)
		}
		ensureProcess(s).Env = merged
		return nil
	}
}

// WithEnvDefault sets key=value unless the environment already has key.
func WithEnvDefault(key, value string) SpecOpt {
	return func(s *specs.Spec) error {
		p := ensureProcess(s)
		if _, ok := getEnv(p.Env, key); !ok {
			p.Env = append(p.Env, key+"="+value)
		}
		return nil
	}
}

// WithEnvOverride sets key=value, replacing any value the environment has.
func WithEnvOverride(key, value string) SpecOpt {
	return func(s *specs.Spec) error {
		p := ensureProcess(s)
		for i, kv := range p.Env {
			if k, _, _ := strings.Cut(kv, "="); k == key {
				p.Env[i] = key + "=" + value
				return nil
			}
		}
		p.Env = append(p.Env, key+"="+value)
		return nil
	}
}

func getEnv(env []string, key string) (string, bool) {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

// WithWorkingDir sets the process cwd: the service's working_dir, else the
// image's WorkingDir, else "/". A relative image WorkingDir is taken from
// "/" (as Docker). The runtime creates the directory when it is missing.
func WithWorkingDir(serviceDir, imageDir string) SpecOpt {
	return func(s *specs.Spec) error {
		dir := serviceDir
		if dir == "" {
			dir = imageDir
		}
		if dir == "" {
			dir = "/"
		}
		if !path.IsAbs(dir) {
			if serviceDir != "" {
				return fmt.Errorf("working_dir %q: must be an absolute path", serviceDir)
			}
			dir = "/" + dir
		}
		ensureProcess(s).Cwd = path.Clean(dir)
		return nil
	}
}

// WithHostname sets the container's hostname and HOSTNAME in its environment.
func WithHostname(hostname string) SpecOpt {
	return func(s *specs.Spec) error {
		s.Hostname = hostname
		return WithEnvOverride("HOSTNAME", hostname)(s)
	}
}

// WithDomainname sets the container's NIS domain name.
func WithDomainname(domain string) SpecOpt {
	return func(s *specs.Spec) error {
		s.Domainname = domain
		return nil
	}
}

// ShortID is the default hostname of a container: the first 12 characters of its ID (as Docker).
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// WithTerminal gives the process a pty (service tty: true) and TERM=xterm
// unless the environment sets TERM (as Docker).
func WithTerminal(tty bool) SpecOpt {
	return func(s *specs.Spec) error {
		ensureProcess(s).Terminal = tty
		if tty {
			return WithEnvDefault("TERM", "xterm")(s)
		}
		return nil
	}
}

// WithStop records the stop signal (service stop_signal, else the image's
// StopSignal, else SIGTERM) and the grace period as annotations for the
// supervisor that stops the container.
func WithStop(serviceSignal, imageSignal string, grace *types.Duration) SpecOpt {
	return func(s *specs.Spec) error {
		sig := serviceSignal
		if sig == "" {
			sig = imageSignal
		}
		if sig == "" {
			sig = "SIGTERM"
		}
		if err := WithAnnotation(AnnotationStopSignal, sig)(s); err != nil {
			return err
		}
		if grace != nil {
			return WithAnnotation(AnnotationStopGracePeriod, grace.String())(s)
		}
		return nil
	}
}

// InitPath is where WithInit mounts the init binary inside the container.
const InitPath = "/.berth/init"

// WithInit bind-mounts the host's init binary read-only at InitPath and runs
// the process under it: argv becomes InitPath, initArgs..., argv. initArgs
// lets a multi-purpose binary (berth itself) pick its init mode, e.g.
// "init", "--". Apply it after the process args are set.
func WithInit(hostPath string, initArgs ...string) SpecOpt {
	return func(s *specs.Spec) error {
		if hostPath == "" {
			return fmt.Errorf("init: no init binary given")
		}
		p := ensureProcess(s)
		if len(p.Args) > 0 && p.Args[0] == InitPath {
			return nil
		}
		args := make([]string, 0, 1+len(initArgs)+len(p.Args))
		args = append(append(append(args, InitPath), initArgs...), p.Args...)
		p.Args = args
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: InitPath,
			Type:        "bind",
			Source:      hostPath,
			Options:     []string{"rbind", "ro", "nosuid", "nodev", "rprivate"},
		})
		return nil
	}
}

// ExecProcess returns the process for an exec in a container whose main
// process is base: same user, capabilities, env and cwd, running args.
// env entries (KEY=VALUE) override base's; workdir and user, when set,
// replace base's (user as a resolved specs.User).
func ExecProcess(base *specs.Process, args []string, env []string, workdir string, tty bool) specs.Process {
	p := specs.Process{Cwd: "/"}
	if base != nil {
		p = *base
		p.Env = append([]string(nil), base.Env...)
		p.Rlimits = append([]specs.POSIXRlimit(nil), base.Rlimits...)
	}
	p.Args = append([]string(nil), args...)
	p.Terminal = tty
	p.ConsoleSize = nil
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		s := &specs.Spec{Process: &p}
		_ = WithEnvOverride(k, v)(s)
	}
	if workdir != "" {
		p.Cwd = workdir
	}
	return p
}
