package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/layout"
	"github.com/berth-dev/berth/network/portmap"
)

// eachContainer runs fn on every named container, as Docker's container
// commands: all are tried, the names that worked are printed, and the
// errors are joined.
func eachContainer(g *globalOptions, args []string, fn func(*engine.Engine, *engine.Container) error) error {
	eng, err := g.newEngine(engine.WithProgress(func(engine.Event) {}))
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range args {
		rec, err := eng.ContainerByRef(a)
		if err == nil {
			err = fn(eng, rec)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a, err))
			continue
		}
		fmt.Fprintln(g.stdout, a)
	}
	return errors.Join(errs...)
}

func newContainerStartCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "start CONTAINER [CONTAINER...]",
		Short: "Start one or more stopped containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(g, args, func(eng *engine.Engine, rec *engine.Container) error {
				return eng.StartContainer(cmd.Context(), rec)
			})
		},
	}
}

func newContainerStopCmd(g *globalOptions, restart bool) *cobra.Command {
	var secs int
	var signal string
	use, short := "stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers"
	if restart {
		use, short = "restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			timeout := time.Duration(-1)
			if cmd.Flags().Changed("timeout") || cmd.Flags().Changed("time") {
				if secs < 0 {
					timeout = 0
				} else {
					timeout = time.Duration(secs) * time.Second
				}
			}
			if signal != "" {
				return fmt.Errorf("--signal: not supported yet; the container's stop signal is used")
			}
			return eachContainer(g, args, func(eng *engine.Engine, rec *engine.Container) error {
				if err := eng.StopContainer(cmd.Context(), rec, timeout); err != nil {
					return err
				}
				if restart {
					return eng.StartContainer(cmd.Context(), rec)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.IntVarP(&secs, "timeout", "t", 0, "Seconds to wait before killing the container (default: its stop timeout, else 10)")
	f.IntVar(&secs, "time", 0, "The old spelling of --timeout")
	f.MarkHidden("time")
	f.StringVarP(&signal, "signal", "s", "", "Signal to send to the container")
	return cmd
}

func newContainerKillCmd(g *globalOptions) *cobra.Command {
	var signal string
	cmd := &cobra.Command{
		Use:   "kill [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Kill one or more running containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(g, args, func(eng *engine.Engine, rec *engine.Container) error {
				return eng.KillContainer(cmd.Context(), rec, signal)
			})
		},
	}
	cmd.Flags().StringVarP(&signal, "signal", "s", "KILL", "Signal to send to the container")
	return cmd
}

func newContainerRmCmd(g *globalOptions) *cobra.Command {
	var force, volumes bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more containers",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(g, args, func(eng *engine.Engine, rec *engine.Container) error {
				return eng.RemoveContainer(cmd.Context(), rec, force, volumes)
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force the removal of a running container (uses SIGKILL)")
	cmd.Flags().BoolVarP(&volumes, "volumes", "v", false, "Remove anonymous volumes associated with the container")
	return cmd
}

// containerLine is one line of `container ls --format json`, in
// `docker ps --format json`'s shape.
type containerLine struct {
	Command    string
	CreatedAt  string
	ID         string
	Image      string
	Labels     string
	Names      string
	Networks   string
	Ports      string
	RunningFor string
	State      string
	Status     string
}

func newContainerLsCmd(g *globalOptions) *cobra.Command {
	var all, quiet, noTrunc bool
	var format string
	var filters []string
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"ps", "list"},
		Short:   "List containers",
		Long: `List the containers of every project and the standalone ones, as 'docker ps'.
The com.docker.compose.project label names a container's project; standalone
containers carry dev.berth.standalone=true.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			keep, err := psFilters(filters)
			if err != nil {
				return err
			}
			list, err := eng.ListContainers(cmd.Context(), all || keep.status)
			if err != nil {
				return err
			}
			list = slices.DeleteFunc(list, func(c engine.ContainerSummary) bool { return !keep.match(c) })
			sort.Slice(list, func(i, j int) bool {
				if list[i].Created != list[j].Created {
					return list[i].Created > list[j].Created
				}
				return list[i].Name < list[j].Name
			})
			return printContainers(g.stdout, eng, list, quiet, noTrunc, format)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&all, "all", "a", false, "Show all containers (default shows just running)")
	f.BoolVarP(&quiet, "quiet", "q", false, "Only display container IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "Don't truncate output")
	f.StringVar(&format, "format", "table", "Format output: table, json, or a Go template ('{{.Names}} {{.Status}}')")
	f.StringArrayVarP(&filters, "filter", "f", nil, "Filter output: name=, id=, label=KEY[=VALUE], status=")
	return cmd
}

// containerFilter is `container ls --filter`: each key's values are ORed,
// the keys ANDed, as Docker.
type containerFilter struct {
	by     map[string][]string
	status bool // a status filter lists stopped containers too
}

func psFilters(fs []string) (containerFilter, error) {
	cf := containerFilter{by: map[string][]string{}}
	for _, f := range fs {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case !ok:
			return cf, fmt.Errorf("--filter %q: want KEY=VALUE", f)
		case k == "status":
			switch v {
			case "created", "restarting", "running", "removing", "paused", "exited", "dead":
			default:
				return cf, fmt.Errorf("--filter %q: invalid status", f)
			}
			cf.status = true
		case k == "name" || k == "id" || k == "label":
		default:
			return cf, fmt.Errorf("--filter %q: berth filters by name, id, label and status", f)
		}
		cf.by[k] = append(cf.by[k], v)
	}
	return cf, nil
}

func (cf containerFilter) match(c engine.ContainerSummary) bool {
	for k, vs := range cf.by {
		if !slices.ContainsFunc(vs, func(v string) bool {
			switch k {
			case "name":
				return strings.Contains(c.Name, v)
			case "id":
				return strings.HasPrefix(c.ID, v)
			case "status":
				return c.State == v
			default: // label
				lk, lv, hasV := strings.Cut(v, "=")
				got, ok := c.Labels[lk]
				return ok && (!hasV || got == lv)
			}
		}) {
			return false
		}
	}
	return true
}

func printContainers(w io.Writer, eng *engine.Engine, list []engine.ContainerSummary, quiet, noTrunc bool, format string) error {
	id := func(s string) string {
		if noTrunc {
			return s
		}
		return engine.ShortID(s)
	}
	if quiet {
		for _, c := range list {
			fmt.Fprintln(w, id(c.ID))
		}
		return nil
	}
	var tmpl *template.Template
	switch format {
	case "table", "", "json", "{{json .}}":
	default:
		var err error
		if tmpl, err = template.New("format").Funcs(template.FuncMap{
			"json": func(v any) (string, error) { b, err := json.Marshal(v); return string(b), err },
		}).Parse(format); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
	}
	switch {
	case tmpl != nil || format == "json" || format == "{{json .}}":
		enc := json.NewEncoder(w)
		for _, c := range list {
			var labels []string
			for k, v := range c.Labels {
				labels = append(labels, k+"="+v)
			}
			sort.Strings(labels)
			var nets []string
			if rec, err := eng.Container(c.ID); err == nil {
				for _, a := range rec.Networks {
					nets = append(nets, a.Network)
				}
			}
			line := containerLine{
				Command: c.Command, CreatedAt: time.Unix(c.Created, 0).Format("2006-01-02 15:04:05 -0700 MST"),
				ID: id(c.ID), Image: c.Image, Labels: strings.Join(labels, ","), Names: c.Name,
				Networks: strings.Join(nets, ","), Ports: ports(c.Publishers), RunningFor: c.RunningFor,
				State: c.State, Status: c.Status,
			}
			if tmpl != nil {
				if err := tmpl.Execute(w, line); err != nil {
					return fmt.Errorf("--format: %w", err)
				}
				fmt.Fprintln(w)
				continue
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
	for _, c := range list {
		// quoted already; as Docker, cut to 20 within the quotes
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", id(c.ID), c.Image, truncate(c.Command, commandWidth(noTrunc)), c.RunningFor, c.Status, ports(c.Publishers), c.Name)
	}
	return tw.Flush()
}

func newContainerLogsCmd(g *globalOptions) *cobra.Command {
	var follow, timestamps bool
	var tail, since, until string
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			o := engine.LogsOptions{Follow: follow, Tail: -1}
			if tail != "" && tail != "all" {
				n, err := strconv.Atoi(tail)
				if err != nil || n < 0 {
					return fmt.Errorf("--tail %q: want a number of lines or \"all\"", tail)
				}
				o.Tail = n
			}
			var err error
			if o.Since, err = parseTimeFlag("since", since); err != nil {
				return err
			}
			if o.Until, err = parseTimeFlag("until", until); err != nil {
				return err
			}
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			rec, err := eng.ContainerByRef(args[0])
			if err != nil {
				return err
			}
			err = eng.ContainerLogs(ctx, rec, o, func(l engine.LogLine) {
				w := g.stdout
				if l.Stream == "stderr" {
					w = g.stderr
				}
				if timestamps {
					fmt.Fprint(w, l.Time.Format(time.RFC3339Nano)+" ")
				}
				fmt.Fprint(w, l.Log)
				if !strings.HasSuffix(l.Log, "\n") {
					fmt.Fprintln(w)
				}
			})
			if ctx.Err() != nil {
				return nil // Ctrl-C ends -f
			}
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "Follow log output")
	f.BoolVarP(&timestamps, "timestamps", "t", false, "Show timestamps")
	f.StringVarP(&tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	f.StringVar(&since, "since", "", "Show logs since a timestamp (2013-01-02T13:23:37Z) or relative (42m)")
	f.StringVar(&until, "until", "", "Show logs before a timestamp (2013-01-02T13:23:37Z) or relative (42m)")
	return cmd
}

func newContainerExecCmd(g *globalOptions) *cobra.Command {
	var o engine.ExecOptions
	var interactive, tty bool
	cmd := &cobra.Command{
		Use:   "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
		Short: "Execute a command in a running container",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			rec, err := eng.ContainerByRef(args[0])
			if err != nil {
				return err
			}
			o.Command = args[1:]
			o.Env = resolveEnvFlags(o.Env, projectLookup(nil))
			in, out, errw := stdFiles(g)
			o.Stdin, o.Stdout, o.Stderr = in, out, errw
			o.Interactive, o.Tty = interactive, tty
			code, err := eng.ExecContainer(cmd.Context(), rec, o)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitCodeError{code: code}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.BoolVarP(&o.Detach, "detach", "d", false, "Detached mode: run command in the background")
	f.StringArrayVarP(&o.Env, "env", "e", nil, "Set environment variables")
	f.StringVarP(&o.Workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&o.User, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	f.BoolVar(&o.Privileged, "privileged", false, "Give extended privileges to the command")
	f.BoolVarP(&interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&tty, "tty", "t", false, "Allocate a pseudo-TTY")
	return cmd
}

func newContainerInspectCmd(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Display detailed information on one or more containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store := engine.OpenRecords(layout.FromEnv())
			recs, err := resolveContainers(store, "", args)
			if err != nil {
				return err
			}
			out := make([]containerJSON, 0, len(recs))
			for _, r := range recs {
				c, err := inspectContainer(store, r)
				if err != nil {
					return err
				}
				out = append(out, c)
			}
			return printInspect(g.stdout, out, format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format output using a Go template")
	return cmd
}

func newContainerPortCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List port mappings or a specific mapping for the container",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			eng, err := g.newEngine()
			if err != nil {
				return err
			}
			rec, err := eng.ContainerByRef(args[0])
			if err != nil {
				return err
			}
			var want uint16
			proto := "tcp"
			if len(args) == 2 {
				p, pr, ok := strings.Cut(args[1], "/")
				n, err := strconv.ParseUint(p, 10, 16)
				if err != nil || n == 0 {
					return fmt.Errorf("invalid port %q", args[1])
				}
				want = uint16(n)
				if ok {
					proto = pr
				}
			}
			bs := append([]portmap.Binding(nil), rec.Ports...)
			portmap.Sort(bs)
			found := false
			for _, b := range bs {
				if !b.Published() || (want != 0 && (b.ContainerPort != want || string(b.Protocol) != proto)) {
					continue
				}
				found = true
				host := b.HostAddr()
				if want != 0 {
					fmt.Fprintf(g.stdout, "%s:%d\n", host, b.HostPort)
				} else {
					fmt.Fprintf(g.stdout, "%d/%s -> %s:%d\n", b.ContainerPort, b.Protocol, host, b.HostPort)
				}
			}
			if want != 0 && !found {
				return fmt.Errorf("no public port '%s' published for %s", args[1], rec.Name)
			}
			return nil
		},
	}
}

func newContainerPruneCmd(g *globalOptions) *cobra.Command {
	var force bool
	var filters []string
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove all stopped containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			labels := map[string]*string{}
			for _, f := range filters {
				k, v, ok := strings.Cut(f, "=")
				if !ok || k != "label" {
					return fmt.Errorf("--filter %q: only label=KEY or label=KEY=VALUE is supported", f)
				}
				lk, lv, hasV := strings.Cut(v, "=")
				if hasV {
					labels[lk] = &lv
				} else {
					labels[lk] = nil
				}
			}
			if !force {
				fmt.Fprint(g.stdout, "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ")
				line, _ := bufio.NewReader(g.stdin).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
					return nil
				}
			}
			eng, err := g.newEngine(engine.WithProgress(func(engine.Event) {}))
			if err != nil {
				return err
			}
			recs, err := eng.Containers("")
			if err != nil {
				return err
			}
			var deleted []string
			var errs []error
			for _, r := range recs {
				if !hasLabels(r.Labels, labels) {
					continue
				}
				st, err := eng.ContainerState(r.ID)
				if err != nil || (st.Status != engine.StatusExited && st.Status != engine.StatusCreated && st.Status != engine.StatusDead) {
					continue
				}
				if err := eng.RemoveContainer(cmd.Context(), r, false, false); err != nil {
					errs = append(errs, err)
					continue
				}
				deleted = append(deleted, r.ID)
			}
			if len(deleted) > 0 {
				fmt.Fprintln(g.stdout, "Deleted Containers:")
				for _, id := range deleted {
					fmt.Fprintln(g.stdout, id)
				}
				fmt.Fprintln(g.stdout)
			}
			fmt.Fprintln(g.stdout, "Total reclaimed space: 0B")
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Do not prompt for confirmation")
	cmd.Flags().StringArrayVar(&filters, "filter", nil, "Provide filter values (label=KEY[=VALUE])")
	return cmd
}

// hasLabels reports whether labels has every key of want (with its value
// where one is given).
func hasLabels(labels map[string]string, want map[string]*string) bool {
	for k, v := range want {
		got, ok := labels[k]
		if !ok || (v != nil && got != *v) {
			return false
		}
	}
	return true
}
