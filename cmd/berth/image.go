package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/google/renameio/v2"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/layout"
)

func newImageCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images (ls, inspect, rm, prune, load, save, tag, pull, push, build)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newImageLsCmd(g),
		newImageInspectCmd(g),
		newImageRmCmd(g),
		newImagePruneCmd(g),
		newImageLoadCmd(g),
		newImageSaveCmd(g),
		newImageTagCmd(g),
		newImagePullCmd(g),
		newImagePushCmd(g),
		newImageBuildCmd(g),
	)
	return cmd
}

// imagesInUse reports which image IDs a container (of any project) uses.
func imagesInUse() (func(id string) bool, error) {
	cs, err := engine.OpenRecords(layout.FromEnv()).Containers("")
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, c := range cs {
		used[c.ImageID] = true
	}
	return func(id string) bool { return used[id] }, nil
}

// imageRow is one line of `berth image ls`, with Docker's JSON names.
type imageRow struct {
	Containers   string `json:"Containers"`
	CreatedAt    string `json:"CreatedAt"`
	CreatedSince string `json:"CreatedSince"`
	Digest       string `json:"Digest"`
	ID           string `json:"ID"`
	Repository   string `json:"Repository"`
	Tag          string `json:"Tag"`
	Size         string `json:"Size"`
	Platform     string `json:"Platform"`
}

func newImageLsCmd(g *globalOptions) *cobra.Command {
	var quiet, noTrunc, digests, all bool
	var format string
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS] [REPOSITORY[:TAG]]",
		Aliases: []string{"list"},
		Short:   "List images",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openImageStore()
			if err != nil {
				return err
			}
			list, err := store.List()
			if err != nil {
				return err
			}
			rows := imageRows(list, noTrunc)
			if len(args) == 1 {
				rows = filterRows(rows, args[0])
			}
			switch {
			case quiet:
				seen := map[string]bool{}
				for _, r := range rows {
					if !seen[r.ID] {
						seen[r.ID] = true
						fmt.Fprintln(g.stdout, r.ID)
					}
				}
			case format == "json":
				enc := json.NewEncoder(g.stdout) // one object per line, as docker does
				for _, r := range rows {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
			case format == "" || format == "table":
				tw := tabwriter.NewWriter(g.stdout, 0, 0, 3, ' ', 0)
				if digests {
					fmt.Fprintln(tw, "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\tCREATED\tSIZE")
				} else {
					fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
				}
				for _, r := range rows {
					if digests {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.Digest, r.ID, r.CreatedSince, r.Size)
					} else {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size)
					}
				}
				tw.Flush()
			default:
				return templateOut(g.stdout, format, rows)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&quiet, "quiet", "q", false, "Only show image IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	f.BoolVar(&digests, "digests", false, "Show digests")
	f.BoolVarP(&all, "all", "a", false, "Show all images (berth keeps no intermediate images; accepted for compatibility)")
	f.StringVar(&format, "format", "table", "Format the output: table, json, or a Go template")
	return cmd
}

