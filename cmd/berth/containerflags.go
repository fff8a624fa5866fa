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

// apply sets the service fields of the flags given, in the order docker
// run reports their errors.
func (m *moreRunFlags) apply(svc *types.ServiceConfig) error {
	for _, step := range []func(*types.ServiceConfig) error{m.healthcheck, m.resources, m.hostFiles, m.ulimitSet, m.deviceSet, m.sysctlSet} {
		if err := step(svc); err != nil {
			return err
		}
	}
	svc.SecurityOpt = m.secOpts
	return nil
}

// healthChanged reports whether any --health-* flag was given.
func (m *moreRunFlags) healthChanged() bool {
	if m.healthCmd != "" {
		return true
	}
	for _, name := range []string{"health-interval", "health-timeout", "health-retries", "health-start-period", "health-start-interval"} {
		if m.set(name) {
			return true
		}
	}
	return false
}

// healthcheck reads --no-healthcheck and the --health-* flags; only the
// flags given override the image's HEALTHCHECK.
func (m *moreRunFlags) healthcheck(svc *types.ServiceConfig) error {
	if m.noHealthcheck {
		svc.HealthCheck = &types.HealthCheckConfig{Disable: true}
	}
	if !m.healthChanged() {
		return nil
	}
	if m.noHealthcheck {
		return fmt.Errorf("--no-healthcheck conflicts with --health-* options")
	}
	hc := &types.HealthCheckConfig{}
	if m.healthCmd != "" {
		hc.Test = types.HealthCheckTest{"CMD-SHELL", m.healthCmd}
	}
	durations := []struct {
		flag string
		d    time.Duration
		dst  **types.Duration
	}{
		{"health-interval", m.healthInterval, &hc.Interval},
		{"health-timeout", m.healthTimeout, &hc.Timeout},
		{"health-start-period", m.healthStartPeriod, &hc.StartPeriod},
		{"health-start-interval", m.healthStartIntv, &hc.StartInterval},
	}
	for _, f := range durations {
		if f.d < 0 {
			return badValue("--"+f.flag, f.d.String(), fmt.Errorf("must not be negative"))
		}
	}
	for _, f := range durations {
		if m.set(f.flag) {
			x := types.Duration(f.d)
			*f.dst = &x
		}
	}
	if m.set("health-retries") {
		if m.healthRetries < 0 {
			return badValue("--health-retries", strconv.Itoa(m.healthRetries), fmt.Errorf("must not be negative"))
		}
		r := uint64(m.healthRetries)
		hc.Retries = &r
	}
	svc.HealthCheck = hc
	return nil
}

// resources reads -m, --memory, --shm-size and --cpus.
func (m *moreRunFlags) resources(svc *types.ServiceConfig) error {
	if m.memory != "" {
		n, err := parseSize("-m, --memory", m.memory)
		if err != nil {
			return err
		}
		svc.MemLimit = n
	}
	if m.shmSize != "" {
		n, err := parseSize("--shm-size", m.shmSize)
		if err != nil {
			return err
		}
		svc.ShmSize = n
	}
	if m.cpus < 0 {
		return badValue("--cpus", strconv.FormatFloat(m.cpus, 'f', -1, 64), fmt.Errorf("must not be negative"))
	}
	svc.CPUS = float32(m.cpus)
	return nil
}

// parseSize reads a positive size flag such as --memory 64m.
func parseSize(flag, v string) (types.UnitBytes, error) {
	n, err := units.RAMInBytes(v)
	if err != nil || n <= 0 {
		return 0, badValue(flag, v, fmt.Errorf("want a size such as 64m"))
	}
	return types.UnitBytes(n), nil
}

// hostFiles reads --add-host, --dns, --tmpfs and --expose.
func (m *moreRunFlags) hostFiles(svc *types.ServiceConfig) error {
	for _, h := range m.addHosts {
		host, ip, err := parseAddHost(h)
		if err != nil {
			return err
		}
		if svc.ExtraHosts == nil {
			svc.ExtraHosts = types.HostsList{}
		}
		svc.ExtraHosts[host] = append(svc.ExtraHosts[host], ip)
	}
	svc.DNS = m.dns
	svc.Tmpfs = m.tmpfs
	svc.Expose = append(svc.Expose, m.expose...)
	return nil
}

// parseAddHost reads --add-host HOST:IP, or HOST=IP when no colon splits
// it into two non-empty parts.
func parseAddHost(h string) (host, ip string, err error) {
	host, ip, ok := strings.Cut(h, ":")
	if !ok || host == "" || ip == "" {
		host, ip, ok = strings.Cut(h, "=")
	}
	if !ok || host == "" || ip == "" {
		return "", "", badValue("--add-host", h, fmt.Errorf("want HOST:IP"))
	}
	return host, ip, nil
}

// ulimitSet reads --ulimit.
func (m *moreRunFlags) ulimitSet(svc *types.ServiceConfig) error {
	for _, u := range m.ulimits {
		name, ul, err := parseUlimit(u)
		if err != nil {
			return err
		}
		if svc.Ulimits == nil {
			svc.Ulimits = map[string]*types.UlimitsConfig{}
		}
		svc.Ulimits[name] = ul
	}
	return nil
}

// parseUlimit reads --ulimit NAME=SOFT[:HARD]; without HARD, hard is soft.
func parseUlimit(u string) (string, *types.UlimitsConfig, error) {
	name, v, ok := strings.Cut(u, "=")
	soft, hard, hasHard := strings.Cut(v, ":")
	s, err1 := strconv.Atoi(soft)
	h, err2 := s, error(nil)
	if hasHard {
		h, err2 = strconv.Atoi(hard)
	}
	if !ok || name == "" || err1 != nil || err2 != nil {
		return "", nil, badValue("--ulimit", u, fmt.Errorf("want NAME=SOFT[:HARD]"))
	}
	return name, &types.UlimitsConfig{Soft: s, Hard: h}, nil
}

// deviceSet reads --device.
func (m *moreRunFlags) deviceSet(svc *types.ServiceConfig) error {
	for _, d := range m.devices {
		dm, err := parseDevice(d)
		if err != nil {
			return err
		}
		svc.Devices = append(svc.Devices, dm)
	}
	return nil
}

// parseDevice reads --device HOST[:CONTAINER[:PERMISSIONS]]; the
// container path defaults to the host's, the permissions to rwm.
func parseDevice(d string) (types.DeviceMapping, error) {
	parts := strings.Split(d, ":")
	dm := types.DeviceMapping{Source: parts[0], Target: parts[0], Permissions: "rwm"}
	if len(parts) > 1 {
		dm.Target = parts[1]
	}
	if len(parts) > 2 {
		dm.Permissions = parts[2]
	}
	if len(parts) > 3 || dm.Source == "" {
		return dm, badValue("--device", d, fmt.Errorf("want HOST[:CONTAINER[:PERMISSIONS]]"))
	}
	return dm, nil
}

// sysctlSet reads --sysctl KEY=VALUE.
func (m *moreRunFlags) sysctlSet(svc *types.ServiceConfig) error {
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
	return nil
}
