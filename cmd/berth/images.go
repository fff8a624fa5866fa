package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/layout"
)

// projectImage is one row of `berth images`, with Compose's JSON names.
type projectImage struct {
	ID            string `json:"ID"`
	ContainerName string `json:"ContainerName"`
	Repository    string `json:"Repository"`
	Tag           string `json:"Tag"`
	Platform      string `json:"Platform"`
	Size          int64  `json:"Size"`
	Created       string `json:"Created,omitempty"`
}

func newImagesCmd(g *globalOptions) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "images [OPTIONS] [SERVICE...]",
		Short: "List images used by the created containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			sel, err := g.projectSelection(cmd.Context(), args)
			if err != nil {
				return err
			}
			if sel.P != nil {
				if _, err := pullServiceNames(sel.P, args); err != nil {
					return err
				}
			}
			rows, err := projectImages(sel.Project, args)
			if err != nil {
				return err
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
				if rows == nil {
					rows = []projectImage{}
				}
				data, err := json.MarshalIndent(rows, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintln(g.stdout, string(data))
			case format == "" || format == "table":
				tw := tabwriter.NewWriter(g.stdout, 0, 0, 3, ' ', 0)
				fmt.Fprintln(tw, "CONTAINER\tREPOSITORY\tTAG\tIMAGE ID\tSIZE")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ContainerName, r.Repository, r.Tag, shortImageID(r.ID), units.HumanSizeWithPrecision(float64(r.Size), 3))
				}
				tw.Flush()
			default:
				return fmt.Errorf("--format %q: want table or json", format)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "Format the output: table or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display IDs")
	return cmd
}

// projectImages lists the images of the project's containers (of the
// named services, or all), as `docker compose images` does.
func projectImages(projectName string, services []string) ([]projectImage, error) {
	containers, err := engine.OpenRecords(layout.FromEnv()).Containers(projectName)
	if err != nil {
		return nil, err
	}
	store, err := openImageStore()
	if err != nil {
		return nil, err
	}
	var rows []projectImage
	for _, c := range containers {
		if len(services) > 0 && !contains(services, c.Service) {
			continue
		}
		row := projectImage{ID: c.ImageID, ContainerName: c.Name, Repository: "<none>", Tag: "<none>"}
		if ref, err := engine.ParseImageReference(c.Image); err == nil {
			row.Repository, row.Tag = ref.FamiliarName(), ref.Tag
			if ref.Tag == "" {
				row.Tag = "<none>"
			}
		}
		lookup := c.ImageID
		if lookup == "" {
			lookup = c.Image
		}
		if img, err := store.Get(lookup); err == nil {
			row.ID, row.Size, row.Platform = img.ID(), img.Size(), img.Platform()
			if !img.Created().IsZero() {
				row.Created = img.Created().UTC().Format("2006-01-02T15:04:05Z")
			}
		}
		rows = append(rows, row)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].ContainerName < rows[j].ContainerName })
	return rows, nil
}

// shortImageID is Docker's 12-hex image ID.
func shortImageID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
