package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

func newLogsCmd(g *globalOptions) *cobra.Command {
	var follow, timestamps, noPrefix bool
	var tail, since, until string
	var index int
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] [SERVICE...]",
		Short: "View output from containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, args)
			if err != nil {
				return err
			}
			sel.All = true
			o := engine.LogsOptions{Follow: follow, Tail: -1, Index: index}
			if tail != "" && tail != "all" {
				n, err := strconv.Atoi(tail)
				if err != nil || n < 0 {
					return fmt.Errorf("--tail %q: want a number of lines or \"all\"", tail)
				}
				o.Tail = n
			}
			if o.Since, err = parseTimeFlag("since", since); err != nil {
				return err
			}
			if o.Until, err = parseTimeFlag("until", until); err != nil {
				return err
			}
			recs, err := eng.Containers(sel.Project)
			if err != nil {
				return err
			}
			pr := newLogPrinter(g, recs, timestamps, noPrefix)
			err = eng.Logs(ctx, sel, o, pr.line)
			if ctx.Err() != nil {
				return nil // Ctrl-C ends -f
			}
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "Follow log output")
	f.BoolVarP(&timestamps, "timestamps", "t", false, "Show timestamps")
	f.BoolVar(&noPrefix, "no-log-prefix", false, "Don't print a prefix in logs")
	f.BoolVar(&g.noColor, "no-color", false, "Produce monochrome output")
	f.StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs for each container")
	f.StringVar(&since, "since", "", "Show logs since a timestamp (2013-01-02T13:23:37Z) or relative (42m)")
	f.StringVar(&until, "until", "", "Show logs before a timestamp (2013-01-02T13:23:37Z) or relative (42m)")
	f.IntVar(&index, "index", 0, "Index of the container if the service has several replicas (one SERVICE only)")
	return cmd
}

// parseTimeFlag reads Docker's --since/--until: RFC 3339, a date, a Unix
// time, or a duration ago ("42m").
func parseTimeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Unix(0, int64(secs*float64(time.Second))), nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: want a timestamp (2013-01-02T13:23:37Z) or a duration (42m)", name, v)
}
