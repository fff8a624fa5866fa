package build

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// ImageName is the image a service with `build:` builds: its `image:`,
// else <project>-<service> (as docker compose names it).
func ImageName(p *types.Project, svc types.ServiceConfig) string {
	if svc.Image != "" {
		return svc.Image
	}
	return p.Name + "-" + svc.Name
}

// ServiceOptions turns a service's `build:` into build options: the image
// is tagged ImageName plus the build's `tags:`; noCache and pull add to
// the service's own no_cache and pull.
func ServiceOptions(p *types.Project, svc types.ServiceConfig, noCache, pull bool, progress func(Step)) (Options, error) {
	bc := svc.Build
	if bc == nil {
		return Options{}, fmt.Errorf("service %q has no build section", svc.Name)
	}
	dir := bc.Context
	if dir == "" {
		dir = "."
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(p.WorkingDir, dir)
	}
	o := Options{
		ContextDir:       dir,
		Dockerfile:       bc.Dockerfile,
		DockerfileInline: bc.DockerfileInline,
		Args:             map[string]*string{},
		Target:           bc.Target,
		Labels:           maps.Clone(map[string]string(bc.Labels)),
		NoCache:          noCache || bc.NoCache,
		Pull:             pull || bc.Pull,
		Tags:             append([]string{ImageName(p, svc)}, bc.Tags...),
		Network:          bc.Network,
		ShmSize:          int64(bc.ShmSize),
		Progress:         progress,
	}
	for k, v := range bc.Args {
		if v != nil {
			o.Args[k] = v
		}
	}
	if len(bc.ExtraHosts) > 0 {
		o.ExtraHosts = bc.ExtraHosts.AsList(":")
		slices.Sort(o.ExtraHosts)
	}
	switch bc.Network {
	case "", "default", "host", "none":
	default:
		// Compose joins the build to that network; berth's builds run on
		// a bridge of their own (see docs/design.md, "Builds").
		return Options{}, fmt.Errorf("service %q: build.network %q: %w: berth builds use network default, host or none, not a named network", svc.Name, bc.Network, ErrUnsupported)
	}
	var err error
	if o.Secrets, err = serviceSecrets(p, svc); err != nil {
		return Options{}, err
	}
	if o.SSH, err = serviceSSH(p, svc); err != nil {
		return Options{}, err
	}
	if o.Contexts, err = serviceContexts(p, svc); err != nil {
		return Options{}, err
	}
	if len(bc.Platforms) > 0 && !slices.Contains(bc.Platforms, "linux/amd64") {
		return Options{}, fmt.Errorf("service %q: build platforms %v: %w: berth builds linux/amd64 only", svc.Name, bc.Platforms, ErrPlatform)
	}
	return o, nil
}

// serviceSecrets are the build secrets of svc's build.secrets, by id: the
// secret's target when it has one, else its name (as Compose). A file
// secret is read when a step mounts it; an environment one is read from
// the project's environment now (unset: the secret is not provided).
func serviceSecrets(p *types.Project, svc types.ServiceConfig) (map[string]Secret, error) {
	if len(svc.Build.Secrets) == 0 {
		return nil, nil
	}
	out := map[string]Secret{}
	for _, s := range svc.Build.Secrets {
		def, ok := p.Secrets[s.Source]
		if !ok {
			return nil, fmt.Errorf("service %q: build.secrets: secret %q is not defined in the top-level secrets", svc.Name, s.Source)
		}
		id := s.Source
		if s.Target != "" {
			id = s.Target
		}
		switch {
		case def.File != "":
			f := def.File
			if !filepath.IsAbs(f) {
				f = filepath.Join(p.WorkingDir, f)
			}
			out[id] = Secret{File: f}
		case def.Environment != "":
			v, ok := p.Environment[def.Environment]
			if !ok {
				v, ok = os.LookupEnv(def.Environment)
			}
			if !ok {
				// as BuildKit's env source: not provided, so a RUN that
				// requires it fails naming it, others skip the mount
				continue
			}
			out[id] = Secret{Value: []byte(v)}
		case def.Content != "":
			out[id] = Secret{Value: []byte(def.Content)}
		default:
			return nil, fmt.Errorf("service %q: build.secrets: secret %q: %w: build secrets come from a file or the environment", svc.Name, s.Source, ErrUnsupported)
		}
	}
	return out, nil
}

// serviceSSH are the ssh sources of svc's build.ssh by id: "default"
// with no path is the agent at $SSH_AUTH_SOCK; a path is a socket or key
// files (comma-separated).
func serviceSSH(p *types.Project, svc types.ServiceConfig) (map[string]SSHSource, error) {
	if len(svc.Build.SSH) == 0 {
		return nil, nil
	}
	out := map[string]SSHSource{}
	for _, k := range svc.Build.SSH {
		id := k.ID
		if id == "" {
			id = "default"
		}
		var paths []string
		if k.Path == "" {
			sock := os.Getenv("SSH_AUTH_SOCK")
			if sock == "" {
				return nil, fmt.Errorf("service %q: build.ssh %s: no path and SSH_AUTH_SOCK is not set", svc.Name, id)
			}
			paths = []string{sock}
		} else {
			for _, f := range strings.Split(k.Path, ",") {
				if !filepath.IsAbs(f) {
					f = filepath.Join(p.WorkingDir, f)
				}
				paths = append(paths, f)
			}
		}
		src, err := ParseSSHSource(paths)
		if err != nil {
			return nil, fmt.Errorf("service %q: build.ssh %s: %w", svc.Name, id, err)
		}
		out[id] = src
	}
	return out, nil
}

// ServicePrefix marks an additional context that is another service's
// image (additional_contexts: {name: service:NAME}).
const ServicePrefix = types.ServicePrefix

// serviceContexts are svc's additional_contexts, a service:NAME one
// turned into that service's image (the scheduler builds it first).
func serviceContexts(p *types.Project, svc types.ServiceConfig) (map[string]string, error) {
	if len(svc.Build.AdditionalContexts) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for name, v := range svc.Build.AdditionalContexts {
		if dep, ok := strings.CutPrefix(v, ServicePrefix); ok {
			d, found := p.Services[dep]
			if !found || d.Build == nil {
				return nil, fmt.Errorf("service %q: additional_contexts %s: %s is not a service with a build section", svc.Name, name, v)
			}
			v = imageScheme + ImageName(p, d)
		} else if !strings.Contains(v, "://") && !filepath.IsAbs(v) {
			v = filepath.Join(p.WorkingDir, v)
		}
		out[name] = v
	}
	return out, nil
}
