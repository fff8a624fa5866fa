package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Commands of the Compose set that berth does not do yet. Each exists, is
// documented, and fails with exit code 1: never a silent success.
// A command moves out of this file into its own when it is implemented.

// stub is a documented command that is not implemented yet: it exits 1
// with a message saying so.
func stub(use, short string) *cobra.Command {
	name := use
	for i, r := range use {
		if r == ' ' {
			name = use[:i]
			break
		}
	}
	return &cobra.Command{
		Use:                use,
		Short:              short + " (not implemented yet)",
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
		Args:               cobra.ArbitraryArgs,
		RunE: func(*cobra.Command, []string) error {
			return fmt.Errorf("'berth %s' is not implemented yet", name)
		},
	}
}
