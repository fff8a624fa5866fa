package main

import (
	"strings"

	"github.com/spf13/cobra"
)

func newScaleCmd(g *globalOptions) *cobra.Command {
	var noDeps bool
	cmd := &cobra.Command{
		Use:   "scale [OPTIONS] SERVICE=REPLICAS...",
		Short: "Scale services",
		Long:  "Set the number of containers of services; new ones are numbered from the lowest free number, the highest numbers go first when scaling down.",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			scale, err := parseScale(args)
			if err != nil {
				return err
			}
			var services []string
			for _, a := range args {
				name, _, _ := strings.Cut(a, "=")
				services = append(services, name)
			}
			o := upOptions{detach: true, noDeps: noDeps, scale: args}
			_ = scale
			return runUp(cmd.Context(), g, o, services)
		},
	}
	cmd.Flags().BoolVar(&noDeps, "no-deps", false, "Don't start linked services")
	return cmd
}
