package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/internal/fsutil"
	"github.com/berth-dev/berth/internal/names"
)

// claimName writes a new container's first record, but only if its name is
// a valid container name and no other container under this state root
// (in any project) has it: a name is how `network_mode: container:NAME`,
// `cp`, `exec` and DNS find a container, so two containers of one name
// would let one project join another's network namespace. The check and
// the write happen under one lock for the whole state root, so two
// projects coming up at once cannot both take a name.
func (e *Engine) claimName(ctx context.Context, rec *state.Container) error {
	if err := names.ValidContainerName(rec.Name); err != nil {
		return fmt.Errorf("service %q: %w", rec.Service, err)
	}
	lock, err := fsutil.Acquire(ctx, e.layout.Lock("container-names"))
	if err != nil {
		return err
	}
	defer lock.Release()
	recs, err := e.store.List("")
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Name != rec.Name || r.ID == rec.ID || sameSlot(r, rec) {
			continue
		}
		return fmt.Errorf("service %q: container name %q is already in use by container %s of service %q in project %q: remove that container or choose another container_name",
			rec.Service, rec.Name, ociruntime.ShortID(r.ID), r.Service, r.Project)
	}
	return e.store.Put(rec)
}

// sameSlot reports whether a and b are the same replica of one service of
// one project: a record left behind for the slot being created again.
func sameSlot(a, b *state.Container) bool {
	return a.Project == b.Project && a.Service == b.Service && a.Number == b.Number && !a.Oneoff && !b.Oneoff
}

// containerByRef finds the container that `container:REF` names: the one
// whose name is REF, else the one whose ID starts with REF, which must be
// a single container (as Docker: an ambiguous prefix is an error).
func containerByRef(recs []*state.Container, ref string) (*state.Container, error) {
	if ref == "" {
		return nil, fmt.Errorf("no container named")
	}
	var byID []*state.Container
	for _, r := range recs {
		if r.Name == ref {
			return r, nil
		}
		if strings.HasPrefix(r.ID, ref) {
			byID = append(byID, r)
		}
	}
	switch len(byID) {
	case 0:
		return nil, fmt.Errorf("no such container: %s", ref)
	case 1:
		return byID[0], nil
	}
	return nil, fmt.Errorf("container ID prefix %q is ambiguous (%d containers): give more of the ID or the name", ref, len(byID))
}
