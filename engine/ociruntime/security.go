package ociruntime

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/profiles/seccomp"
	"github.com/moby/sys/capability"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// dockerCapabilities is Docker's default capability set.
var dockerCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// capName is a capability's name as the OCI spec and compose files spell
// it ("CAP_CHOWN").
func capName(c capability.Cap) string { return "CAP_" + strings.ToUpper(c.String()) }

// knownCapabilities are the capabilities moby/sys/capability knows, by
// number: the names cap_add and cap_drop accept (as Docker).
var knownCapabilities = func() []string {
	var out []string
	for _, c := range capability.ListKnown() {
		out = append(out, capName(c))
	}
	return out
}()

// DefaultCapabilities returns a copy of Docker's default capability set.
func DefaultCapabilities() []string { return slices.Clone(dockerCapabilities) }

// AllCapabilities returns every capability the running kernel supports
// (moby/sys/capability's ListSupported: the known ones up to
// /proc/sys/kernel/cap_last_cap; all known ones when that cannot be read)
// that is in berth's own bounding set: as Docker's privileged set, since
// the runtime cannot give a container a capability berth lacks (a sandbox
// without CAP_SYS_RESOURCE).
func AllCapabilities() []string {
	caps, err := capability.ListSupported()
	if err != nil {
		caps = capability.ListKnown()
	}
	self, err := capability.NewPid2(0)
	if err == nil {
		err = self.Load()
	}
	var out []string
	for _, c := range caps {
		if err == nil && !self.Get(capability.BOUNDING, c) {
			continue
		}
		out = append(out, capName(c))
	}
	return out
}

// defaultMaskedPaths and defaultReadonlyPaths are moby's fixed lists
// (daemon/pkg/oci/defaults.go); Host.MaskedPaths adds the per-CPU ones.
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
	if !slices.Contains(knownCapabilities, u) {
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
	// AppArmor is the profile apparmor= names: "" (berth's default),
	// "unconfined", or the name of a loaded profile (see WithAppArmor).
	AppArmor string
	// Labels are the label= values (SELinux; see CheckLabels).
	Labels []string
	// SystemPathsUnconfined (systempaths=unconfined) clears the masked and
	// read-only paths, as the Docker CLI does.
	SystemPathsUnconfined bool
	// WritableCgroups (writable-cgroups[=BOOL]) says whether /sys/fs/cgroup
	// is writable; nil: as privileged says.
	WritableCgroups *bool
}

// ParseSecurityOpts parses security_opt entries as dockerd (and, for
// systempaths, the docker CLI) do: no-new-privileges[=BOOL],
// seccomp=unconfined|FILE (relative to dir), apparmor=PROFILE,
// label=OPTION (or a bare "disable"), systempaths=unconfined and
// writable-cgroups[=BOOL]; "key:value" is the old spelling of
// "key=value". Anything else is an error naming the entry.
func ParseSecurityOpts(opts []string, dir string) (SecurityOpts, error) {
	var r SecurityOpts
	for _, o := range opts {
		switch o {
		case "no-new-privileges":
			r.NoNewPrivileges = true
			continue
		case "writable-cgroups":
			r.WritableCgroups = ptrTo(true)
			continue
		case "disable":
			r.Labels = append(r.Labels, "disable")
			continue
		}
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			k, v, ok = strings.Cut(o, ":")
		}
		if !ok {
			return r, fmt.Errorf("security_opt %q: unknown option (berth knows no-new-privileges, seccomp=, apparmor=, label=, systempaths=unconfined, writable-cgroups)", o)
		}
		if err := r.set(k, v); err != nil {
			return r, fmt.Errorf("security_opt %q: %w", o, err)
		}
	}
	if r.Seccomp != "" && r.Seccomp != "unconfined" && !filepath.IsAbs(r.Seccomp) && dir != "" {
		r.Seccomp = filepath.Join(dir, r.Seccomp)
	}
	return r, nil
}

// set applies one key=value entry of security_opt.
func (r *SecurityOpts) set(k, v string) error {
	switch k {
	case "no-new-privileges", "writable-cgroups":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("invalid value %q for %s (want true or false)", v, k)
		}
		if k == "no-new-privileges" {
			r.NoNewPrivileges = b
		} else {
			r.WritableCgroups = &b
		}
	case "seccomp", "apparmor", "label":
		if v == "" {
			return fmt.Errorf("%s needs a value", k)
		}
		switch k {
		case "seccomp":
			r.Seccomp = v
		case "apparmor":
			r.AppArmor = v
		default:
			r.Labels = append(r.Labels, v)
		}
	case "systempaths":
		if v != "unconfined" {
			return fmt.Errorf("invalid value %q for systempaths (only unconfined)", v)
		}
		r.SystemPathsUnconfined = true
	default:
		return fmt.Errorf("unknown option %q (berth knows no-new-privileges, seccomp, apparmor, label, systempaths, writable-cgroups)", k)
	}
	return nil
}

