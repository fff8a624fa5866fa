package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	goruntime "runtime"
	"runtime/debug"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

func newSystemCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Manage berth's state (df, prune, info)",
	}
	info := newInfoCmd(g)
	cmd.AddCommand(newSystemDfCmd(g), newSystemPruneCmd(g), info)
	return cmd
}

// newInfoCmd is `docker info`: the runtime, storage, cgroups, networks
// and the kernel features berth uses, each with whether it works here.
func newInfoCmd(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info [OPTIONS]",
		Short: "Display system-wide information: runtime, storage, cgroups, networks, kernel features",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			in := eng.Info(cmd.Context())
			switch format {
			case "":
				printInfo(g.stdout, in)
				return nil
			case "json":
				return json.NewEncoder(g.stdout).Encode(in)
			}
			return templateOut(g.stdout, format, []*engine.Info{in})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format the output: json, or a Go template")
	return cmd
}

func printInfo(w io.Writer, in *engine.Info) {
	fmt.Fprintf(w, "Client:\n Version:    %s\n Go:         %s\n (no daemon: berth is the engine)\n\n", versionString(), goruntime.Version())
	fmt.Fprintln(w, "Server:")
	fmt.Fprintf(w, " Containers: %d\n  Running: %d\n  Paused: %d\n  Stopped: %d\n", in.Containers, in.Running, in.Paused, in.Stopped)
	fmt.Fprintf(w, " Images: %d\n", in.Images)
	if in.RuntimeError != "" {
		fmt.Fprintf(w, " Runtime: none (%s)\n", in.RuntimeError)
	} else {
		fmt.Fprintf(w, " Runtime: %s\n  Path: %s\n  Version: %s\n", in.Runtime, in.RuntimePath, in.RuntimeVersion)
	}
	fmt.Fprintf(w, " Storage Driver: %s\n  Root: %s\n  Run: %s\n  Usage: %s\n", in.StorageDriver, in.Root, in.Run, units.HumanSize(float64(in.StorageUsage)))
	fmt.Fprintf(w, " Cgroup Driver: %s\n Cgroup Version: %s\n", in.CgroupDriver, in.CgroupVersion)
	fmt.Fprintf(w, " Networks: %d\n", len(in.Networks))
	for _, n := range in.Networks {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintf(w, " Subnet Pool: %s\n", in.SubnetPool)
	fmt.Fprintf(w, " Kernel Version: %s\n Operating System: %s\n", in.KernelVersion, in.OperatingSystem)
	fmt.Fprintln(w, " Kernel Features:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range in.Features {
		mark := "yes"
		if !f.Works {
			mark = "NO"
		}
		note := ""
		if f.Note != "" {
			note = " [" + f.Note + "]"
		}
		fmt.Fprintf(tw, "  %s:\t%s\tfor %s%s\n", f.Name, mark, f.Used, note)
	}
	tw.Flush()
}

// dfRow is one line of `system df`, with Docker's JSON names.
type dfRow struct {
	Type        string `json:"Type"`
	TotalCount  string `json:"TotalCount"`
	Active      string `json:"Active"`
	Size        string `json:"Size"`
	Reclaimable string `json:"Reclaimable"`
}

func percent(part, total int64) string {
	if total <= 0 {
		return "0%"
	}
	return fmt.Sprintf("%d%%", part*100/total)
}

func dfRows(du *engine.DiskUsage) []dfRow {
	hs := func(n int64) string { return units.HumanSize(float64(n)) }
	var cSize, cReclaim int64
	cActive := 0
	for _, c := range du.Containers {
		cSize += c.Size
		if c.Status == engine.StatusRunning || c.Status == engine.StatusPaused || c.Status == engine.StatusRestarting {
			cActive++
		} else {
			cReclaim += c.Size
		}
	}
	var vSize, vReclaim int64
	vActive := 0
	for _, v := range du.Volumes {
		vSize += v.Size
		if v.Links > 0 {
			vActive++
		} else {
			vReclaim += v.Size
		}
	}
	im := du.Images
	return []dfRow{
		{"Images", fmt.Sprint(im.Images), fmt.Sprint(im.Active), hs(im.Size), fmt.Sprintf("%s (%s)", hs(im.Reclaimable), percent(im.Reclaimable, im.Size))},
		{"Containers", fmt.Sprint(len(du.Containers)), fmt.Sprint(cActive), hs(cSize), fmt.Sprintf("%s (%s)", hs(cReclaim), percent(cReclaim, cSize))},
		{"Local Volumes", fmt.Sprint(len(du.Volumes)), fmt.Sprint(vActive), hs(vSize), fmt.Sprintf("%s (%s)", hs(vReclaim), percent(vReclaim, vSize))},
		{"Build Cache", fmt.Sprint(du.BuildCache.Entries), "0", hs(du.BuildCache.Size), hs(du.BuildCache.Size)},
	}
}

func newSystemDfCmd(g *globalOptions) *cobra.Command {
	var format string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "df [OPTIONS]",
		Short: "Show disk usage: images, containers, volumes, build cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			du, err := eng.DiskUsage(cmd.Context())
			if err != nil {
				return err
			}
			rows := dfRows(du)
			switch {
			case format == "json":
				enc := json.NewEncoder(g.stdout)
				for _, r := range rows {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			case format != "" && format != "table":
				return templateOut(g.stdout, format, rows)
			}
			if verbose {
				printDfVerbose(g.stdout, du)
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 3, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "Format the output: table, json, or a Go template")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "Show detailed information on space usage")
	return cmd
}

func printDfVerbose(w io.Writer, du *engine.DiskUsage) {
	hs := func(n int64) string { return units.HumanSize(float64(n)) }
	fmt.Fprintln(w, "Images space usage:")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS")
	for _, im := range du.Images.PerImage {
		n := 0
		for _, c := range du.Containers {
			if c.ImageID == im.ID {
				n++
			}
		}
		repo, tag := "<none>", "<none>"
		if len(im.RepoTags) > 0 {
			i := strings.LastIndex(im.RepoTags[0], ":")
			repo, tag = im.RepoTags[0][:i], im.RepoTags[0][i+1:]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", repo, tag, shortImageID(im.ID), hs(im.SharedSize+im.UniqueSize), hs(im.SharedSize), hs(im.UniqueSize), n)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nContainers space usage:")
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tPROJECT\tSIZE\tSTATUS\tNAMES")
	for _, c := range du.Containers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID[:min(12, len(c.ID))], c.Image, c.Project, hs(c.Size), c.Status, c.Name)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nLocal Volumes space usage:")
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "VOLUME NAME\tLINKS\tSIZE")
	for _, v := range du.Volumes {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", v.Name, v.Links, hs(v.Size))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nBuild cache usage: %s\n", hs(du.BuildCache.Size))
}

