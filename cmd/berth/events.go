package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/layout"
)

type eventsOptions struct {
	json         bool
	since, until string
}

func newEventsCmd(g *globalOptions) *cobra.Command {
	var o eventsOptions
	cmd := &cobra.Command{
		Use:   "events [OPTIONS] [SERVICE...]",
		Short: "Receive real time events from containers",
		Long: `Stream container events (create, start, die, health_status, stop, kill,
pause, unpause, restart, destroy) for every container in the project, or of
the services named. Without --since only new events are shown; --until ends
the stream at that time. With --json, one JSON object per line:
{"time", "type", "action", "id", "service", "attributes"}.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, err := g.projectSelection(ctx, args)
			if err != nil {
				return err
			}
			if err := knownServices(sel); err != nil {
				return err
			}
			f := engine.EventFilter{Project: sel.Project, Services: args}
			now := time.Now()
			if f.Since, err = engine.ParseEventTime(o.since, now); err != nil {
				return fmt.Errorf("--since: %w", err)
			}
			if f.Until, err = engine.ParseEventTime(o.until, now); err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			return followEvents(ctx, engine.OpenEventLog(layout.FromEnv()), f, o.json, g.stdout)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.json, "json", false, "Output events as a stream of json objects")
	fl.StringVar(&o.since, "since", "", "Show all events created since timestamp (RFC 3339, Unix time, or a duration such as 10m)")
	fl.StringVar(&o.until, "until", "", "Stream events until this timestamp")
	return cmd
}

// followEvents prints events as they come until until is past or ctx
// ends (Ctrl-C, which is a normal end of the stream).
func followEvents(ctx context.Context, log *engine.EventLog, f engine.EventFilter, asJSON bool, w io.Writer) error {
	enc := json.NewEncoder(w)
	err := log.Follow(ctx, f, func(e engine.ProjectEvent) error {
		if asJSON {
			return enc.Encode(engine.ComposeEvent(e))
		}
		_, err := fmt.Fprintln(w, engine.EventText(e))
		return err
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
