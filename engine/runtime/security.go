package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/profiles/seccomp"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// dockerCapabilities is Docker's default capability set.
var dockerCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// allCapabilities lists Linux capabilities by number (0..40).
var allCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// DefaultCapabilities returns a copy of Docker's default capability set.
func DefaultCapabilities() []string { return slices.Clone(dockerCapabilities) }

// AllCapabilities returns every capability the running kernel knows (all of
// berth's list when /proc/sys/kernel/cap_last_cap cannot be read).
func AllCapabilities() []string {
	caps := slices.Clone(allCapabilities)
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n+1 < len(caps) && n >= 0 {
			caps = caps[:n+1]
		}
	}
	return caps
}

var defaultMaskedPaths = []string{
	"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
	"/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
}

var defaultReadonlyPaths = []string{
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
}

// normalizeCap turns "net_admin" / "CAP_NET_ADMIN" into "CAP_NET_ADMIN" and
// checks it is a capability; "ALL" stays "ALL".
func normalizeCap(c string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(c))
	if u == "ALL" {
		return u, nil
	}
	if !strings.HasPrefix(u, "CAP_") {
		u = "CAP_" + u
	}
	if !slices.Contains(allCapabilities, u) {
		return "", fmt.Errorf("unknown capability %q", c)
	}
	return u, nil
}