// imageRows expands the store's images to one row per tag, as docker does.
func imageRows(list []engine.ImageSummary, noTrunc bool) []imageRow {
	var rows []imageRow
	now := time.Now()
	for _, s := range list {
		base := imageRow{
			Containers: "N/A", ID: s.ID, Digest: "<none>", Size: units.HumanSizeWithPrecision(float64(s.Size), 3),
			Platform: s.Platform, CreatedSince: "N/A", CreatedAt: "N/A",
		}
		if !noTrunc {
			base.ID = shortImageID(s.ID)
		}
		if !s.Created.IsZero() {
			base.CreatedAt = s.Created.Local().Format("2006-01-02 15:04:05 -0700 MST")
			base.CreatedSince = units.HumanDuration(now.Sub(s.Created)) + " ago"
		}
		digestOf := map[string]string{}
		for _, rd := range s.RepoDigests {
			if repo, d, ok := strings.Cut(rd, "@"); ok {
				digestOf[repo] = d
			}
		}
		if len(s.RepoTags) == 0 {
			r := base
			r.Repository, r.Tag = "<none>", "<none>"
			for repo, d := range digestOf {
				r.Repository, r.Digest = repo, d
				break
			}
			rows = append(rows, r)
			continue
		}
		for _, t := range s.RepoTags {
			r := base
			i := strings.LastIndex(t, ":")
			r.Repository, r.Tag = t[:i], t[i+1:]
			if d, ok := digestOf[r.Repository]; ok {
				r.Digest = d
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// filterRows keeps rows matching REPOSITORY[:TAG].
func filterRows(rows []imageRow, arg string) []imageRow {
	repo, tag := arg, ""
	if i := strings.LastIndex(arg, ":"); i > strings.LastIndex(arg, "/") {
		repo, tag = arg[:i], arg[i+1:]
	}
	if ref, err := engine.ParseImageReference(repo); err == nil {
		repo = ref.FamiliarName()
	}
	var out []imageRow
	for _, r := range rows {
		if r.Repository == repo && (tag == "" || r.Tag == tag) {
			out = append(out, r)
		}
	}
	return out
}

func templateOut(w io.Writer, format string, items any) error {
	return formatRows(w, format, items, nil)
}

func newImageInspectCmd(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] IMAGE [IMAGE...]",
		Short: "Display detailed information on one or more images",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openImageStore()
			if err != nil {
				return err
			}
			var out []imageInspect
			var errs []error
			for _, n := range args {
				img, err := store.Get(n)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				out = append(out, inspectImage(img))
			}
			if format != "" && format != "json" {
				if err := templateOut(g.stdout, format, out); err != nil {
					return err
				}
			} else {
				if out == nil {
					out = []imageInspect{}
				}
				data, err := json.MarshalIndent(out, "", "    ")
				if err != nil {
					return err
				}
				fmt.Fprintln(g.stdout, string(data))
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format the output: json, or a Go template")
	return cmd
}

// imageInspect is `docker image inspect`'s shape (the fields berth has),
// plus the manifest descriptor.
type imageInspect struct {
	ID           string         `json:"Id"`
	RepoTags     []string       `json:"RepoTags"`
	RepoDigests  []string       `json:"RepoDigests"`
	Created      string         `json:"Created"`
	Author       string         `json:"Author"`
	Config       any            `json:"Config"`
	Architecture string         `json:"Architecture"`
	Variant      string         `json:"Variant,omitempty"`
	Os           string         `json:"Os"`
	Size         int64          `json:"Size"`
	GraphDriver  map[string]any `json:"GraphDriver"`
	RootFS       map[string]any `json:"RootFS"`
	Descriptor   map[string]any `json:"Descriptor"`
}

func inspectImage(img *engine.Image) imageInspect {
	cfg := img.Config()
	diffIDs := []string{}
	for _, d := range cfg.RootFS.DiffIDs {
		diffIDs = append(diffIDs, d.String())
	}
	dirs := img.LayerDirs()
	lower := make([]string, len(dirs))
	for i, d := range dirs {
		lower[len(dirs)-1-i] = d
	}
	out := imageInspect{
		ID: img.ID(), RepoTags: img.RepoTags, RepoDigests: img.RepoDigests,
		Created: img.Created().UTC().Format(time.RFC3339Nano), Author: cfg.Author, Config: cfg.Config,
		Architecture: cfg.Architecture, Variant: cfg.Variant, Os: cfg.OS, Size: img.Size(),
		GraphDriver: map[string]any{"Name": "overlay", "Data": map[string]string{"LowerDir": strings.Join(lower, ":")}},
		RootFS:      map[string]any{"Type": "layers", "Layers": diffIDs},
		Descriptor:  map[string]any{"mediaType": img.MediaType(), "digest": img.Digest()},
	}
	if out.RepoTags == nil {
		out.RepoTags = []string{}
	}
	if out.RepoDigests == nil {
		out.RepoDigests = []string{}
	}
	return out
}

func newImageRmCmd(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] IMAGE [IMAGE...]",
		Aliases: []string{"remove", "rmi"},
		Short:   "Remove one or more images",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openImageStore()
			if err != nil {
				return err
			}
			inUse, err := imagesInUse()
			if err != nil {
				return err
			}
			var errs []error
			for _, n := range args {
				r, err := store.Remove(cmd.Context(), n, force, inUse)
				if r != nil {
					printRemoved(g.stdout, r, "Untagged: ", "Deleted: ")
				}
				if err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force removal of the image (an image a container uses is only untagged)")
	return cmd
}

func printRemoved(w io.Writer, r *engine.RemovedImages, untagged, deleted string) {
	for _, u := range r.Untagged {
		fmt.Fprintln(w, untagged+u)
	}
	for _, d := range r.Deleted {
		fmt.Fprintln(w, deleted+d)
	}
}

func newImagePruneCmd(g *globalOptions) *cobra.Command {
	var all, force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images, and every blob and layer no image uses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force {
				what := "all dangling images"
				if all {
					what = "all images without at least one container associated to them"
				}
				fmt.Fprintf(g.stdout, "WARNING! This will remove %s.\nAre you sure you want to continue? [y/N] ", what)
				answer, _ := bufio.NewReader(g.stdin).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return nil
				}
			}
			store, err := openImageStore()
			if err != nil {
				return err
			}
			inUse, err := imagesInUse()
			if err != nil {
				return err
			}
			r, err := store.Prune(cmd.Context(), engine.ImagePruneOptions{All: all, InUse: inUse})
			if r != nil {
				if len(r.Untagged)+len(r.Deleted) > 0 {
					fmt.Fprintln(g.stdout, "Deleted Images:")
					printRemoved(g.stdout, r, "untagged: ", "deleted: ")
					fmt.Fprintln(g.stdout)
				}
				fmt.Fprintf(g.stdout, "Total reclaimed space: %s\n", units.HumanSizeWithPrecision(float64(r.Reclaimed), 3))
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused images, not just dangling ones")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

func newImageLoadCmd(g *globalOptions) *cobra.Command {
	var input string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "load [OPTIONS]",
		Short: "Load images from a tar archive (docker save or OCI layout) or STDIN",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r io.Reader = g.stdin
			if input != "" && input != "-" {
				f, err := os.Open(input)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			} else if f, ok := g.stdin.(*os.File); ok && isTerminal(f) {
				return errors.New("requested load from stdin, but stdin is a terminal: use -i FILE or redirect a tar archive")
			}
			store, err := openImageStore()
			if err != nil {
				return err
			}
			names, err := store.Load(cmd.Context(), r, nil)
			if !quiet || err == nil {
				for _, n := range names {
					if strings.HasPrefix(n, "sha256:") {
						fmt.Fprintln(g.stdout, "Loaded image ID: "+n)
					} else {
						fmt.Fprintln(g.stdout, "Loaded image: "+n)
					}
				}
			}
			if err != nil && input != "" {
				return fmt.Errorf("%s: %w", input, err)
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "Read from tar archive file, instead of STDIN")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress the load output")
	return cmd
}

func newImageSaveCmd(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "save [OPTIONS] IMAGE [IMAGE...]",
		Short: "Save one or more images to a tar archive (docker save and OCI layout at once)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openImageStore()
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				if f, ok := g.stdout.(*os.File); ok && isTerminal(f) {
					return errors.New("cowardly refusing to save to a terminal: use the -o flag or redirect")
				}
				return store.Save(cmd.Context(), g.stdout, args...)
			}
			return saveToFile(cmd.Context(), store, output, args)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}

// saveToFile writes the archive beside path and renames it into place
// (renameio), so a failed save leaves no half archive under that name.
func saveToFile(ctx context.Context, store *engine.ImageStore, path string, names []string) error {
	f, err := renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)), renameio.WithStaticPermissions(0o644))
	if err != nil {
		return err
	}
	defer f.Cleanup() // no-op after the replace
	if err := store.Save(ctx, f, names...); err != nil {
		return err
	}
	return f.CloseAtomicallyReplace()
}

func newImageTagCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openImageStore()
			if err != nil {
				return err
			}
			return store.Tag(cmd.Context(), args[0], args[1])
		},
	}
}

