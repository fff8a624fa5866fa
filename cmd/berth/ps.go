package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/network/portmap"
)

func newPsCmd(g *globalOptions) *cobra.Command {
	var all, quiet, services, noTrunc bool
	orphans := true
	var format, filter string
	var status []string
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS] [SERVICE...]",
		Short: "List containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			more, err := psStatusFilter(filter)
			if err != nil {
				return err
			}
			status = append(status, more...)
			sel, eng, err := g.selectionAndEngine(ctx, args)
			if err != nil {
				return err
			}
			if sel.P != nil {
				for _, s := range args {
					if _, ok := sel.P.Services[s]; !ok {
						return fmt.Errorf("no such service: %s", s)
					}
				}
			}
			list, err := eng.Ps(ctx, sel.Project, engine.PsOptions{Services: args, All: all || len(status) > 0})
			if err != nil {
				return err
			}
			if !orphans && sel.P != nil {
				keep := list[:0]
				for _, c := range list {
					if _, ok := sel.P.Services[c.Service]; ok {
						keep = append(keep, c)
					}
				}
				list = keep
			}
			if len(status) > 0 {
				keep := list[:0]
				for _, c := range list {
					if contains(status, c.State) {
						keep = append(keep, c)
					}
				}
				list = keep
			}
			if !cmd.Flags().Changed("format") {
				if f := dockerConfigFormat("psFormat"); f != "" {
					format = f // the Docker CLI's config.json, as Compose
				}
			}
			switch {
			case quiet:
				for _, c := range list {
					fmt.Fprintln(g.stdout, c.ID)
				}
			case services:
				seen := map[string]bool{}
				for _, c := range list {
					if !seen[c.Service] {
						seen[c.Service] = true
						fmt.Fprintln(g.stdout, c.Service)
					}
				}
			case format == "json":
				// docker compose prints one JSON object per line
				enc := json.NewEncoder(g.stdout)
				for _, c := range list {
					if c.Publishers == nil {
						c.Publishers = []engine.Publisher{}
					}
					if err := enc.Encode(c); err != nil {
						return err
					}
				}
			case format == "" || format == "table":
				tw := tabwriter.NewWriter(g.stdout, 0, 0, 3, ' ', 0)
				fmt.Fprintln(tw, "NAME\tIMAGE\tCOMMAND\tSERVICE\tCREATED\tSTATUS\tPORTS")
				for _, c := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.Image, truncate(c.Command, commandWidth(noTrunc)), c.Service, c.RunningFor, c.Status, ports(c.Publishers))
				}
				tw.Flush()
			default:
				rows := make([]psRow, len(list))
				for i, c := range list {
					rows[i] = psRow{ContainerSummary: c, Ports: ports(c.Publishers), Names: c.Name}
				}
				return formatRows(g.stdout, format, rows, psHeaders)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all", "a", false, "Show all stopped containers too")
	f.BoolVarP(&quiet, "quiet", "q", false, "Only display IDs")
	f.BoolVar(&services, "services", false, "Display services")
	f.StringVar(&format, "format", "table", "Format the output: table, json, or a Go template ('table {{.Name}}\t{{.Status}}'); default: psFormat of the Docker CLI's config.json, else table")
	f.StringArrayVar(&status, "status", nil, "Filter services by status: created, restarting, running, paused, exited, dead")
	f.StringVar(&filter, "filter", "", "Filter services by a property: status=STATUS")
	f.BoolVar(&orphans, "orphans", true, "Include containers of services not in the compose file")
	f.BoolVar(&noTrunc, "no-trunc", false, "Don't truncate the command")
	return cmd
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
