package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/layout"
)

// newSuperviseCmd is the hidden subcommand the CLI re-executes for a
// project: without --serve it is the project's keeper, which starts (and
// restarts, if it is killed) the supervisor proper, `__supervise --serve`.
func newSuperviseCmd(g *globalOptions) *cobra.Command {
	var project string
	var serve bool
	cmd := &cobra.Command{
		Use:    "__supervise",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Both live as long as the project runs: keep their heaps small
			// (their work is bookkeeping, not throughput).
			debug.SetGCPercent(20)
			debug.SetMemoryLimit(6 << 20)
			l := layout.FromEnv()
			if !serve {
				logger := log.New(g.stderr, "keeper["+project+"] ", log.LstdFlags|log.Lmicroseconds)
				serve := func() *exec.Cmd {
					self, err := os.Executable()
					if err != nil {
						self = "/proc/self/exe"
					}
					return exec.Command(self, "__supervise", "--project", project, "--serve")
				}
				return engine.Keep(context.Background(), l, project, serve, logger.Printf)
			}
			logger := log.New(g.stderr, "supervisor["+project+"] ", log.LstdFlags|log.Lmicroseconds)
			// --rm removal runs in a process of its own (network
			// teardown is the CLI's work); the keeper reaps it
			autoRemove := func(id string) {
				self, err := os.Executable()
				if err != nil {
					self = "/proc/self/exe"
				}
				rm := exec.Command(self, "__autoremove", id)
				rm.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
				if err := rm.Start(); err != nil {
					logger.Printf("container %s: --rm: %v", id, err)
					return
				}
				if err := rm.Wait(); err != nil {
					logger.Printf("container %s: --rm: %v", id, err)
				}
			}
			return engine.Supervise(context.Background(), l, project, autoRemove, logger.Printf)
		},
	}
	cmd.Flags().StringVar(&project, "project", "", "project to supervise")
	cmd.Flags().BoolVar(&serve, "serve", false, "run the supervisor itself (started by the keeper)")
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

// newAutoRemoveCmd is what a supervisor runs for a container of `run --rm`
// that exited for good: it removes it (and a standalone one's network).
func newAutoRemoveCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:    "__autoremove ID",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := g.newEngine(engine.WithProgress(func(engine.Event) {}))
			if err != nil {
				return err
			}
			return eng.AutoRemove(cmd.Context(), args[0])
		},
	}
}
