package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

// newCommitCmd is Compose's `commit`: an image of a service container's
// changes.
func newCommitCmd(g *globalOptions) *cobra.Command {
	o := engine.CommitOptions{Pause: true}
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] SERVICE [REPOSITORY[:TAG]]",
		Short: "Create a new image from a service container's changes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sel, eng, err := g.selectionAndEngine(ctx, nil)
			if err != nil {
				return err
			}
			o.Service = args[0]
			if len(args) == 2 {
				o.Ref = args[1]
			}
			id, err := eng.Commit(ctx, sel.Project, o)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, id)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Author, "author", "a", "", `Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")`)
	f.StringArrayVarP(&o.Changes, "change", "c", nil, "Apply Dockerfile instruction to the created image")
	f.StringVarP(&o.Message, "message", "m", "", "Commit message")
	f.BoolVarP(&o.Pause, "pause", "p", true, "Pause container during commit")
	f.IntVar(&o.Index, "index", 0, "Index of the container if the service has several replicas (default: the first)")
	return cmd
}
