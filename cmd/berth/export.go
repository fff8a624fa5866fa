package main

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

// newExportCmd is Compose's `export`: a service container's filesystem as
// a tar archive, to a file (written whole or not at all) or to stdout.
func newExportCmd(g *globalOptions) *cobra.Command {
	var o engine.CopyOptions
	var output string
	cmd := &cobra.Command{
		Use:   "export [OPTIONS] SERVICE",
		Short: "Export a service container's filesystem as a tar archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if output == "" && isTerminal(os.Stdout) {
				return errors.New("cowardly refusing to write a tar archive to a terminal: use -o FILE or redirect stdout")
			}
			sel, eng, err := g.selectionAndEngine(ctx, nil)
			if err != nil {
				return err
			}
			o.Service = args[0]
			if output == "" {
				return eng.Export(ctx, sel.Project, o, os.Stdout)
			}
			f, err := os.CreateTemp(filepath.Dir(output), ".berth-export-*")
			if err != nil {
				return err
			}
			defer os.Remove(f.Name())
			if err := eng.Export(ctx, sel.Project, o, f); err != nil {
				f.Close()
				return err
			}
			if err := f.Chmod(0o644); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			return os.Rename(f.Name(), output)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Index, "index", 0, "Index of the container if the service has several replicas (default: the first)")
	f.StringVarP(&output, "output", "o", "", "Write to a file, instead of STDOUT")
	return cmd
}