func newSystemPruneCmd(g *globalOptions) *cobra.Command {
	var all, vols, force bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused data: stopped containers, unused networks, dangling images, build cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force {
				lines := []string{"all stopped containers", "all networks not used by at least one container"}
				if vols {
					lines = append(lines, "all anonymous volumes not used by at least one container")
				}
				if all {
					lines = append(lines, "all images without at least one container associated to them")
				} else {
					lines = append(lines, "all dangling images")
				}
				lines = append(lines, "unused build cache")
				fmt.Fprintf(g.stdout, "WARNING! This will remove:\n  - %s\n\nAre you sure you want to continue? [y/N] ", strings.Join(lines, "\n  - "))
				if !confirmed(g.stdin) {
					return nil
				}
			}
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			rep, err := eng.SystemPrune(cmd.Context(), engine.PruneOptions{AllImages: all, Volumes: vols})
			if rep == nil {
				return err
			}
			section := func(title string, items []string) {
				if len(items) == 0 {
					return
				}
				fmt.Fprintln(g.stdout, title)
				for _, it := range items {
					fmt.Fprintln(g.stdout, it)
				}
				fmt.Fprintln(g.stdout)
			}
			section("Deleted Containers:", rep.Containers)
			section("Deleted Networks:", rep.Networks)
			section("Deleted Volumes:", rep.Volumes)
			if r := rep.Images; r != nil && len(r.Untagged)+len(r.Deleted) > 0 {
				fmt.Fprintln(g.stdout, "Deleted Images:")
				printRemoved(g.stdout, r, "untagged: ", "deleted: ")
				fmt.Fprintln(g.stdout)
			}
			if rep.BuildCache > 0 {
				fmt.Fprintf(g.stdout, "Deleted build cache objects: %d\n\n", rep.BuildCache)
			}
			fmt.Fprintf(g.stdout, "Total reclaimed space: %s\n", units.HumanSize(float64(rep.Reclaimed)))
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all", "a", false, "Remove all unused images not just dangling ones")
	f.BoolVar(&vols, "volumes", false, "Prune anonymous volumes")
	f.BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	return cmd
}

// versionString is berth's version: the one set at build time, else the
// module's.
func versionString() string {
	if version == "dev" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
	}
	return version
}