func ptrTo[T any](v T) *T { return &v }

// CheckLabels checks label= options against the host. Where SELinux is
// off (berth's only case so far) they are ignored, exactly as dockerd
// does: go-selinux's InitLabels returns no labels, and no error, when
// SELinux is disabled. Where SELinux is on, "disable" (run unlabelled) is
// what berth does anyway; any other label is refused, because berth does
// not apply SELinux labels and must not pretend to.
func CheckLabels(h *Host, labels []string) error {
	if len(labels) == 0 || !h.SELinuxEnabled() {
		return nil
	}
	for _, l := range labels {
		if l != "disable" {
			return fmt.Errorf("security_opt label=%s: berth does not apply SELinux labels (only label=disable is accepted on an SELinux host)", l)
		}
	}
	return nil
}

// SELinuxEnabled reports whether selinuxfs is mounted (as go-selinux tests it).
func (h *Host) SELinuxEnabled() bool {
	_, err := os.Stat(filepath.Join(h.Sys, "fs/selinux/enforce"))
	return err == nil
}

// MaskedPaths returns Docker's masked paths for this host: the fixed list
// and each possible CPU's thermal_throttle directory that exists (its
// interrupt counts leak activity across containers; moby
// GHSA-6fw5-f8r9-fgfm).
func (h *Host) MaskedPaths() []string {
	out := slices.Clone(defaultMaskedPaths)
	for _, cpu := range h.possibleCPUs() {
		rel := fmt.Sprintf("devices/system/cpu/cpu%d/thermal_throttle", cpu)
		if _, err := os.Stat(filepath.Join(h.Sys, rel)); err == nil {
			out = append(out, "/sys/"+rel)
		}
	}
	return out
}

// possibleCPUs reads sysfs's list of possible CPUs ("0-3,8-11"); when it
// cannot be read, the cpuN directories present are used.
func (h *Host) possibleCPUs() []int {
	b, err := os.ReadFile(filepath.Join(h.Sys, "devices/system/cpu/possible"))
	if err == nil {
		if cpus, ok := parseCPUList(strings.TrimSpace(string(b))); ok {
			return cpus
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(h.Sys, "devices/system/cpu/cpu[0-9]*"))
	var cpus []int
	for _, d := range dirs {
		if n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), "cpu")); err == nil {
			cpus = append(cpus, n)
		}
	}
	return cpus
}

// maxCPUs bounds a CPU list read from sysfs (the kernel's NR_CPUS limit).
const maxCPUs = 8192

// parseCPUList parses the kernel's CPU list format: "0", "0-3", "0-3,8-11".
func parseCPUList(s string) ([]int, bool) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, false
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b >= maxCPUs {
				return nil, false
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, len(out) > 0
}

// WithSystemPaths sets the masked and read-only paths: Docker's for host
// h, or none at all with systempaths=unconfined (as the docker CLI).
// Apply it before WithPrivileged, which clears them too.
func WithSystemPaths(h *Host, unconfined bool) SpecOpt {
	return func(s *specs.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if unconfined {
			s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
			return nil
		}
		s.Linux.MaskedPaths = h.MaskedPaths()
		s.Linux.ReadonlyPaths = slices.Clone(defaultReadonlyPaths)
		return nil
	}
}

// WithWritableCgroups makes the cgroup mount writable or read-only
// (writable-cgroups in security_opt, which wins over privileged's rw, as
// in dockerd): apply it after WithPrivileged.
func WithWritableCgroups(rw bool) SpecOpt {
	return func(s *specs.Spec) error {
		for i := range s.Mounts {
			if s.Mounts[i].Type != "cgroup" && s.Mounts[i].Destination != "/sys/fs/cgroup" {
				continue
			}
			if rw {
				s.Mounts[i].Options = replaceOpt(s.Mounts[i].Options, "ro", "rw")
			} else {
				s.Mounts[i].Options = replaceOpt(s.Mounts[i].Options, "rw", "ro")
			}
		}
		return nil
	}
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
