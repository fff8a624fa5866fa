package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/layout"
	"github.com/berth-dev/berth/internal/names"
)

func newNetworkCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage networks (ls, inspect, create, rm, prune)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(networkLsCmd(g), networkInspectCmd(g), networkCreateCmd(g), networkRmCmd(g), networkPruneCmd(g))
	return cmd
}

func networkLsCmd(g *globalOptions) *cobra.Command {
	var quiet bool
	var format string
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := engine.OpenRecords(layout.FromEnv()).NetworkRecords()
			if err != nil {
				return err
			}
			switch {
			case quiet:
				for _, n := range list {
					fmt.Fprintln(g.stdout, n.ID[:12])
				}
			case format == "json":
				enc := json.NewEncoder(g.stdout)
				for _, n := range list {
					enc.Encode(map[string]any{"ID": n.ID[:12], "Name": n.Name, "Driver": "bridge", "Scope": "local", "Internal": n.Internal, "Labels": n.Labels})
				}
			case format == "" || format == "table":
				tw := tabwriter.NewWriter(g.stdout, 0, 0, 3, ' ', 0)
				fmt.Fprintln(tw, "NETWORK ID\tNAME\tDRIVER\tSCOPE")
				for _, n := range list {
					fmt.Fprintf(tw, "%s\t%s\tbridge\tlocal\n", n.ID[:12], n.Name)
				}
				tw.Flush()
			default:
				return fmt.Errorf("--format %q: want table or json", format)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Only display network IDs")
	cmd.Flags().StringVar(&format, "format", "table", "Format the output: table or json")
	return cmd
}

func networkInspectCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NETWORK...",
		Short: "Display detailed information on networks",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store := engine.OpenRecords(layout.FromEnv())
			recs, _ := store.Containers("")
			var out []any
			var missing []string
			for _, name := range args {
				n, err := findNetwork(store, name)
				if err != nil {
					missing = append(missing, name)
					continue
				}
				containers := map[string]any{}
				for _, c := range recs {
					for _, a := range c.Networks {
						if a.Network == n.Name {
							containers[c.ID] = map[string]any{"Name": c.Name, "IPv4Address": fmt.Sprintf("%s/%d", a.IP, a.Prefix), "MacAddress": a.MAC}
						}
					}
				}
				cfg := map[string]string{"Subnet": n.Subnet, "Gateway": n.Gateway}
				if n.IPRange != "" {
					cfg["IPRange"] = n.IPRange
				}
				out = append(out, map[string]any{
					"Name": n.Name, "Id": n.ID, "Created": n.Created, "Scope": "local", "Driver": "bridge",
					"EnableIPv6": false, "Internal": n.Internal, "Attachable": true,
					"IPAM":    map[string]any{"Driver": "default", "Config": []any{cfg}},
					"Options": map[string]string{"com.docker.network.bridge.name": n.Bridge},
					"Labels":  n.Labels, "Containers": containers,
				})
			}
			if len(out) > 0 {
				data, _ := json.MarshalIndent(out, "", "    ")
				fmt.Fprintln(g.stdout, string(data))
			}
			if len(missing) > 0 {
				return fmt.Errorf("no such network: %s", strings.Join(missing, ", "))
			}
			return nil
		},
	}
}

func findNetwork(store *engine.Records, name string) (*engine.NetworkRecord, error) {
	if n, err := store.NetworkRecord(name); err == nil {
		return n, nil
	}
	list, err := store.NetworkRecords()
	if err != nil {
		return nil, err
	}
	for _, n := range list {
		if strings.HasPrefix(n.ID, name) {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no such network: %s", name)
}

func networkCreateCmd(g *globalOptions) *cobra.Command {
	var s engine.NetworkSpec
	var labels, opts []string
	var driver string
	var ipv6 bool
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] NETWORK",
		Short: "Create a network (usable as an external network)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if driver != "bridge" {
				return fmt.Errorf("--driver %q: only bridge is supported", driver)
			}
			if ipv6 {
				return fmt.Errorf("--ipv6 is not supported yet")
			}
			if err := names.ValidNetworkName(args[0]); err != nil {
				return err
			}
			s.Name = args[0]
			s.Labels = kvMap(labels)
			s.DriverOpts = kvMap(opts)
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			n, err := eng.CreateNetwork(cmd.Context(), s)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, n.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&driver, "driver", "d", "bridge", "Driver to manage the network")
	f.StringVar(&s.Subnet, "subnet", "", "Subnet in CIDR format")
	f.StringVar(&s.Gateway, "gateway", "", "IPv4 gateway for the subnet")
	f.StringVar(&s.IPRange, "ip-range", "", "Allocate container addresses from a sub-range")
	f.BoolVar(&s.Internal, "internal", false, "Restrict external access to the network")
	f.StringArrayVar(&labels, "label", nil, "Set metadata on the network")
	f.StringArrayVarP(&opts, "opt", "o", nil, "Set driver specific options")
	f.BoolVar(&ipv6, "ipv6", false, "Enable IPv6 (not supported yet)")
	return cmd
}

func kvMap(list []string) map[string]string {
	out := map[string]string{}
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

func networkRmCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NETWORK...",
		Aliases: []string{"remove"},
		Short:   "Remove networks no container uses",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			var errs []string
			for _, name := range args {
				var err error
				if name == engine.DefaultBridge {
					err = eng.RemoveNetwork(cmd.Context(), name) // refused, as Docker
				} else {
					var n *engine.NetworkRecord
					if n, err = findNetwork(engine.OpenRecords(layout.FromEnv()), name); err == nil {
						err = eng.RemoveNetwork(cmd.Context(), n.Name)
					}
				}
				if err != nil {
					errs = append(errs, err.Error())
					continue
				}
				fmt.Fprintln(g.stdout, name)
			}
			if len(errs) > 0 {
				return fmt.Errorf("%s", strings.Join(errs, "; "))
			}
			return nil
		},
	}
}

func networkPruneCmd(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove all networks no container uses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			removed, err := eng.PruneNetworks(cmd.Context())
			for _, n := range removed {
				fmt.Fprintln(g.stdout, "Deleted Network: "+n)
			}
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation (berth never prompts)")
	return cmd
}

func newPortCmd(g *globalOptions) *cobra.Command {
	var proto string
	var index int
	cmd := &cobra.Command{
		Use:   "port [OPTIONS] SERVICE PRIVATE_PORT",
		Short: "Print the public port for a port binding",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			sel, err := g.projectSelection(cmd.Context(), nil)
			if err != nil {
				return err
			}
			recs, err := engine.OpenRecords(layout.FromEnv()).Containers(sel.Project)
			if err != nil {
				return err
			}
			for _, r := range recs {
				if r.Service != args[0] || r.Number != index || r.Oneoff {
					continue
				}
				for _, p := range r.Ports {
					if fmt.Sprint(p.ContainerPort) == args[1] && string(p.Protocol) == proto {
						fmt.Fprintln(g.stdout, p.HostPortString())
						return nil
					}
				}
				return fmt.Errorf("service %q: port %s/%s is not published", args[0], args[1], proto)
			}
			return fmt.Errorf("service %q has no container number %d", args[0], index)
		},
	}
	cmd.Flags().StringVar(&proto, "protocol", "tcp", "tcp or udp")
	cmd.Flags().IntVar(&index, "index", 1, "Index of the container if the service has several replicas")
	return cmd
}