// Capabilities applies cap_add and cap_drop to base as Docker does: "ALL" in
// cap_drop starts from nothing, "ALL" in cap_add starts from every
// capability; otherwise drops are removed from base and adds appended (an
// add wins over a drop of the same capability).
func Capabilities(base, add, drop []string) ([]string, error) {
	var adds, drops []string
	addAll, dropAll := false, false
	for _, c := range add {
		n, err := normalizeCap(c)
		if err != nil {
			return nil, fmt.Errorf("cap_add: %w", err)
		}
		if n == "ALL" {
			addAll = true
			continue
		}
		adds = append(adds, n)
	}
	for _, c := range drop {
		n, err := normalizeCap(c)
		if err != nil {
			return nil, fmt.Errorf("cap_drop: %w", err)
		}
		if n == "ALL" {
			dropAll = true
			continue
		}
		drops = append(drops, n)
	}
	var out []string
	switch {
	case addAll:
		for _, c := range AllCapabilities() {
			if !slices.Contains(drops, c) {
				out = append(out, c)
			}
		}
		return out, nil
	case dropAll:
		base = nil
	}
	for _, c := range base {
		if !slices.Contains(drops, c) || slices.Contains(adds, c) {
			out = append(out, c)
		}
	}
	for _, c := range adds {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// WithCapabilities applies cap_add/cap_drop to the current bounding set and
// sets bounding, effective and permitted to the result; inheritable and
// ambient stay empty (as Docker 25+).
func WithCapabilities(add, drop []string) SpecOpt {
	return func(s *specs.Spec) error {
		p := ensureProcess(s)
		var base []string
		if p.Capabilities != nil {
			base = p.Capabilities.Bounding
		}
		caps, err := Capabilities(base, add, drop)
		if err != nil {
			return err
		}
		setCaps(p, caps)
		return nil
	}
}

func setCaps(p *specs.Process, caps []string) {
	p.Capabilities = &specs.LinuxCapabilities{
		Bounding:  slices.Clone(caps),
		Effective: slices.Clone(caps),
		Permitted: slices.Clone(caps),
	}
}

// WithNoNewPrivileges sets the no_new_privs bit on the process.
func WithNoNewPrivileges(on bool) SpecOpt {
	return func(s *specs.Spec) error {
		ensureProcess(s).NoNewPrivileges = on
		return nil
	}
}

// WithDefaultSeccomp installs Docker's default seccomp profile, computed for
// the spec's capabilities: apply it after the capability options.
func WithDefaultSeccomp() SpecOpt {
	return func(s *specs.Spec) error {
		ensureProcess(s)
		if s.Process.Capabilities == nil {
			s.Process.Capabilities = &specs.LinuxCapabilities{}
		}
		prof, err := seccomp.GetDefaultProfile(s)
		if err != nil {
			return fmt.Errorf("default seccomp profile: %w", err)
		}
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		s.Linux.Seccomp = prof
		return nil
	}
}

// WithSeccompProfile loads a Docker-format seccomp profile (JSON) from file.
func WithSeccompProfile(file string) SpecOpt {
	return func(s *specs.Spec) error {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("seccomp profile: %w", err)
		}
		ensureProcess(s)
		if s.Process.Capabilities == nil {
			s.Process.Capabilities = &specs.LinuxCapabilities{}
		}
		prof, err := seccomp.LoadProfile(string(b), s)
		if err != nil {
			return fmt.Errorf("seccomp profile %s: %w", file, err)
		}
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		s.Linux.Seccomp = prof
		return nil
	}
}

// WithoutSeccomp removes any seccomp filter (seccomp=unconfined).
func WithoutSeccomp() SpecOpt {
	return func(s *specs.Spec) error {
		if s.Linux != nil {
			s.Linux.Seccomp = nil
		}
		return nil
	}
}

// SecurityOpts is the parsed form of a service's security_opt.
type SecurityOpts struct {
	NoNewPrivileges bool
	// Seccomp is "" (Docker's default), "unconfined", or a profile file path.
	Seccomp string
}

// ParseSecurityOpts parses security_opt entries: no-new-privileges[=|:true|false],
// seccomp=unconfined|<file> (relative to dir), and apparmor/label/systempaths,
// which are accepted (apparmor and SELinux are not used by berth).
func ParseSecurityOpts(opts []string, dir string) (SecurityOpts, error) {
	var r SecurityOpts
	for _, o := range opts {
		k, v, hasV := strings.Cut(o, "=")
		if !hasV {
			k, v, hasV = strings.Cut(o, ":")
		}
		switch k {
		case "no-new-privileges":
			on := true
			if hasV {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return r, fmt.Errorf("security_opt %q: invalid value %q for no-new-privileges", o, v)
				}
				on = b
			}
			r.NoNewPrivileges = on
		case "seccomp":
			if !hasV || v == "" {
				return r, fmt.Errorf("security_opt %q: seccomp needs a value (unconfined or a profile file)", o)
			}
			if v != "unconfined" && !filepath.IsAbs(v) && dir != "" {
				v = filepath.Join(dir, v)
			}
			r.Seccomp = v
		case "apparmor", "label", "systempaths", "writable-cgroups":
		default:
			return r, fmt.Errorf("security_opt %q: unknown option (berth knows no-new-privileges, seccomp, apparmor, label)", o)
		}
	}
	return r, nil
}

// WithPrivileged gives the container every capability, no masked or
// read-only paths, no seccomp filter, read-write /sys and /sys/fs/cgroup,
// the host's devices and an allow-all device cgroup (as Docker).
func WithPrivileged() SpecOpt {
	return func(s *specs.Spec) error {
		setCaps(ensureProcess(s), AllCapabilities())
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		s.Linux.MaskedPaths = nil
		s.Linux.ReadonlyPaths = nil
		s.Linux.Seccomp = nil
		for i := range s.Mounts {
			if s.Mounts[i].Destination == "/sys" || s.Mounts[i].Destination == "/sys/fs/cgroup" {
				s.Mounts[i].Options = replaceOpt(s.Mounts[i].Options, "ro", "rw")
			}
		}
		devs, err := hostDevices("/dev")
		if err != nil {
			return fmt.Errorf("privileged: %w", err)
		}
		s.Linux.Devices = appendDevices(s.Linux.Devices, devs...)
		ensureResources(s).Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
		return nil
	}
}

func replaceOpt(opts []string, old, repl string) []string {
	out := make([]string, 0, len(opts))
	for _, o := range opts {
		if o == old {
			o = repl
		}
		out = append(out, o)
	}
	return out
}
