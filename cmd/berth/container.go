package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/format"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
)

// `berth container …` is Docker's container group: standalone containers
// made from flags (engine.RunStandalone), and per-container commands that
// take any container by name or ID, compose ones included. `berth run`
// stays Compose's `run SERVICE`.

func newContainerCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "container",
		Short: "Manage containers (Docker's container commands)",
		Long: `Docker's container commands. 'container run IMAGE' and 'container create IMAGE'
make a standalone container from flags; the other commands take any container
by name or ID prefix, a compose project's containers included.`,
	}
	cmd.AddCommand(
		newContainerRunCmd(g, false),
		newContainerRunCmd(g, true),
		newContainerLsCmd(g),
		newContainerStartCmd(g),
		newContainerStopCmd(g, false),
		newContainerStopCmd(g, true),
		newContainerKillCmd(g),
		newContainerRmCmd(g),
		newContainerLogsCmd(g),
		newContainerExecCmd(g),
		newContainerInspectCmd(g),
		newContainerPortCmd(g),
		newContainerPruneCmd(g),
		newContainerWaitCmd(g),
		newContainerPauseCmd(g, true),
		newContainerPauseCmd(g, false),
		newContainerCpCmd(g),
		newContainerTopCmd(g),
		newContainerStatsCmd(g),
		newContainerAttachCmd(g),
		newContainerRenameCmd(g),
	)
	return cmd
}

// runFlags are docker run's flags that berth takes.
type runFlags struct {
	detach, rm, init, readOnly, privileged, interactive, tty, publishAll bool
	name, workdir, user, entrypoint, restart, network, hostname, pull    string
	ipc                                                                  string
	stopSignal                                                           string
	stopTimeout                                                          int
	publish, env, envFiles, volumes, labels, capAdd, capDrop             []string
	labelFiles                                                           []string
	platform                                                             string
	ip                                                                   string
	networkAliases                                                       []string
	cidfile                                                              string
	gpus                                                                 string
	entrypointSet, stopTimeoutSet                                        bool
	more                                                                 moreRunFlags
}

