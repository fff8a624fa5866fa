package build

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"

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
	if len(bc.Platforms) > 0 && !slices.Contains(bc.Platforms, "linux/amd64") {
		return Options{}, fmt.Errorf("service %q: build platforms %v: %w: berth builds linux/amd64 only", svc.Name, bc.Platforms, ErrPlatform)
	}
	return o, nil
}
