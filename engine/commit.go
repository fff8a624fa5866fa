package engine

import (
	"context"
	"fmt"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/berth-dev/berth/engine/build"
	"github.com/berth-dev/berth/engine/image"
	"github.com/berth-dev/berth/engine/rootfs"
	"github.com/berth-dev/berth/engine/state"
)

// CommitOptions are `commit`'s flags.
type CommitOptions struct {
	Service string
	Index   int    // the replica; 0: the first
	Ref     string // REPOSITORY[:TAG] to name the image; "": untagged
	Author  string
	Message string
	Changes []string // Dockerfile instructions (docker commit -c)
	Pause   bool     // pause the container while its changes are read (the default)
}

// Commit makes an image of a service container's changes, as `docker
// compose commit`: the container's image plus one layer of what the
// container changed in its filesystem (its overlay upper directory; not
// its volumes), with the --change instructions applied to the config. It
// returns the new image's ID.
//
// The changes are read from the host while the container is paused (-p,
// the default) so it cannot swap a file for a symlink between the walk's
// look and its read; with --pause=false that race is the caller's choice,
// as with Docker.
func (e *Engine) Commit(ctx context.Context, project string, o CommitOptions) (string, error) {
	recs, err := e.copyTargets(project, CopyOptions{Service: o.Service, Index: o.Index})
	if err != nil {
		return "", err
	}
	return e.commit(ctx, recs[0], o)
}

func (e *Engine) commit(ctx context.Context, rec *state.Container, o CommitOptions) (string, error) {
	base, err := e.images.Get(rec.ImageID)
	if err != nil {
		if base, err = e.images.Get(rec.Image); err != nil {
			return "", fmt.Errorf("commit %s: its image: %w", rec.Name, err)
		}
	}
	baseImg, err := base.V1Image()
	if err != nil {
		return "", err
	}
	cf, err := baseImg.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	if err := build.ApplyChanges(&cf.Config, o.Changes); err != nil {
		return "", err
	}
	now := time.Now().UTC()
	cf.Created = v1.Time{Time: now}
	cf.Author = o.Author

	if o.Pause {
		st, err := e.store.GetState(rec.ID)
		if err != nil {
			return "", err
		}
		if st.Status == state.StatusRunning {
			if err := e.PauseContainer(ctx, rec, true); err != nil {
				return "", err
			}
			defer e.PauseContainer(context.WithoutCancel(ctx), rec, false)
		}
	}
	scratch, err := os.MkdirTemp(e.layout.Root, ".commit-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(scratch)
	layer, err := build.UpperLayer(ctx, rootfs.LayoutIn(rec.Bundle).Upper, scratch)
	if err != nil {
		return "", fmt.Errorf("commit %s: %w", rec.Name, err)
	}
	hist := v1.History{Author: o.Author, Created: cf.Created, CreatedBy: "berth commit", Comment: o.Message}
	if layer == nil { // nothing changed: the config alone, as Docker
		hist.EmptyLayer = true
		cf.History = append(cf.History, hist)
	}
	img, err := mutate.ConfigFile(baseImg, cf)
	if err != nil {
		return "", err
	}
	if layer != nil {
		if img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: hist}); err != nil {
			return "", err
		}
	}
	var tags []string
	if o.Ref != "" {
		tags = []string{o.Ref}
	}
	out, err := e.images.Import(ctx, img, image.ImportOptions{Tags: tags, Label: "commit"})
	if err != nil {
		return "", fmt.Errorf("commit %s: store the image: %w", rec.Name, err)
	}
	return out.ID(), nil
}