func newContainerRunCmd(g *globalOptions, create bool) *cobra.Command {
	var o runFlags
	use, short := "run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image"
	if create {
		use, short = "create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.entrypointSet = cmd.Flags().Changed("entrypoint")
			o.stopTimeoutSet = cmd.Flags().Changed("stop-timeout")
			o.more.set = cmd.Flags().Changed
			return runContainer(cmd, g, o, args, create)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // IMAGE's command keeps its own flags
	if !create {
		f.BoolVarP(&o.detach, "detach", "d", false, "Run container in background and print container ID")
	}
	f.BoolVar(&o.rm, "rm", false, "Automatically remove the container and its anonymous volumes when it exits")
	f.StringVar(&o.name, "name", "", "Assign a name to the container")
	f.StringArrayVarP(&o.publish, "publish", "p", nil, "Publish a container's port(s) to the host ([IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/PROTO])")
	f.StringArrayVarP(&o.env, "env", "e", nil, "Set environment variables (KEY=VALUE, or KEY to take the caller's)")
	f.StringArrayVar(&o.envFiles, "env-file", nil, "Read in a file of environment variables")
	f.StringArrayVarP(&o.volumes, "volume", "v", nil, "Bind mount a volume (SOURCE:TARGET[:ro]; SOURCE a host path or a volume name)")
	f.StringVarP(&o.workdir, "workdir", "w", "", "Working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	f.StringVar(&o.entrypoint, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	f.StringVar(&o.restart, "restart", "no", "Restart policy: no, always, unless-stopped, on-failure[:max-retries]")
	f.StringVar(&o.network, "network", "", "Connect a container to a network: bridge (the default, no name resolution), none, host, container:NAME or a berth network")
	f.StringArrayVar(&o.networkAliases, "network-alias", nil, "Add network-scoped alias for the container (on a berth network)")
	f.StringVar(&o.network, "net", "", "Connect a container to a network")
	f.StringVar(&o.ipc, "ipc", "", "IPC mode to use: private (the default), shareable, host or container:NAME")
	f.MarkHidden("net")
	f.StringVar(&o.ip, "ip", "", "IPv4 address (e.g., 172.30.100.104), on the network --network names")
	f.StringVarP(&o.hostname, "hostname", "h", "", "Container host name")
	f.BoolVar(&o.init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	f.StringArrayVarP(&o.labels, "label", "l", nil, "Set meta data on a container (KEY=VALUE)")
	f.StringArrayVar(&o.labelFiles, "label-file", nil, "Read in a line delimited file of labels")
	f.StringVar(&o.cidfile, "cidfile", "", "Write the container ID to the file")
	f.BoolVar(&o.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	f.StringArrayVar(&o.capAdd, "cap-add", nil, "Add Linux capabilities")
	f.StringArrayVar(&o.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	f.BoolVar(&o.privileged, "privileged", false, "Give extended privileges to this container")
	f.BoolVarP(&o.publishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
	f.BoolVarP(&o.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	f.BoolVarP(&o.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	f.StringVar(&o.gpus, "gpus", "", `GPU devices to add to the container ("all", a count, or "device=0,1")`)
	f.StringVar(&o.platform, "platform", "", "Set platform if server is multi-platform capable (os/arch[/variant])")
	f.StringVar(&o.pull, "pull", "missing", `Pull image before running ("always", "missing", "never")`)
	f.StringVar(&o.stopSignal, "stop-signal", "", "Signal to stop the container")
	f.IntVar(&o.stopTimeout, "stop-timeout", 0, "Timeout (in seconds) to stop a container")
	o.more.register(f)
	f.Bool("help", false, "Print usage") // -h is --hostname, as Docker
	return cmd
}

func runContainer(cmd *cobra.Command, g *globalOptions, o runFlags, args []string, create bool) error {
	ctx := cmd.Context()
	if h, _ := cmd.Flags().GetBool("help"); h {
		return cmd.Help()
	}
	svc, so, err := o.service(args)
	if err != nil {
		return err
	}
	switch o.pull {
	case "always", "missing", "never":
	default:
		return fmt.Errorf("--pull %q: want always, missing or never", o.pull)
	}
	so.Service = svc
	so.Name = o.name
	so.Pull = o.pull
	so.Create = create
	so.PublishAll = o.publishAll
	so.Foreground = !create && !o.detach
	if so.Foreground {
		in, out, errw := stdFiles(g)
		so.Run = engine.RunOptions{Tty: o.tty, Interactive: o.interactive, Stdin: in, Stdout: out, Stderr: errw}
		so.Output = func(l engine.LogLine) {
			w := g.stdout
			if l.Stream == "stderr" {
				w = g.stderr
			}
			fmt.Fprint(w, l.Log)
			if !strings.HasSuffix(l.Log, "\n") {
				fmt.Fprintln(w)
			}
		}
	}
	so.Remove = o.rm
	if o.cidfile != "" {
		if _, err := os.Stat(o.cidfile); err == nil {
			return fmt.Errorf("--cidfile %s: the file exists: remove it first", o.cidfile)
		}
		so.Created = func(id string) error {
			return os.WriteFile(o.cidfile, []byte(id), 0o644)
		}
	}
	eng, err := g.newEngine(engine.WithProgress(func(engine.Event) {}))
	if err != nil {
		return err
	}
	rec, code, err := eng.RunStandalone(ctx, &so)
	if err != nil {
		return err
	}
	if !so.Foreground && rec != nil {
		fmt.Fprintln(g.stdout, rec.ID)
	}
	if code != 0 {
		return &exitCodeError{code: code}
	}
	return nil
}

// service turns the flags and IMAGE [COMMAND…] into the standalone
// container's service; a bad value is an error naming its flag. The
// steps run in the order docker run reports errors: ports, environment,
// mounts, restart policy, network, labels, then the resource flags.
func (o runFlags) service(args []string) (types.ServiceConfig, engine.StandaloneOptions, error) {
	var so engine.StandaloneOptions
	svc := types.ServiceConfig{Restart: "no"}
	svc.Image = args[0]
	if len(args) > 1 {
		svc.Command = types.ShellCommand(args[1:])
	}
	if o.entrypointSet {
		svc.Entrypoint = types.ShellCommand{}
		if o.entrypoint != "" {
			svc.Entrypoint = types.ShellCommand{o.entrypoint}
		}
	}
	wd, _ := os.Getwd()
	steps := []func(*types.ServiceConfig, *engine.StandaloneOptions) error{
		o.ports,
		o.environment,
		func(svc *types.ServiceConfig, so *engine.StandaloneOptions) error { return o.mounts(svc, so, wd) },
		o.restartPolicy,
		o.networking,
		o.labelSet,
		o.process,
		func(svc *types.ServiceConfig, _ *engine.StandaloneOptions) error { return o.more.apply(svc) },
	}
	for _, step := range steps {
		if err := step(&svc, &so); err != nil {
			return svc, so, err
		}
	}
	return svc, so, nil
}

// ports reads -p, --publish.
func (o runFlags) ports(svc *types.ServiceConfig, _ *engine.StandaloneOptions) error {
	for _, spec := range o.publish {
		pcs, err := types.ParsePortConfig(spec)
		if err != nil {
			return fmt.Errorf("invalid argument %q for \"-p, --publish\" flag: %w", spec, err)
		}
		svc.Ports = append(svc.Ports, pcs...)
	}
	return nil
}

// environment reads --env-file then -e, --env (which wins); a bare -e KEY
// takes the caller's value and is left out when the caller has none.
func (o runFlags) environment(svc *types.ServiceConfig, _ *engine.StandaloneOptions) error {
	env := types.MappingWithEquals{}
	for _, file := range o.envFiles {
		kvs, err := readEnvFile(file)
		if err != nil {
			return fmt.Errorf("--env-file %s: %w", file, err)
		}
		for _, kv := range kvs {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = &v
		}
	}
	for _, kv := range resolveEnvFlags(o.env, os.LookupEnv) {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return fmt.Errorf("invalid argument %q for \"-e, --env\" flag: no variable name", kv)
		}
		if ok {
			env[k] = &v
		}
	}
	if len(env) > 0 {
		svc.Environment = env
	}
	return nil
}

// mounts reads -v, --volume then --mount; a relative bind source is
// taken from wd, and the named volumes used go to so.Volumes.
func (o runFlags) mounts(svc *types.ServiceConfig, so *engine.StandaloneOptions, wd string) error {
	for _, v := range o.volumes {
		vc, err := format.ParseVolume(v)
		if err != nil || vc.Target == "" {
			if err == nil {
				err = fmt.Errorf("no container path")
			}
			return fmt.Errorf("invalid argument %q for \"-v, --volume\" flag: %w", v, err)
		}
		switch vc.Type {
		case types.VolumeTypeBind:
			if !filepath.IsAbs(vc.Source) {
				vc.Source = filepath.Join(wd, vc.Source)
			}
		case types.VolumeTypeVolume:
			if vc.Source != "" {
				so.Volumes = append(so.Volumes, vc.Source)
			}
		}
		svc.Volumes = append(svc.Volumes, vc)
	}
	for _, m := range o.more.mounts {
		vc, err := parseMount(m, wd)
		if err != nil {
			return fmt.Errorf("invalid argument %q for \"--mount\" flag: %w", m, err)
		}
		if vc.Type == types.VolumeTypeVolume && vc.Source != "" {
			so.Volumes = append(so.Volumes, vc.Source)
		}
		svc.Volumes = append(svc.Volumes, vc)
	}
	return nil
}

// restartPolicy reads --restart, which --rm allows only as "no".
func (o runFlags) restartPolicy(svc *types.ServiceConfig, _ *engine.StandaloneOptions) error {
	if err := validRestart(o.restart); err != nil {
		return err
	}
	svc.Restart = o.restart
	if o.rm && o.restart != "no" {
		return fmt.Errorf("conflicting options: --restart %s and --rm", o.restart)
	}
	return nil
}

// networking reads --network, --network-alias, --ip and --hostname:
// bridge (or none given) is the default network, none/host/container:NAME
// a network mode, anything else a berth network, the only kind --ip may
// name an address on.
func (o runFlags) networking(svc *types.ServiceConfig, so *engine.StandaloneOptions) error {
	so.Aliases = o.networkAliases
	switch n := o.network; {
	case n == "" || n == "bridge" || n == "default":
	case n == "none" || n == "host" || strings.HasPrefix(n, "container:"):
		svc.NetworkMode = n
	default:
		so.Networks = []string{n}
	}
	if o.ip != "" {
		if ip := net.ParseIP(o.ip); ip == nil || ip.To4() == nil {
			return fmt.Errorf("invalid argument %q for \"--ip\" flag: not an IPv4 address", o.ip)
		}
		if len(so.Networks) == 0 {
			return fmt.Errorf("--ip needs --network NAME (a berth network): the default network takes no fixed address")
		}
		so.IP = o.ip
	}
	svc.Hostname = o.hostname
	return nil
}

// labelSet reads --label-file then -l, --label (which wins).
func (o runFlags) labelSet(svc *types.ServiceConfig, _ *engine.StandaloneOptions) error {
	labels := o.labels
	for _, file := range o.labelFiles {
		kvs, err := readLabelFile(file)
		if err != nil {
			return fmt.Errorf("--label-file %s: %w", file, err)
		}
		labels = append(kvs, labels...) // -l wins
	}
	for _, l := range labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return fmt.Errorf("invalid argument %q for \"-l, --label\" flag: no key", l)
		}
		if svc.Labels == nil {
			svc.Labels = types.Labels{}
		}
		svc.Labels[k] = v
	}
	return nil
}

// process sets what the container's process gets: working directory,
// user, init, privileges, terminal, stop signal and grace period,
// platform and GPUs.
func (o runFlags) process(svc *types.ServiceConfig, _ *engine.StandaloneOptions) error {
	svc.WorkingDir = o.workdir
	svc.User = o.user
	svc.Ipc = o.ipc
	if o.init {
		t := true
		svc.Init = &t
	}
	svc.ReadOnly = o.readOnly
	svc.CapAdd = o.capAdd
	svc.CapDrop = o.capDrop
	svc.Privileged = o.privileged
	svc.Tty = o.tty
	svc.StdinOpen = o.interactive
	svc.StopSignal = o.stopSignal
	if o.stopTimeoutSet {
		d := types.Duration(int64(o.stopTimeout) * 1e9)
		svc.StopGracePeriod = &d
	}
	if o.platform != "" {
		if parts := strings.Split(o.platform, "/"); len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return fmt.Errorf("invalid argument %q for \"--platform\" flag: want os/arch[/variant]", o.platform)
		}
		svc.Platform = o.platform
	}
	if o.gpus != "" {
		dr, err := parseGpus(o.gpus)
		if err != nil {
			return fmt.Errorf("invalid argument %q for \"--gpus\" flag: %w", o.gpus, err)
		}
		svc.Gpus = []types.DeviceRequest{dr}
	}
	return nil
}

// validRestart checks docker run's --restart value.
func validRestart(p string) error {
	name, n, hasN := strings.Cut(p, ":")
	switch name {
	case "no", "always", "unless-stopped":
		if !hasN {
			return nil
		}
	case "on-failure":
		if !hasN {
			return nil
		}
		if v, err := strconv.Atoi(n); err == nil && v >= 0 {
			return nil
		}
	}
	return fmt.Errorf("invalid argument %q for \"--restart\" flag: want no, always, unless-stopped or on-failure[:max-retries]", p)
}

// parseGpus reads docker's --gpus: "all", a count, or comma-separated
// key=value options (count=, device=, capabilities=, driver=).
func parseGpus(v string) (types.DeviceRequest, error) {
	dr := types.DeviceRequest{Capabilities: []string{"gpu"}}
	fields := strings.Split(v, ",")
	for i := 0; i < len(fields); i++ {
		f := strings.Trim(fields[i], `"`)
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			val, k = k, "count"
		}
		switch k {
		case "count":
			if val == "all" {
				dr.Count = -1
				continue
			}
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				return dr, fmt.Errorf("count %q: want all or a positive number", val)
			}
			dr.Count = types.DeviceCount(n)
		case "device":
			dr.IDs = append(dr.IDs, val)
			// "device=0,1": the IDs run on past the comma
			for i+1 < len(fields) && !strings.Contains(fields[i+1], "=") {
				i++
				dr.IDs = append(dr.IDs, strings.Trim(fields[i], `"`))
			}
		case "capabilities":
			dr.Capabilities = append(dr.Capabilities, val)
		case "driver":
			dr.Driver = val
		default:
			return dr, fmt.Errorf("unknown option %q", k)
		}
	}
	if dr.Count != 0 && len(dr.IDs) > 0 {
		return dr, fmt.Errorf("count and device are exclusive")
	}
	return dr, nil
}

// readEnvFile reads Docker's --env-file: KEY=VALUE lines, # comments, a
// bare KEY takes the caller's value (left out when unset).
func readEnvFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		if strings.ContainsAny(k, " \t") || k == "" {
			return nil, fmt.Errorf("line %d: variable %q contains whitespaces or is empty", n, k)
		}
		if !ok {
			if v, set := os.LookupEnv(k); set {
				out = append(out, k+"="+v)
			}
			continue
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

// readLabelFile reads docker's --label-file: KEY[=VALUE] lines, # comments.
func readLabelFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, nil
}