// newImagePullCmd is `berth image pull NAME`: one image, outside any
// project.
func newImagePullCmd(g *globalOptions) *cobra.Command {
	var platform string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := openImageStore()
			if err != nil {
				return err
			}
			cfg, err := engine.LoadRegistryConfig()
			if err != nil {
				return err
			}
			prog := newPullProgress(g.stderr, !quiet && isTerminalWriter(g.stderr), g.colorEnabledOn(g.stderr))
			prog.add(args[0], args[0])
			opts := engine.PullOptions{Platform: platform}
			if !quiet {
				opts.Progress = prog.event
				prog.run()
			}
			img, err := engine.NewPuller(store, cfg).Pull(cmd.Context(), args[0], opts)
			if err != nil && !quiet {
				prog.fail(args[0], err)
			}
			prog.finish()
			if err != nil {
				return err
			}
			ref, _ := engine.ParseImageReference(args[0])
			for _, rd := range img.RepoDigests {
				if repo, d, _ := strings.Cut(rd, "@"); repo == ref.FamiliarName() && !quiet {
					fmt.Fprintln(g.stdout, "Digest: "+d)
				}
			}
			fmt.Fprintln(g.stdout, ref.String())
			return nil
		},
	}
	cmd.Flags().StringVar(&platform, "platform", "", "Set platform (os/arch[/variant]) if the image is multi-platform")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Suppress verbose output")
	return cmd
}
