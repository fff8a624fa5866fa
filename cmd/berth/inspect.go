package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/internal/layout"
	"github.com/berth-dev/berth/network/portmap"
)

func newInspectCmd(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] [SERVICE|CONTAINER...]",
		Short: "Display detailed information on a container",
		Long: `Print containers as a JSON array in the shape of 'docker inspect'. Arguments
are services of the current project (all their containers), container names,
or unique prefixes of container IDs; with none, every container of the
project. -f/--format executes a Go template for each container instead
(e.g. '{{.State.Status}}', '{{json .NetworkSettings.Networks}}').`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			proj := g.projectName
			sel, err := g.projectSelection(ctx, nil)
			switch {
			case err == nil:
				proj = sel.Project
			case len(args) == 0 || !isNoFile(err):
				return err
			}
			store := engine.OpenRecords(layout.FromEnv())
			recs, err := resolveContainers(store, proj, args)
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
	cmd.Flags().StringVarP(&format, "format", "f", "", "Format the output using the given Go template")
	return cmd
}

// errNoSuchContainer is returned for an argument that names nothing.
var errNoSuchContainer = errors.New("no such service or container")

// resolveContainers turns inspect's arguments into records: a service of
// the project (its containers), a container name, or a unique ID prefix.
// No arguments means the project's containers.
func resolveContainers(store *engine.Records, proj string, args []string) ([]*engine.Container, error) {
	all, err := store.Containers("")
	if err != nil {
		return nil, err
	}
	if len(args) == 0 {
		var out []*engine.Container
		for _, r := range all {
			if r.Project == proj {
				out = append(out, r)
			}
		}
		return out, nil
	}
	var out []*engine.Container
	seen := map[string]bool{}
	for _, a := range args {
		hits, err := matchContainers(all, proj, a)
		if err != nil {
			return nil, err
		}
		for _, r := range hits {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// matchContainers is what one inspect argument names, tried in turn: the
// project's service (its non-one-off containers), a container name or
// full ID, a unique ID prefix.
func matchContainers(all []*engine.Container, proj, arg string) ([]*engine.Container, error) {
	match := func(keep func(*engine.Container) bool) []*engine.Container {
		var hits []*engine.Container
		for _, r := range all {
			if keep(r) {
				hits = append(hits, r)
			}
		}
		return hits
	}
	hits := match(func(r *engine.Container) bool {
		return proj != "" && r.Project == proj && r.Service == arg && !r.Oneoff
	})
	if len(hits) == 0 {
		hits = match(func(r *engine.Container) bool { return r.Name == arg || r.ID == arg })
	}
	if len(hits) == 0 && arg != "" {
		hits = match(func(r *engine.Container) bool { return strings.HasPrefix(r.ID, arg) })
		if len(hits) > 1 {
			return nil, fmt.Errorf("%q: ambiguous container ID prefix (%d containers)", arg, len(hits))
		}
	}
	if len(hits) == 0 {
		return nil, fmt.Errorf("%q: %w", arg, errNoSuchContainer)
	}
	return hits, nil
}

// The types below follow `docker inspect`'s container JSON.

type containerJSON struct {
	ID              string `json:"Id"`
	Created         time.Time
	Path            string
	Args            []string
	State           containerState
	Image           string
	LogPath         string
	Name            string
	RestartCount    int
	Driver          string
	Platform        string
	HostConfig      hostConfig
	Mounts          []mountPoint
	Config          containerConfig
	NetworkSettings networkSettings
}

type containerState struct {
	Status     string
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
	Health     *healthJSON `json:",omitempty"`
}

type healthJSON struct {
	Status        string
	FailingStreak int
	Log           []healthLog
}

type healthLog struct {
	Start    time.Time
	End      time.Time
	ExitCode int
	Output   string
}

type restartPolicy struct {
	Name              string
	MaximumRetryCount int
}

type portBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string
}

type hostConfig struct {
	RestartPolicy restartPolicy
	NetworkMode   string
	IpcMode       string
	PortBindings  map[string][]portBinding
}

type mountPoint struct {
	Type        string
	Name        string `json:",omitempty"`
	Source      string
	Destination string
	Driver      string `json:",omitempty"`
	Mode        string
	RW          bool
	Propagation string
}

type containerConfig struct {
	Hostname     string
	Domainname   string
	User         string
	Tty          bool
	OpenStdin    bool
	ExposedPorts map[string]struct{} `json:",omitempty"`
	Env          []string
	Cmd          []string
	Image        string
	WorkingDir   string
	Entrypoint   []string
	Labels       map[string]string
	StopSignal   string           `json:",omitempty"`
	StopTimeout  *int             `json:",omitempty"`
	Healthcheck  *healthcheckJSON `json:",omitempty"`
}

// healthcheckJSON is Docker's Config.Healthcheck; durations in nanoseconds.
type healthcheckJSON struct {
	Test          []string
	Interval      int64 `json:",omitempty"`
	Timeout       int64 `json:",omitempty"`
	StartPeriod   int64 `json:",omitempty"`
	StartInterval int64 `json:",omitempty"`
	Retries       int   `json:",omitempty"`
}

type endpointSettings struct {
	// IPAMConfig holds the addresses the service asked for (ipv4_address,
	// ipv6_address), as Docker's; nil when the address was allocated.
	IPAMConfig  *endpointIPAM
	Aliases     []string
	IPAddress   string
	IPPrefixLen int
	Gateway     string
	MacAddress  string
}

type endpointIPAM struct {
	IPv4Address string `json:",omitempty"`
	IPv6Address string `json:",omitempty"`
}

type networkSettings struct {
	Ports map[string][]portBinding
	// The legacy top-level fields Docker fills from the default bridge's
	// endpoint only (tutorials read .NetworkSettings.IPAddress).
	IPAddress   string
	IPPrefixLen int
	Gateway     string
	MacAddress  string
	Networks    map[string]endpointSettings
}

// serviceBits are the fields inspect reads from a record's hashed service
// config (compose-go's JSON names).
type serviceBits struct {
	User        string   `json:"user"`
	Entrypoint  []string `json:"entrypoint"`
	Command     []string `json:"command"`
	WorkingDir  string   `json:"working_dir"`
	DomainName  string   `json:"domainname"`
	NetworkMode string   `json:"network_mode"`
}

// inspectContainer builds a container's docker-inspect view from its
// record, runtime state and bundle.
func inspectContainer(store *engine.Records, r *engine.Container) (containerJSON, error) {
	st, err := store.ContainerState(r.ID)
	if err != nil {
		return containerJSON{}, err
	}
	var svc serviceBits
	if len(r.Config) > 0 {
		json.Unmarshal(r.Config, &svc) // best effort: older records may lack it
	}
	c := containerJSON{
		ID:           r.ID,
		Created:      r.Created,
		Image:        r.ImageID,
		LogPath:      store.LogPath(r.ID),
		Name:         "/" + r.Name,
		RestartCount: st.RestartCount,
		Driver:       "overlay",
		Platform:     "linux",
		State:        inspectState(st),
		Mounts:       []mountPoint{},
		Config:       inspectConfig(r, svc),
		HostConfig: hostConfig{
			RestartPolicy: parseRestart(r.Restart),
			NetworkMode:   svc.NetworkMode,
			IpcMode:       r.IpcMode,
			PortBindings:  map[string][]portBinding{},
		},
		NetworkSettings: networkSettings{
			Ports:    map[string][]portBinding{},
			Networks: map[string]endpointSettings{},
		},
	}
	args := stripInit(r.Command)
	if spec, err := engine.ContainerSpec(r); err == nil && spec.Process != nil {
		args = stripInit(spec.Process.Args)
		inspectProcess(&c.Config, spec)
		c.Mounts = mountsOf(spec.Mounts, store.Layout().Volumes())
	}
	inspectArgs(&c, args)
	inspectPorts(&c, r, st.Status == engine.StatusRunning || st.Status == engine.StatusPaused || st.Status == engine.StatusRestarting)
	inspectNetworks(&c, r)
	return c, nil
}

// inspectState is Docker's State object for a container's runtime state.
func inspectState(st *engine.ContainerState) containerState {
	s := containerState{
		Status:     string(st.Status),
		Running:    st.Status == engine.StatusRunning || st.Status == engine.StatusPaused,
		Paused:     st.Status == engine.StatusPaused,
		Restarting: st.Status == engine.StatusRestarting,
		Dead:       st.Status == engine.StatusDead,
		Pid:        st.Pid,
		ExitCode:   st.ExitCode,
		Error:      st.Error,
		StartedAt:  st.StartedAt,
		FinishedAt: st.FinishedAt,
	}
	if st.Health != "" {
		h := &healthJSON{Status: st.Health, FailingStreak: st.FailingStreak, Log: []healthLog{}}
		for _, l := range st.HealthLog {
			h.Log = append(h.Log, healthLog{Start: l.Start, End: l.End, ExitCode: l.ExitCode, Output: l.Output})
		}
		s.Health = h
	}
	return s
}

// inspectConfig is Docker's Config object as the record and its service
// config say (the bundle's process fills the gaps: inspectProcess).
func inspectConfig(r *engine.Container, svc serviceBits) containerConfig {
	c := containerConfig{
		Hostname:   r.Hostname,
		Domainname: svc.DomainName,
		User:       svc.User,
		Tty:        r.Tty,
		OpenStdin:  r.StdinOpen,
		Image:      r.Image,
		WorkingDir: svc.WorkingDir,
		Entrypoint: svc.Entrypoint,
		Cmd:        svc.Command,
		Labels:     r.Labels,
		StopSignal: r.StopSignal,
	}
	if hc := r.Health; hc != nil {
		c.Healthcheck = &healthcheckJSON{
			Test: hc.Test, Interval: int64(hc.Interval), Timeout: int64(hc.Timeout),
			StartPeriod: int64(hc.StartPeriod), StartInterval: int64(hc.StartInterval), Retries: hc.Retries,
		}
	}
	if r.StopTimeout > 0 {
		secs := int(r.StopTimeout / time.Second)
		c.StopTimeout = &secs
	}
	return c
}

// inspectProcess completes Config from the bundle's process: the
// environment, and the working dir, user and hostname where the service
// config named none.
func inspectProcess(c *containerConfig, spec *specs.Spec) {
	c.Env = spec.Process.Env
	if c.WorkingDir == "" {
		c.WorkingDir = spec.Process.Cwd
	}
	if c.User == "" && (spec.Process.User.UID != 0 || spec.Process.User.GID != 0) {
		c.User = fmt.Sprintf("%d:%d", spec.Process.User.UID, spec.Process.User.GID)
	}
	if c.Hostname == "" {
		c.Hostname = spec.Hostname
	}
}

// inspectArgs sets Path and Args from the process's arguments (berth's
// init stripped), and Config.Cmd from them when the service named none.
func inspectArgs(c *containerJSON, args []string) {
	if len(args) > 0 {
		c.Path, c.Args = args[0], args[1:]
	}
	if c.Args == nil {
		c.Args = []string{}
	}
	if c.Config.Cmd == nil && len(args) > len(c.Config.Entrypoint) {
		c.Config.Cmd = args[len(c.Config.Entrypoint):]
	}
}

// inspectNetworks fills NetworkSettings.Networks (and the legacy top-level
// address fields for the default bridge, as Docker), and NetworkMode when
// the service config named none.
func inspectNetworks(c *containerJSON, r *engine.Container) {
	for _, n := range r.Networks {
		aliases := n.Aliases
		if aliases == nil {
			aliases = []string{}
		}
		c.NetworkSettings.Networks[n.Network] = endpointSettings{
			IPAMConfig: requestedAddresses(r.Config, n.Key),
			Aliases:    aliases, IPAddress: n.IP, IPPrefixLen: n.Prefix, Gateway: n.Gateway, MacAddress: n.MAC,
		}
		if n.Network == engine.DefaultBridge {
			ns := &c.NetworkSettings
			ns.IPAddress, ns.IPPrefixLen, ns.Gateway, ns.MacAddress = n.IP, n.Prefix, n.Gateway, n.MAC
		}
	}
	if c.HostConfig.NetworkMode == "" {
		switch {
		case len(r.Networks) > 0:
			c.HostConfig.NetworkMode = r.Networks[0].Network
		case r.Netns == "":
			c.HostConfig.NetworkMode = "host"
		default:
			c.HostConfig.NetworkMode = "none"
		}
	}
}

// inspectPorts fills the port fields as Docker does: HostConfig.PortBindings
// as asked (HostPort "" for a random port, "A-B" for a range),
// NetworkSettings.Ports as bound while the container runs (exposed-only
// ports map to null), Config.ExposedPorts every container port.
func inspectPorts(c *containerJSON, r *engine.Container, running bool) {
	expose := func(key string) {
		if c.Config.ExposedPorts == nil {
			c.Config.ExposedPorts = map[string]struct{}{}
		}
		c.Config.ExposedPorts[key] = struct{}{}
	}
	for _, s := range r.PortSpecs {
		key := portmap.Binding{ContainerPort: s.ContainerPort, Protocol: s.Protocol}.Key()
		b := portBinding{}
		if s.HostIP.IsValid() {
			b.HostIP = s.HostIP.String()
		}
		switch {
		case s.Fixed():
			b.HostPort = strconv.Itoa(int(s.HostFrom))
		case !s.Random():
			b.HostPort = fmt.Sprintf("%d-%d", s.HostFrom, s.HostTo)
		}
		c.HostConfig.PortBindings[key] = append(c.HostConfig.PortBindings[key], b)
		expose(key)
	}
	for _, b := range r.Exposed {
		expose(b.Key())
	}
	if !running {
		return
	}
	for _, b := range portmap.Merge(r.Ports, r.Exposed) {
		key := b.Key()
		if !b.Published() {
			c.NetworkSettings.Ports[key] = nil
			continue
		}
		c.NetworkSettings.Ports[key] = append(c.NetworkSettings.Ports[key], portBinding{HostIP: b.HostAddr(), HostPort: strconv.Itoa(int(b.HostPort))})
		if r.PortSpecs == nil { // a record from before PortSpecs
			c.HostConfig.PortBindings[key] = append(c.HostConfig.PortBindings[key], portBinding{HostPort: strconv.Itoa(int(b.HostPort))})
			expose(key)
		}
	}
}

// stripInit drops berth's own init (`berth __init --`) from a process's
// arguments: inspect shows the user's command, as Docker does with --init.
func stripInit(args []string) []string {
	if i := slices.Index(args, "__init"); i >= 0 && i+1 < len(args) && args[i+1] == "--" {
		return args[i+2:]
	}
	return args
}

// parseRestart turns a restart policy ("on-failure:3") into Docker's shape.
func parseRestart(p string) restartPolicy {
	if p == "" {
		p = "no"
	}
	name, n, _ := strings.Cut(p, ":")
	max, _ := strconv.Atoi(n)
	return restartPolicy{Name: name, MaximumRetryCount: max}
}

// files berth binds into every container; Docker does not list them.
var hiddenMounts = []string{"/etc/hosts", "/etc/hostname", "/etc/resolv.conf"}

// mountsOf lists a bundle's user mounts: binds (volumes when their source
// is a berth volume's _data, under volumesDir) and tmpfs mounts off the
// default set.
func mountsOf(ms []specs.Mount, volumesDir string) []mountPoint {
	volRoot := volumesDir + "/"
	out := []mountPoint{}
	for _, m := range ms {
		if slices.Contains(hiddenMounts, m.Destination) {
			continue
		}
		bind := m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
		if !bind {
			continue
		}
		mp := mountPoint{Type: "bind", Source: m.Source, Destination: m.Destination, RW: !slices.Contains(m.Options, "ro"), Propagation: "rprivate"}
		for _, o := range m.Options {
			switch o {
			case "private", "rprivate", "shared", "rshared", "slave", "rslave":
				mp.Propagation = o
			case "z", "Z":
				mp.Mode = o
			}
		}
		if rest, ok := strings.CutPrefix(m.Source, volRoot); ok {
			if name, tail, _ := strings.Cut(rest, "/"); tail == "_data" || strings.HasPrefix(tail, "_data/") {
				mp.Type, mp.Name, mp.Driver = "volume", name, "local"
				mp.Propagation = ""
				if mp.Mode == "" {
					mp.Mode = "z" // as Docker reports a local volume's mount
				}
			}
		}
		out = append(out, mp)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Destination < out[j].Destination })
	return out
}

// printInspect writes the containers as docker inspect does: an indented
// JSON array, or the template executed for each.
func printInspect(w io.Writer, list []containerJSON, format string) error {
	if format == "" || format == "json" {
		b, err := json.MarshalIndent(list, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	t, err := template.New("format").Funcs(templateFuncs).Parse(format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	var b bytes.Buffer
	for _, c := range list {
		if err := executeInspect(&b, t, c); err != nil {
			return err
		}
		b.WriteByte('\n')
	}
	_, err = w.Write(b.Bytes())
	return err
}

// executeInspect runs the template over the typed container first, so
// {{json .Mounts}} keeps Docker's field order, and on failure over the
// JSON form, as docker does, so names the JSON shows ({{.Id}}) work too.
func executeInspect(b *bytes.Buffer, t *template.Template, c containerJSON) error {
	var typed bytes.Buffer
	if t.Execute(&typed, c) == nil {
		b.Write(typed.Bytes())
		return nil
	}
	var v any
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	if err := t.Execute(b, v); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	return nil
}

// requestedAddresses reads the service's ipv4_address/ipv6_address on the
// network key from the config recorded at creation.
func requestedAddresses(cfg []byte, key string) *endpointIPAM {
	var svc struct {
		Networks map[string]*struct {
			IPv4 string `json:"ipv4_address"`
			IPv6 string `json:"ipv6_address"`
		} `json:"networks"`
	}
	if len(cfg) == 0 || json.Unmarshal(cfg, &svc) != nil {
		return nil
	}
	if n := svc.Networks[key]; n != nil && (n.IPv4 != "" || n.IPv6 != "") {
		return &endpointIPAM{IPv4Address: n.IPv4, IPv6Address: n.IPv6}
	}
	return nil
}
