package main

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine"
)

// downImages are the images `down --rmi MODE` removes, as docker compose
// picks them: with "local", those berth builds under its own name
// (`build:` and no `image:`); with "all", every service's image too.
// services limits them to those services when given.
func downImages(p *types.Project, mode string, services []string) []string {
	want := map[string]bool{}
	for _, s := range services {
		want[s] = true
	}
	seen := map[string]bool{}
	var out []string
	for name, svc := range p.Services {
		if len(want) > 0 && !want[name] {
			continue
		}
		local := svc.Build != nil && svc.Image == ""
		if !local && mode != "all" {
			continue
		}
		if ref := engine.ServiceImageName(p, svc); !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	sort.Strings(out)
	return out
}

// removeDownImages removes the images of down --rmi; one a container of
// another project still uses, or already gone, is said and skipped.
func removeDownImages(ctx context.Context, g *globalOptions, p *types.Project, mode string, services []string) error {
	refs := downImages(p, mode, services)
	if len(refs) == 0 {
		return nil
	}
	store, err := openImageStore()
	if err != nil {
		return err
	}
	inUse, err := imagesInUse()
	if err != nil {
		return err
	}
	out := g.statusOut()
	for _, ref := range refs {
		_, err := store.Remove(ctx, ref, false, inUse)
		switch {
		case err == nil:
			fmt.Fprintf(out, " ✔ Image %s  Removed\n", ref)
		case errors.Is(err, engine.ErrImageNotFound):
		case errors.Is(err, engine.ErrImageInUse):
			fmt.Fprintf(out, " ! Image %s  Warning: still used by a container, kept\n", ref)
		default:
			return err
		}
	}
	return nil
}
