package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/docker/go-units"
	"github.com/spf13/pflag"
)

// moreRunFlags are docker run's resource, health and host-file flags,
// each mapped onto the service field Compose has for it.
type moreRunFlags struct {
	healthCmd                                                         string
	healthInterval, healthTimeout, healthStartPeriod, healthStartIntv time.Duration
	healthRetries                                                     int
	noHealthcheck                                                     bool
	memory, shmSize                                                   string
	cpus                                                              float64
	addHosts, dns, tmpfs, expose, ulimits, devices, sysctls, secOpts  []string
	mounts                                                            []string
	set                                                               func(string) bool
}

func (m *moreRunFlags) register(f *pflag.FlagSet) {
	f.StringVar(&m.healthCmd, "health-cmd", "", "Command to run to check health")
	f.DurationVar(&m.healthInterval, "health-interval", 0, "Time between running the check (ms|s|m|h)")
	f.DurationVar(&m.healthTimeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h)")
	f.DurationVar(&m.healthStartPeriod, "health-start-period", 0, "Start period for the container to initialize before counting retries (ms|s|m|h)")
	f.DurationVar(&m.healthStartIntv, "health-start-interval", 0, "Time between running the check during the start period (ms|s|m|h)")
	f.IntVar(&m.healthRetries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	f.BoolVar(&m.noHealthcheck, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
	f.StringVarP(&m.memory, "memory", "m", "", "Memory limit")
	f.StringVar(&m.shmSize, "shm-size", "", "Size of /dev/shm")
	f.Float64Var(&m.cpus, "cpus", 0, "Number of CPUs")
	f.StringArrayVar(&m.addHosts, "add-host", nil, "Add a custom host-to-IP mapping (host:ip)")
	f.StringArrayVar(&m.dns, "dns", nil, "Set custom DNS servers")
	f.StringArrayVar(&m.tmpfs, "tmpfs", nil, "Mount a tmpfs directory")
	f.StringArrayVar(&m.expose, "expose", nil, "Expose a port or a range of ports")
	f.StringArrayVar(&m.ulimits, "ulimit", nil, "Ulimit options (name=soft[:hard])")
	f.StringArrayVar(&m.devices, "device", nil, "Add a host device to the container (HOST[:CONTAINER[:PERMISSIONS]])")
	f.StringArrayVar(&m.sysctls, "sysctl", nil, "Sysctl options (KEY=VALUE)")
	f.StringArrayVar(&m.secOpts, "security-opt", nil, "Security options")
	f.StringArrayVar(&m.mounts, "mount", nil, "Attach a filesystem mount to the container (type=bind|volume|tmpfs,source=…,target=…[,readonly])")
}

// parseMount reads docker's --mount: comma-separated key=value fields.
func parseMount(spec, wd string) (types.ServiceVolumeConfig, error) {
	vc := types.ServiceVolumeConfig{Type: types.VolumeTypeVolume}
	for _, field := range strings.Split(spec, ",") {
		k, v, hasV := strings.Cut(field, "=")
		switch strings.ToLower(k) {
		case "type":
			switch v {
			case types.VolumeTypeBind, types.VolumeTypeVolume, types.VolumeTypeTmpfs:
				vc.Type = v
			default:
				return vc, fmt.Errorf("type %q: want bind, volume or tmpfs", v)
			}
		case "source", "src":
			vc.Source = v
		case "target", "dst", "destination":
			vc.Target = v
		case "readonly", "ro":
			vc.ReadOnly = !hasV || v == "true" || v == "1"
		case "tmpfs-size":
			n, err := units.RAMInBytes(v)
			if err != nil {
				return vc, fmt.Errorf("tmpfs-size %q: %w", v, err)
			}
			vc.Tmpfs = &types.ServiceVolumeTmpfs{Size: types.UnitBytes(n)}
		case "bind-propagation":
			vc.Bind = &types.ServiceVolumeBind{Propagation: v}
		case "volume-nocopy":
			vc.Volume = &types.ServiceVolumeVolume{NoCopy: !hasV || v == "true" || v == "1"}
		default:
			return vc, fmt.Errorf("unknown field %q", k)
		}
	}
	if vc.Target == "" {
		return vc, fmt.Errorf("target is required")
	}
	if vc.Type == types.VolumeTypeBind {
		if vc.Source == "" {
			return vc, fmt.Errorf("source is required for a bind mount")
		}
		if !filepath.IsAbs(vc.Source) {
			vc.Source = filepath.Join(wd, vc.Source)
		}
	}
	return vc, nil
}

func badValue(flag, v string, err error) error {
	return fmt.Errorf("invalid argument %q for \"%s\" flag: %w", v, flag, err)
}

// apply sets the service fields of the flags given.
func (m *moreRunFlags) apply(svc *types.ServiceConfig) error {
	dur := func(d time.Duration) *types.Duration { x := types.Duration(d); return &x }
	if m.noHealthcheck {
		svc.HealthCheck = &types.HealthCheckConfig{Disable: true}
	}
	if m.healthCmd != "" || m.set("health-interval") || m.set("health-timeout") || m.set("health-retries") || m.set("health-start-period") || m.set("health-start-interval") {
		if m.noHealthcheck {
			return fmt.Errorf("--no-healthcheck conflicts with --health-* options")
		}
		hc := &types.HealthCheckConfig{}
		if m.healthCmd != "" {
			hc.Test = types.HealthCheckTest{"CMD-SHELL", m.healthCmd}
		}
		for name, d := range map[string]time.Duration{"--health-interval": m.healthInterval, "--health-timeout": m.healthTimeout, "--health-start-period": m.healthStartPeriod, "--health-start-interval": m.healthStartIntv} {
			if d < 0 {
				return badValue(name, d.String(), fmt.Errorf("must not be negative"))
			}
		}
		if m.set("health-interval") {
			hc.Interval = dur(m.healthInterval)
		}
		if m.set("health-timeout") {
			hc.Timeout = dur(m.healthTimeout)
		}
		if m.set("health-start-period") {
			hc.StartPeriod = dur(m.healthStartPeriod)
		}
		if m.set("health-start-interval") {
			hc.StartInterval = dur(m.healthStartIntv)
		}
		if m.set("health-retries") {
			if m.healthRetries < 0 {
				return badValue("--health-retries", strconv.Itoa(m.healthRetries), fmt.Errorf("must not be negative"))
			}
			r := uint64(m.healthRetries)
			hc.Retries = &r
		}
		svc.HealthCheck = hc
	}
	if m.memory != "" {
		n, err := units.RAMInBytes(m.memory)
		if err != nil || n <= 0 {
			return badValue("-m, --memory", m.memory, fmt.Errorf("want a size such as 64m"))
		}
		svc.MemLimit = types.UnitBytes(n)
	}
	if m.shmSize != "" {
		n, err := units.RAMInBytes(m.shmSize)
		if err != nil || n <= 0 {
			return badValue("--shm-size", m.shmSize, fmt.Errorf("want a size such as 64m"))
		}
		svc.ShmSize = types.UnitBytes(n)
	}
	if m.cpus < 0 {
		return badValue("--cpus", strconv.FormatFloat(m.cpus, 'f', -1, 64), fmt.Errorf("must not be negative"))
	}
	svc.CPUS = float32(m.cpus)
	for _, h := range m.addHosts {
		host, ip, ok := strings.Cut(h, ":")
		if !ok || host == "" || ip == "" {
			host, ip, ok = strings.Cut(h, "=")
		}
		if !ok || host == "" || ip == "" {
			return badValue("--add-host", h, fmt.Errorf("want HOST:IP"))
		}
		if svc.ExtraHosts == nil {
			svc.ExtraHosts = types.HostsList{}
		}
		svc.ExtraHosts[host] = append(svc.ExtraHosts[host], ip)
	}
	svc.DNS = m.dns
	svc.Tmpfs = m.tmpfs
	for _, p := range m.expose {
		svc.Expose = append(svc.Expose, p)
	}
	for _, u := range m.ulimits {
		name, v, ok := strings.Cut(u, "=")
		soft, hard, hasHard := strings.Cut(v, ":")
		s, err1 := strconv.Atoi(soft)
		h, err2 := s, error(nil)
		if hasHard {
			h, err2 = strconv.Atoi(hard)
		}
		if !ok || name == "" || err1 != nil || err2 != nil {
			return badValue("--ulimit", u, fmt.Errorf("want NAME=SOFT[:HARD]"))
		}
		if svc.Ulimits == nil {
			svc.Ulimits = map[string]*types.UlimitsConfig{}
		}
		svc.Ulimits[name] = &types.UlimitsConfig{Soft: s, Hard: h}
	}
	for _, d := range m.devices {
		parts := strings.Split(d, ":")
		dm := types.DeviceMapping{Source: parts[0], Target: parts[0], Permissions: "rwm"}
		if len(parts) > 1 {
			dm.Target = parts[1]
		}
		if len(parts) > 2 {
			dm.Permissions = parts[2]
		}
		if len(parts) > 3 || dm.Source == "" {
			return badValue("--device", d, fmt.Errorf("want HOST[:CONTAINER[:PERMISSIONS]]"))
		}
		svc.Devices = append(svc.Devices, dm)
	}
	for _, s := range m.sysctls {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return badValue("--sysctl", s, fmt.Errorf("want KEY=VALUE"))
		}
		if svc.Sysctls == nil {
			svc.Sysctls = types.Mapping{}
		}
		svc.Sysctls[k] = v
	}
	svc.SecurityOpt = m.secOpts
	return nil
}
