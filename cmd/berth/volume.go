package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/layout"
	"github.com/berth-dev/berth/volumes"
)

func newVolumeCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Manage volumes (ls, inspect, create, rm, prune)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return c.Help()
		},
	}
	cmd.AddCommand(
		newVolumeLsCmd(g),
		newVolumeInspectCmd(g),
		newVolumeCreateCmd(g),
		newVolumeRmCmd(g),
		newVolumePruneCmd(g),
	)
	return cmd
}

func volumeManager() *volumes.Manager {
	return volumes.New(layout.FromEnv().Volumes())
}

// volumesInUse reads the container records: a volume is in use while any
// container, running or not, records it (as Docker).
func volumesInUse() (volumes.InUse, error) {
	cs, err := engine.OpenRecords(layout.FromEnv()).Containers("")
	if err != nil {
		return nil, fmt.Errorf("read container records: %w", err)
	}
	used := map[string]bool{}
	for _, c := range cs {
		for _, v := range c.Volumes {
			used[v] = true
		}
	}
	return func(name string) bool { return used[name] }, nil
}

type volumeLsOptions struct {
	quiet   bool
	format  string
	project string
	filters []string
}

func newVolumeLsCmd(g *globalOptions) *cobra.Command {
	var o volumeLsOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runVolumeLs(c.Context(), g, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only display volume names")
	f.StringVar(&o.format, "format", "table", "Format the output: table or json")
	f.StringVar(&o.project, "project", "", "Only the volumes of this Compose project")
	f.StringArrayVar(&o.filters, "filter", nil, "Filter output (dangling=true|false, label=KEY[=VALUE], name=PART)")
	return cmd
}

func runVolumeLs(ctx context.Context, g *globalOptions, o volumeLsOptions) error {
	if o.format != "table" && o.format != "json" && o.format != "" {
		return fmt.Errorf("--format %q: want table or json", o.format)
	}
	sel, err := parseVolumeFilters(o.project, o.filters)
	if err != nil {
		return err
	}
	vols, err := volumeManager().List(ctx, sel.filter)
	if err != nil {
		return err
	}
	if sel.dangling != nil {
		inUse, err := volumesInUse()
		if err != nil {
			return err
		}
		vols = slices.DeleteFunc(vols, func(v *volumes.Volume) bool { return inUse(v.Name) == *sel.dangling })
	}
	return printVolumes(g.stdout, sel.byName(vols), o)
}

// volumeSelection is what volume ls --filter (and --project) select:
// the store's filter, then names (substrings, any of) and dangling.
type volumeSelection struct {
	filter   volumes.Filter
	names    []string
	dangling *bool
}

// parseVolumeFilters reads --filter dangling=, label=KEY[=VALUE] and
// name=PART, as docker volume ls.
func parseVolumeFilters(project string, filters []string) (volumeSelection, error) {
	sel := volumeSelection{filter: volumes.Filter{Project: project, Labels: map[string]string{}}}
	for _, f := range filters {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "label":
			lk, lv, _ := strings.Cut(v, "=")
			sel.filter.Labels[lk] = lv
		case "name":
			sel.names = append(sel.names, v)
		case "dangling":
			b := v == "true" || v == "1"
			if !b && v != "false" && v != "0" {
				return sel, fmt.Errorf("--filter %q: dangling takes true or false", f)
			}
			sel.dangling = &b
		default:
			return sel, fmt.Errorf("--filter %q: want dangling=, label= or name=", f)
		}
	}
	return sel, nil
}

// byName keeps the volumes whose name contains one of the name filters
// (all of them when there are none).
func (s volumeSelection) byName(vols []*volumes.Volume) []*volumes.Volume {
	if len(s.names) == 0 {
		return vols
	}
	return slices.DeleteFunc(vols, func(v *volumes.Volume) bool {
		return !slices.ContainsFunc(s.names, func(n string) bool { return strings.Contains(v.Name, n) })
	})
}

// printVolumes prints volume ls: names (-q), JSON lines, or a table.
func printVolumes(w io.Writer, vols []*volumes.Volume, o volumeLsOptions) error {
	switch {
	case o.quiet:
		for _, v := range vols {
			fmt.Fprintln(w, v.Name)
		}
	case o.format == "json":
		enc := json.NewEncoder(w)
		for _, v := range vols {
			if err := enc.Encode(volumeLine(v)); err != nil {
				return err
			}
		}
	default:
		tw := tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		fmt.Fprintln(tw, "DRIVER\tVOLUME NAME")
		for _, v := range vols {
			fmt.Fprintf(tw, "%s\t%s\n", v.Driver, v.Name)
		}
		return tw.Flush()
	}
	return nil
}

