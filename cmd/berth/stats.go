package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

func newStatsCmd(g *globalOptions) *cobra.Command {
	var all, noStream, noTrunc bool
	var format string
	cmd := &cobra.Command{
		Use:   "stats [OPTIONS] [SERVICE...]",
		Short: "Display a live stream of container resource usage",
		Long: `Display the CPU, memory, network, block I/O and process counts of the
project's containers, read from their cgroups. On a terminal the table
refreshes every second until Ctrl-C; --no-stream prints it once.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, args)
			if err != nil {
				return err
			}
			if err := knownServices(sel); err != nil {
				return err
			}
			pr, err := newStatsPrinter(g.stdout, format, noTrunc)
			if err != nil {
				return err
			}
			o := engine.StatsOptions{Services: args, All: all}
			if noStream {
				rows, err := eng.Stats(ctx, sel.Project, o)
				if err != nil {
					return err
				}
				return pr.print(rows)
			}
			f, ok := g.stdout.(*os.File)
			pr.clear = ok && isTerminal(f) && pr.tmpl == nil && !pr.json
			return eng.StatsStream(ctx, sel.Project, o, pr.print)
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&all, "all", "a", false, "Show all containers (default shows just running)")
	fl.BoolVar(&noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
	fl.BoolVar(&noTrunc, "no-trunc", false, "Do not truncate output")
	fl.StringVar(&format, "format", "table", "Format output: table, json, or a Go template")
	return cmd
}

// dockerStats is a row in `docker stats --format json`'s shape.
type dockerStats struct {
	BlockIO   string
	CPUPerc   string
	Container string
	ID        string
	MemPerc   string
	MemUsage  string
	Name      string
	NetIO     string
	PIDs      string
}

func toDockerStats(s engine.ContainerStats, noTrunc bool) dockerStats {
	id := s.ID
	if !noTrunc && len(id) > 12 {
		id = id[:12]
	}
	return dockerStats{
		BlockIO:   decimalSize(s.BlockRead) + " / " + decimalSize(s.BlockWrite),
		CPUPerc:   fmt.Sprintf("%.2f%%", s.CPUPercent),
		Container: id,
		ID:        id,
		MemPerc:   fmt.Sprintf("%.2f%%", s.MemPercent),
		MemUsage:  binarySize(s.MemUsage) + " / " + binarySize(s.MemLimit),
		Name:      s.Name,
		NetIO:     decimalSize(s.NetRx) + " / " + decimalSize(s.NetTx),
		PIDs:      strconv.FormatUint(s.Pids, 10),
	}
}

type statsPrinter struct {
	w       io.Writer
	json    bool
	tmpl    *template.Template
	noTrunc bool
	clear   bool // redraw in place (a terminal)
}

func newStatsPrinter(w io.Writer, format string, noTrunc bool) (*statsPrinter, error) {
	p := &statsPrinter{w: w, noTrunc: noTrunc}
	switch format {
	case "", "table":
	case "json":
		p.json = true
	default:
		t, err := template.New("format").Funcs(templateFuncs).Parse(format)
		if err != nil {
			return nil, fmt.Errorf("--format: %w", err)
		}
		p.tmpl = t
	}
	return p, nil
}

func (p *statsPrinter) print(rows []engine.ContainerStats) error {
	var b bytes.Buffer
	switch {
	case p.json:
		enc := json.NewEncoder(&b)
		for _, r := range rows {
			if err := enc.Encode(toDockerStats(r, p.noTrunc)); err != nil {
				return err
			}
		}
	case p.tmpl != nil:
		for _, r := range rows {
			if err := p.tmpl.Execute(&b, toDockerStats(r, p.noTrunc)); err != nil {
				return err
			}
			b.WriteByte('\n')
		}
	default:
		if p.clear {
			b.WriteString("\x1b[2J\x1b[H")
		}
		tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
		fmt.Fprintln(tw, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS")
		for _, r := range rows {
			d := toDockerStats(r, p.noTrunc)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Name, d.CPUPerc, d.MemUsage, d.MemPerc, d.NetIO, d.BlockIO, d.PIDs)
		}
		tw.Flush()
	}
	_, err := p.w.Write(b.Bytes())
	return err
}

// binarySize prints bytes as Docker's memory columns do ("1.465MiB").
func binarySize(n uint64) string { return units.BytesSize(float64(n)) }

// decimalSize prints bytes as Docker's I/O columns do ("1.2kB").
func decimalSize(n uint64) string { return units.HumanSizeWithPrecision(float64(n), 3) }

// templateFuncs are the functions docker's --format templates offer.
var templateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"join":  strings.Join,
	"split": strings.Split,
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"title": func(s string) string {
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"println": fmt.Sprintln,
	"truncate": func(s string, n int) string {
		if len(s) <= n {
			return s
		}
		return s[:n]
	},
}
