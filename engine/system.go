package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/volumes"
)

// DiskUsage is `docker system df`: what berth's state root holds, by
// kind, and how much of it nothing uses.
type DiskUsage struct {
	Images     image.Usage
	Containers []ContainerUsage
	Volumes    []VolumeUsage
	BuildCache BuildCacheUsage
}

// ContainerUsage is one container's writable layer.
type ContainerUsage struct {
	ID, Name, Project, Image, ImageID string
	Status                            state.Status
	Size                              int64 // bytes of its upper dir
}

// VolumeUsage is one volume's data.
type VolumeUsage struct {
	Name    string
	Project string
	Links   int // containers that use it
	Size    int64
}

// BuildCacheUsage is the build cache.
type BuildCacheUsage struct {
	Entries int
	Size    int64
}

// inUse are the image IDs and volumes the container records name, running
// or not (as Docker: a stopped container still holds its image and
// volumes).
func (e *Engine) inUse() (images map[string]bool, vols map[string]int, cs []*state.Container, err error) {
	cs, err = e.store.List("")
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read container records: %w", err)
	}
	images, vols = map[string]bool{}, map[string]int{}
	for _, c := range cs {
		images[c.ImageID] = true
		for _, v := range c.Volumes {
			vols[v]++
		}
	}
	return images, vols, cs, nil
}

// DiskUsage measures the state root.
func (e *Engine) DiskUsage(ctx context.Context) (*DiskUsage, error) {
	imgs, vols, cs, err := e.inUse()
	if err != nil {
		return nil, err
	}
	du := &DiskUsage{}
	iu, err := e.images.Usage(func(id string) bool { return imgs[id] })
	if err != nil {
		return nil, err
	}
	du.Images = *iu
	for _, c := range cs {
		st, err := e.store.GetState(c.ID)
		status := state.StatusCreated
		if err == nil && st != nil {
			status = st.Status
		}
		du.Containers = append(du.Containers, ContainerUsage{
			ID: c.ID, Name: c.Name, Project: c.Project, Image: c.Image, ImageID: c.ImageID, Status: status,
			Size: int64(fsutil.DirSize(filepath.Join(e.store.Dir(c.ID), "upper"))),
		})
	}
	sort.Slice(du.Containers, func(i, j int) bool { return du.Containers[i].Name < du.Containers[j].Name })
	list, err := e.volumeManager().List(ctx, volumes.Filter{})
	if err != nil {
		return nil, err
	}
	for _, v := range list {
		vu := VolumeUsage{Name: v.Name, Project: v.Project(), Links: vols[v.Name]}
		if v.Mountpoint != "" && filepath.Base(v.Mountpoint) == "_data" {
			vu.Size = int64(fsutil.DirSize(v.Mountpoint))
		}
		du.Volumes = append(du.Volumes, vu)
	}
	cache := e.layout.BuildCache()
	if ents, err := os.ReadDir(filepath.Join(cache, "keys")); err == nil {
		du.BuildCache.Entries = len(ents)
	}
	du.BuildCache.Size = int64(fsutil.DirSize(cache))
	return du, nil
}

// PruneOptions choose what SystemPrune removes.
type PruneOptions struct {
	AllImages bool // every image no container uses, not only untagged ones
	Volumes   bool // anonymous volumes no container uses
}

// PruneReport is what SystemPrune removed.
type PruneReport struct {
	Containers []string
	Networks   []string
	Volumes    []string
	Images     *image.Removed
	BuildCache int
	Reclaimed  uint64
}

// SystemPrune removes, in Docker's order, stopped containers, networks no
// container uses, (with Volumes) anonymous volumes no container uses,
// untagged images (with AllImages every image no container uses) and the
// build cache. Anything a container (running or stopped and kept) or a
// running project uses stays: each remover checks use under its own lock.
func (e *Engine) SystemPrune(ctx context.Context, o PruneOptions) (*PruneReport, error) {
	rep := &PruneReport{}
	cs, err := e.store.List("")
	if err != nil {
		return nil, err
	}
	errs := e.pruneContainers(ctx, cs, rep)
	errs = append(errs, e.pruneNetworks(ctx, rep)...)

	_, vols, _, err := e.inUse()
	if err != nil {
		return rep, errors.Join(append(errs, err)...)
	}
	if o.Volumes {
		vr, err := e.volumeManager().Prune(ctx, false, func(name string) bool { return vols[name] > 0 })
		rep.Volumes = vr.Removed
		rep.Reclaimed += vr.Reclaimed
		if err != nil {
			errs = append(errs, err)
		}
	}

	imgs, _, _, err := e.inUse()
	if err != nil {
		return rep, errors.Join(append(errs, err)...)
	}
	ir, err := e.images.Prune(ctx, image.PruneOptions{All: o.AllImages, InUse: func(id string) bool { return imgs[id] }})
	rep.Images = ir
	if ir != nil && ir.Reclaimed > 0 {
		rep.Reclaimed += uint64(ir.Reclaimed)
	}
	if err != nil {
		errs = append(errs, err)
	}
	if err := e.pruneBuildCache(ctx, rep); err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// pruneContainers removes the stopped containers of each project of cs,
// in name order, each project under its lock (Remove); what each removed
// container's dir held counts as reclaimed.
func (e *Engine) pruneContainers(ctx context.Context, cs []*state.Container, rep *PruneReport) []error {
	var errs []error
	for _, p := range containerProjects(cs) {
		before := map[string]int64{}
		for _, c := range cs {
			if c.Project == p {
				before[c.Name] = int64(fsutil.DirSize(e.store.Dir(c.ID)))
			}
		}
		removed, err := e.Remove(ctx, Selection{Project: p, All: true}, false, false)
		for _, n := range removed {
			rep.Reclaimed += uint64(before[n])
		}
		rep.Containers = append(rep.Containers, removed...)
		if err != nil {
			errs = append(errs, fmt.Errorf("project %s: %w", p, err))
		}
	}
	return errs
}

// containerProjects are the projects of cs, sorted, each once.
func containerProjects(cs []*state.Container) []string {
	projects := map[string]bool{}
	for _, c := range cs {
		projects[c.Project] = true
	}
	names := make([]string, 0, len(projects))
	for p := range projects {
		names = append(names, p)
	}
	sort.Strings(names)
	return names
}

// PruneNetworks is `network prune`: it removes every network no container
// uses, the default bridge included (not reported, as Docker never lists
// its predefined networks), and returns the names of those it removed.
func (e *Engine) PruneNetworks(ctx context.Context) ([]string, error) {
	var rep PruneReport
	errs := e.pruneNetworks(ctx, &rep)
	return rep.Networks, errors.Join(errs...)
}

// pruneNetworks removes every network no container uses (RemoveNetwork
// refuses the others) and releases the default bridge when unused.
func (e *Engine) pruneNetworks(ctx context.Context, rep *PruneReport) []error {
	var errs []error
	nets, err := e.networks().List()
	if err != nil {
		errs = append(errs, err)
	}
	for _, n := range nets {
		if e.RemoveNetwork(ctx, n.Name) == nil {
			rep.Networks = append(rep.Networks, n.Name)
		}
	}
	if err := e.releaseDefaultBridge(ctx); err != nil { // predefined: not reported, as Docker
		errs = append(errs, err)
	}
	return errs
}

// pruneBuildCache empties the build cache.
func (e *Engine) pruneBuildCache(ctx context.Context, rep *PruneReport) error {
	b, err := e.Builder()
	if err != nil {
		return err
	}
	br, err := b.Prune(ctx, false)
	rep.BuildCache = br.Entries
	rep.Reclaimed += br.Reclaimed
	return err
}
