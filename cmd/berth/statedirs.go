package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/layout"
)

// stateFree are the commands that never touch berth's state: they make
// nothing, so any user may run them.
var stateFree = map[string]bool{
	"berth version": true,
	"berth config":  true,
	"berth __init":  true,
	"berth help":    true,
	"berth login":   true,
	"berth logout":  true,
	// completion reads the state, never makes it
	"berth completion":       true,
	"berth __complete":       true,
	"berth __completeNoDesc": true,
}

// ensureState runs before every command: it makes the state root and run
// dir private, or tightens them (layout.Layout.Ensure), before anything else
// can create them with a looser mode, since many commands create their
// own corner of the state first (volume create, network create, pull,
// events). A tightened dir is said once, on stderr.
func (g *globalOptions) ensureState(c *cobra.Command) error {
	if stateFree[c.CommandPath()] || c.HasSubCommands() {
		return nil // groups only print their help
	}
	notices, err := layout.FromEnv().Ensure()
	if err != nil {
		return err
	}
	for _, n := range notices {
		fmt.Fprintf(g.stderr, "berth: %s\n", n)
	}
	return nil
}
