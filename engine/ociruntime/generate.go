package ociruntime

import (
	"cmp"
	"fmt"
	"os"
	"strconv"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// Container is what Generate needs to know about one container of a service
// beyond the service and its image.
type Container struct {
	ID      string // full container ID (hex); its first 12 characters are the default hostname
	Project string // compose project name, for the cgroup path
	// Rootfs is the host path of the container's root filesystem; the user
	// is resolved from its /etc/passwd and /etc/group.
	Rootfs string
	// NetNS is the network namespace file to join (made by the caller);
	// "" gives a new, empty netns. Ignored for network_mode: host.
	NetNS string
	// IpcNS is the IPC namespace file to join (another container's init's,
	// for ipc: service:X / container:X); "" gives a new one. Ignored for
	// ipc: host.
	IpcNS string
	// LookupEnv gives the value of a bare `KEY` in environment; a KEY it
	// lacks (or all, when nil) is removed, the image's too.
	LookupEnv EnvLookup
	// Mounts are the service's volumes, secrets and configs, already turned
	// into runtime mounts by the caller.
	Mounts []specs.Mount
	// InitBinary is the host path of the init binary for `init: true`;
	// InitArgs go between it and the command (see WithInit).
	InitBinary string
	InitArgs   []string
	// InitInterp and InitLibs are, for a dynamically linked init, the
	// host's ELF interpreter and libraries it runs with (InitDeps,
	// WithInitInterpreter); InitInterp is "" for a static one.
	InitInterp string
	InitLibs   map[string]string
	// HostsFile, ResolvConf and HostnameFile are host files bind-mounted at
	// /etc/hosts, /etc/resolv.conf and /etc/hostname when set.
	HostsFile, ResolvConf, HostnameFile string
	// ProjectDir resolves relative seccomp profile paths in security_opt.
	ProjectDir string
	// Rlimit reports the caller's current limits (nil: getrlimit).
	Rlimit RlimitFunc
	// Host is the host's sysfs and AppArmor loader (nil: HostSystem()).
	Host *Host
	// CDIDevices are the qualified CDI device names the service asked for
	// (devices:, gpus:, deploy reservations), resolved by the caller;
	// CDI injects their edits last, over the complete spec.
	CDIDevices []string
	CDI        DeviceInjector
}

// Generate builds the complete spec of one container of svc from its image
// config, with Docker's semantics for every key berth supports. Warnings
// (limits lowered to what the host allows) are returned for the caller to
// show; an error names the service and the key at fault.
func Generate(img *v1.ConfigFile, svc *types.ServiceConfig, c Container) (*specs.Spec, []string, error) {
	var warnings []string
	fail := func(err error) (*specs.Spec, []string, error) {
		return nil, warnings, fmt.Errorf("service %q: %w", svc.Name, err)
	}
	var ic v1.Config
	if img != nil {
		ic = img.Config
	}
	args, err := Command(ic.Entrypoint, ic.Cmd, svc.Entrypoint, svc.Command)
	if err != nil {
		return fail(err)
	}
	sec, err := ParseSecurityOpts(svc.SecurityOpt, c.ProjectDir)
	if err != nil {
		return fail(err)
	}
	host := c.Host
	if host == nil {
		host = HostSystem()
	}
	if err := CheckLabels(host, sec.Labels); err != nil {
		return fail(err)
	}
	warn := func(w string) { warnings = append(warnings, fmt.Sprintf("service %q: %s", svc.Name, w)) }
	opts := serviceOpts(svc, ic, c, sec, host, args, warn)
	more, err := extraOpts(svc, sec, c)
	if err != nil {
		return fail(err)
	}
	s, err := NewSpec(append(opts, more...)...)
	if err != nil {
		return fail(err)
	}
	return s, warnings, nil
}

// serviceOpts are the spec options every container takes, from the
// service's keys over the image config's, in the order they apply.
func serviceOpts(svc *types.ServiceConfig, ic v1.Config, c Container, sec SecurityOpts, host *Host, args []string, warn func(string)) []SpecOpt {
	hostNet := svc.NetworkMode == "host"
	rootfs := c.Rootfs
	if rootfs == "" {
		rootfs = "rootfs"
	}
	return []SpecOpt{
		WithRoot(rootfs, svc.ReadOnly),
		WithSystemPaths(host, sec.SystemPathsUnconfined),
		WithAppArmor(host, sec.AppArmor, svc.Privileged, warn),
		WithArgs(args...),
		WithEnv(ic.Env, svc.Environment, c.LookupEnv),
		WithHostname(hostnameOf(svc, c.ID, hostNet)),
		WithDomainname(cmp.Or(svc.DomainName, ic.Domainname)),
		WithWorkingDir(svc.WorkingDir, ic.WorkingDir),
		WithUser(c.Rootfs, userOf(svc, ic), svc.GroupAdd),
		WithTerminal(svc.Tty),
		WithStop(svc.StopSignal, ic.StopSignal, svc.StopGracePeriod),
		WithNamespace(specs.NetworkNamespace, NamespaceMode{Host: hostNet, Path: c.NetNS}),
		WithNamespace(specs.PIDNamespace, NamespaceMode{Host: svc.Pid == "host"}),
		WithNamespace(specs.IPCNamespace, NamespaceMode{Host: svc.Ipc == "host", Path: c.IpcNS}),
		WithNamespace(specs.UTSNamespace, NamespaceMode{Host: svc.Uts == "host"}),
		WithNamespace(specs.CgroupNamespace, NamespaceMode{Host: svc.Cgroup == "host"}),
		WithCgroupsPath(CgroupsPath(svc.CgroupParent, c.Project, c.ID)),
		WithCapabilities(svc.CapAdd, svc.CapDrop),
		WithNoNewPrivileges(sec.NoNewPrivileges),
		WithShmSize(int64(svc.ShmSize)),
		WithTmpfs(svc.Tmpfs),
		WithUlimits(svc.Ulimits, c.Rlimit, warn),
		WithSysctls(svc.Sysctls),
		WithDeviceCgroupRules(svc.DeviceCgroupRules),
		WithDevices(svc.Devices, warn),
		WithResources(ServiceResources(svc)),
	}
}

// hostnameOf is the container's hostname: the service's, else the host's
// with network_mode: host, else the short container ID (as Docker's).
func hostnameOf(svc *types.ServiceConfig, id string, hostNet bool) string {
	if svc.Hostname != "" {
		return svc.Hostname
	}
	if hostNet {
		if h, err := os.Hostname(); err == nil {
			return h
		}
	}
	return ShortID(id)
}

// extraOpts are the spec options that depend on what the service asks
// for, applied after serviceOpts: stdin, uts: host, seccomp, writable
// cgroups, the /etc files and mounts, the init and CDI devices (last).
func extraOpts(svc *types.ServiceConfig, sec SecurityOpts, c Container) ([]SpecOpt, error) {
	var opts []SpecOpt
	if svc.StdinOpen {
		opts = append(opts, WithAnnotation(AnnotationStdinOpen, strconv.FormatBool(true)))
	}
	if svc.Uts == "host" {
		opts = append(opts, func(s *specs.Spec) error { s.Hostname, s.Domainname = "", ""; return nil })
	}
	opts = append(opts, seccompOpt(svc.Privileged, sec.Seccomp))
	if sec.WritableCgroups != nil {
		opts = append(opts, WithWritableCgroups(*sec.WritableCgroups))
	}
	opts = append(opts, WithMounts(append(etcMounts(c), c.Mounts...)))
	if svc.Init != nil && *svc.Init {
		if c.InitBinary == "" {
			return nil, fmt.Errorf("init: true, but no init binary was given")
		}
		opts = append(opts, WithInit(c.InitBinary, c.InitArgs...))
		if c.InitInterp != "" {
			opts = append(opts, WithInitInterpreter(c.InitInterp, c.InitLibs))
		}
	}
	if len(c.CDIDevices) > 0 {
		opts = append(opts, WithCDIDevices(c.CDI, c.CDIDevices...))
	}
	return opts, nil
}

// seccompOpt is the container's seccomp: none when privileged or
// seccomp=unconfined, the profile security_opt names, else Docker's
// default.
func seccompOpt(privileged bool, profile string) SpecOpt {
	switch {
	case privileged:
		return WithPrivileged()
	case profile == "unconfined":
		return WithoutSeccomp()
	case profile != "":
		return WithSeccompProfile(profile)
	}
	return WithDefaultSeccomp()
}

// etcMounts bind the /etc/hosts, /etc/resolv.conf and /etc/hostname files the
// caller made, in that order.
func etcMounts(c Container) []specs.Mount {
	var mounts []specs.Mount
	if c.HostsFile != "" {
		mounts = append(mounts, BindMount(c.HostsFile, "/etc/hosts", false))
	}
	if c.ResolvConf != "" {
		mounts = append(mounts, BindMount(c.ResolvConf, "/etc/resolv.conf", false))
	}
	if c.HostnameFile != "" {
		mounts = append(mounts, BindMount(c.HostnameFile, "/etc/hostname", false))
	}
	return mounts
}

func userOf(svc *types.ServiceConfig, ic v1.Config) string {
	if svc.User != "" {
		return svc.User
	}
	return ic.User
}
