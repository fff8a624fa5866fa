package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newVersionCmd(g *globalOptions) *cobra.Command {
	var format string
	var short bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the berth version information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := version
			if v == "dev" {
				if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
					v = bi.Main.Version
				}
			}
			switch {
			case short:
				fmt.Fprintln(g.stdout, v)
			case format == "json":
				return json.NewEncoder(g.stdout).Encode(map[string]string{
					"version": v, "go": runtime.Version(), "os": runtime.GOOS, "arch": runtime.GOARCH,
				})
			case format == "" || format == "pretty":
				fmt.Fprintf(g.stdout, "berth version %s (%s, %s/%s)\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			default:
				return fmt.Errorf("--format %q: want pretty or json", format)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "Format the output: pretty or json")
	cmd.Flags().BoolVar(&short, "short", false, "Show only the version number")
	return cmd
}
