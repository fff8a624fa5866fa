package main

import (
	"context"
	"fmt"
	"log"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/state"
	"github.com/berth-dev/berth/engine/supervisor"
)

// newSuperviseCmd is the hidden subcommand the CLI re-executes as a
// project's supervisor.
func newSuperviseCmd(g *globalOptions) *cobra.Command {
	var project string
	cmd := &cobra.Command{
		Use:    "__supervise",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The supervisor lives as long as the project runs: keep its
			// heap small (its work is bookkeeping, not throughput).
			debug.SetGCPercent(20)
			debug.SetMemoryLimit(6 << 20)
			logger := log.New(g.stderr, "supervisor["+project+"] ", log.LstdFlags|log.Lmicroseconds)
			run := state.RunDir()
			return supervisor.Run(context.Background(), supervisor.Config{
				Project: project,
				Root:    state.Root(),
				RunDir:  run,
				RuntimeFor: func(ctx context.Context, name string) (runtime.Runtime, error) {
					return runtime.Detect(ctx, name, run)
				},
				Logf: logger.Printf,
			})
		},
	}
	cmd.Flags().StringVar(&project, "project", "", "project to supervise")
	cmd.MarkFlagRequired("project")
	return cmd
}

// newInitCmd documents the minimal init for `init: true` (main runs it
// before cobra, so that it owns every signal).
func newInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "__init -- COMMAND [ARGS...]",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return fmt.Errorf("__init is run by main")
		},
	}
}