// volumeLine is one line of `volume ls --format json`, with Docker's keys.
func volumeLine(v *volumes.Volume) map[string]string {
	return map[string]string{
		"Driver":     v.Driver,
		"Labels":     joinLabels(v.Labels),
		"Links":      "N/A",
		"Mountpoint": v.Mountpoint,
		"Name":       v.Name,
		"Scope":      "local",
		"Size":       "N/A",
	}
}

func joinLabels(l map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}

// volumeInspect is Docker's `volume inspect` document.
type volumeInspect struct {
	CreatedAt  string            `json:"CreatedAt"`
	Driver     string            `json:"Driver"`
	Labels     map[string]string `json:"Labels"`
	Mountpoint string            `json:"Mountpoint"`
	Name       string            `json:"Name"`
	Options    map[string]string `json:"Options"`
	Scope      string            `json:"Scope"`
}

func newVolumeInspectCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect VOLUME [VOLUME...]",
		Short: "Display detailed information on one or more volumes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			m := volumeManager()
			out := []volumeInspect{}
			var errs []error
			for _, name := range args {
				v, err := m.Get(c.Context(), name)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				out = append(out, volumeInspect{
					CreatedAt:  v.CreatedAt.Local().Format(time.RFC3339),
					Driver:     v.Driver,
					Labels:     v.Labels,
					Mountpoint: v.Mountpoint,
					Name:       v.Name,
					Options:    v.DriverOpts,
					Scope:      "local",
				})
			}
			b, err := json.MarshalIndent(out, "", "    ")
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, string(b))
			return errors.Join(errs...)
		},
	}
}

type volumeCreateOptions struct {
	driver string
	labels []string
	opts   []string
}

func newVolumeCreateCmd(g *globalOptions) *cobra.Command {
	var o volumeCreateOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			spec := volumes.Spec{Driver: o.driver}
			if len(args) == 1 {
				spec.Name = args[0]
			} else {
				b := make([]byte, 32)
				_, _ = rand.Read(b)
				spec.Name = hex.EncodeToString(b)
			}
			var err error
			if spec.Labels, err = keyValues("--label", o.labels); err != nil {
				return err
			}
			if spec.DriverOpts, err = keyValues("--opt", o.opts); err != nil {
				return err
			}
			v, err := volumeManager().Create(c.Context(), spec)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, v.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.driver, "driver", "d", volumes.DriverLocal, "Volume driver (only local)")
	f.StringArrayVar(&o.labels, "label", nil, "Set metadata for a volume (KEY=VALUE, repeatable)")
	f.StringArrayVarP(&o.opts, "opt", "o", nil, "Set driver specific options: type, o, device (KEY=VALUE, repeatable)")
	return cmd
}

func keyValues(flag string, in []string) (map[string]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(in))
	for _, kv := range in {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}

func newVolumeRmCmd(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] VOLUME [VOLUME...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more volumes",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			inUse, err := volumesInUse()
			if err != nil {
				return err
			}
			m := volumeManager()
			var errs []error
			for _, name := range args {
				if err := m.Remove(c.Context(), name, force, inUse); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(g.stdout, name)
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not fail on a missing volume, detach a busy mount")
	return cmd
}

func newVolumePruneCmd(g *globalOptions) *cobra.Command {
	var force, all bool
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused local volumes (anonymous ones unless --all)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !force {
				what := "anonymous local volumes"
				if all {
					what = "all local volumes"
				}
				fmt.Fprintf(g.stdout, "WARNING! This will remove %s not used by at least one container.\nAre you sure you want to continue? [y/N] ", what)
				if !confirmed(g.stdin) {
					return nil
				}
			}
			inUse, err := volumesInUse()
			if err != nil {
				return err
			}
			rep, err := volumeManager().Prune(c.Context(), all, inUse)
			if len(rep.Removed) > 0 {
				fmt.Fprintln(g.stdout, "Deleted Volumes:")
				for _, n := range rep.Removed {
					fmt.Fprintln(g.stdout, n)
				}
				fmt.Fprintln(g.stdout)
			}
			fmt.Fprintf(g.stdout, "Total reclaimed space: %s\n", units.HumanSize(float64(rep.Reclaimed)))
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "Remove all unused volumes, not just anonymous ones")
	return cmd
}

// confirmed reads a y/yes answer from in.
func confirmed(in io.Reader) bool {
	if in == nil {
		return false
	}
	line, _ := bufio.NewReader(in).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}
