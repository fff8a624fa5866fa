package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/engine/state"
)

func newContainerWaitCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "wait CONTAINER [CONTAINER...]",
		Short: "Block until one or more containers stop, then print their exit codes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			var errs []error
			for _, a := range args {
				rec, err := eng.ContainerByRef(a)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", a, err))
					continue
				}
				st, err := waitExit(cmd.Context(), eng.Store(), rec.ID)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", a, err))
					continue
				}
				fmt.Fprintln(g.stdout, st.ExitCode)
			}
			return errors.Join(errs...)
		},
	}
}

func newContainerPauseCmd(g *globalOptions, pause bool) *cobra.Command {
	use, short := "pause CONTAINER [CONTAINER...]", "Pause all processes within one or more containers"
	if !pause {
		use, short = "unpause CONTAINER [CONTAINER...]", "Unpause all processes within one or more containers"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(g, args, func(eng *engine.Engine, rec *state.Container) error {
				return eng.PauseContainer(cmd.Context(), rec, pause)
			})
		},
	}
}
