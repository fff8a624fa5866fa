package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/network/portmap"
)

// psOptions are ps's flags.
type psOptions struct {
	all, quiet, services, noTrunc, orphans bool
	format, filter                         string
	formatSet                              bool
	status                                 []string
}

func newPsCmd(g *globalOptions) *cobra.Command {
	o := psOptions{orphans: true}
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [SERVICE...]",
		Short: "List containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			o.formatSet = cmd.Flags().Changed("format")
			return runPs(cmd.Context(), g, &o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.all, "all", "a", false, "Show all stopped containers too")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Only display IDs")
	f.BoolVar(&o.services, "services", false, "Display services")
	f.StringVar(&o.format, "format", "table", "Format the output: table, json, or a Go template ('table {{.Name}}\t{{.Status}}'); default: psFormat of the Docker CLI's config.json, else table")
	f.StringArrayVar(&o.status, "status", nil, "Filter services by status: created, restarting, running, paused, exited, dead")
	f.StringVar(&o.filter, "filter", "", "Filter services by a property: status=STATUS")
	f.BoolVar(&o.orphans, "orphans", true, "Include containers of services not in the compose file")
	f.BoolVar(&o.noTrunc, "no-trunc", false, "Don't truncate the command")
	return cmd
}

func runPs(ctx context.Context, g *globalOptions, o *psOptions, args []string) error {
	more, err := psStatusFilter(o.filter)
	if err != nil {
		return err
	}
	o.status = append(o.status, more...)
	sel, eng, err := g.selectionAndEngine(ctx, args)
	if err != nil {
		return err
	}
	if err := knownServices(sel); err != nil {
		return err
	}
	list, err := eng.Ps(ctx, sel.Project, engine.PsOptions{Services: args, All: o.all || len(o.status) > 0})
	if err != nil {
		return err
	}
	if !o.orphans && sel.P != nil {
		list = keepContainers(list, func(c engine.ContainerSummary) bool {
			_, ok := sel.P.Services[c.Service]
			return ok
		})
	}
	if len(o.status) > 0 {
		list = keepContainers(list, func(c engine.ContainerSummary) bool { return contains(o.status, c.State) })
	}
	if !o.formatSet {
		if f := dockerConfigFormat("psFormat"); f != "" {
			o.format = f // the Docker CLI's config.json, as Compose
		}
	}
	return printPs(g.stdout, list, *o)
}

// keepContainers filters list in place.
func keepContainers(list []engine.ContainerSummary, keep func(engine.ContainerSummary) bool) []engine.ContainerSummary {
	out := list[:0]
	for _, c := range list {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

// printPs prints ps's output as docker compose does: IDs (-q), service
// names (--services), JSON lines, the table, or a Go template.
func printPs(w io.Writer, list []engine.ContainerSummary, o psOptions) error {
	switch {
	case o.quiet:
		for _, c := range list {
			fmt.Fprintln(w, c.ID)
		}
	case o.services:
		seen := map[string]bool{}
		for _, c := range list {
			if !seen[c.Service] {
				seen[c.Service] = true
				fmt.Fprintln(w, c.Service)
			}
		}
	case o.format == "json":
		// docker compose prints one JSON object per line
		enc := json.NewEncoder(w)
		for _, c := range list {
			if c.Publishers == nil {
				c.Publishers = []engine.Publisher{}
			}
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
	case o.format == "" || o.format == "table":
		tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS")
		for _, c := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Image, truncate(c.Command, commandWidth(o.noTrunc)), c.Service, c.RunningFor, c.Status, ports(c.Publishers))
		}
		tw.Flush()
	default:
		rows := make([]psRow, len(list))
		for i, c := range list {
			rows[i] = psRow{ContainerSummary: c, Ports: ports(c.Publishers), Names: c.Name}
		}
		return formatRows(w, o.format, rows, psHeaders)
	}
	return nil
}

// psStatusFilter reads ps --filter KEY=VAL, where docker compose knows
// only the status key.
func psStatusFilter(filter string) ([]string, error) {
	if filter == "" {
		return nil, nil
	}
	key, val, ok := strings.Cut(filter, "=")
	if !ok {
		return nil, errors.New("arguments to --filter should be in form KEY=VAL")
	}
	if key != "status" {
		return nil, fmt.Errorf("unknown filter %s", key)
	}
	return []string{val}, nil
}

// commandWidth is how much of a command the table shows.
func commandWidth(noTrunc bool) int {
	if noTrunc {
		return math.MaxInt
	}
	return 22
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…\""
}

// ports is the PORTS column, with portmap's one formatter.
func ports(ps []engine.Publisher) string { return portmap.Display(engine.Bindings(ps)) }

// psRow is what a ps --format template sees: the JSON fields, plus Ports
// as the PORTS column prints them and Names as one string (Compose's).
type psRow struct {
	engine.ContainerSummary
	Names string
	Ports string
}

// psHeaders are the column names of ps's fields in "table" templates.
var psHeaders = map[string]string{
	"ID": "CONTAINER ID", "RunningFor": "CREATED", "Publishers": "PORTS", "ExitCode": "EXIT CODE", "CreatedAt": "CREATED AT",
}
