package ociruntime

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultAppArmorProfile is the AppArmor profile berth confines
// containers with where the host has AppArmor (Docker's docker-default).
const DefaultAppArmorProfile = "berth-default"

// Host is the part of the host a container's confinement depends on:
// sysfs (whether AppArmor and SELinux are on, which AppArmor profiles are
// loaded, which CPUs exist) and how an AppArmor profile is loaded. Tests
// give a fake sysfs tree and loader; HostSystem is the real one.
type Host struct {
	// Sys is where sysfs is mounted ("/sys").
	Sys string
	// InContainer is true when berth itself runs in a container ($container
	// set): as moby, AppArmor is then not used.
	InContainer bool
	// AppArmorDir holds the system's AppArmor includes ("/etc/apparmor.d");
	// the profile includes tunables/global and abstractions/base from it
	// when present.
	AppArmorDir string
	// LoadAppArmor loads (or replaces) a profile given as text; nil when
	// apparmor_parser is missing, which, as for moby, means AppArmor is
	// not used.
	LoadAppArmor func(profile []byte) error

	mu sync.Mutex // one load of the default profile at a time
}

// HostSystem returns the running host.
var HostSystem = sync.OnceValue(func() *Host {
	h := &Host{Sys: "/sys", InContainer: os.Getenv("container") != "", AppArmorDir: "/etc/apparmor.d"}
	if parser := findAppArmorParser(); parser != "" {
		h.LoadAppArmor = func(profile []byte) error {
			// -K: do not cache, -r: replace a profile of the same name
			cmd := exec.Command(parser, "-Kr")
			cmd.Stdin = bytes.NewReader(profile)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %w: %s", parser, err, bytes.TrimSpace(out))
			}
			return nil
		}
	}
	return h
})

func findAppArmorParser() string {
	for _, p := range []string{"/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("apparmor_parser"); err == nil {
		return p
	}
	return ""
}

// AppArmorEnabled reports whether containers are confined by AppArmor on
// this host, by moby's test: securityfs shows AppArmor, the module's
// "enabled" parameter is Y, apparmor_parser exists, and berth does not
// itself run in a container.
func (h *Host) AppArmorEnabled() bool {
	if h.InContainer || h.LoadAppArmor == nil {
		return false
	}
	if _, err := os.Stat(filepath.Join(h.Sys, "kernel/security/apparmor")); err != nil {
		return false
	}
	b, err := os.ReadFile(filepath.Join(h.Sys, "module/apparmor/parameters/enabled"))
	return err == nil && len(b) > 0 && b[0] == 'Y'
}

// AppArmorLoaded reports whether a profile of that name is loaded (a line
// "NAME (MODE)" in securityfs's profiles list).
func (h *Host) AppArmorLoaded(name string) (bool, error) {
	f, err := os.Open(filepath.Join(h.Sys, "kernel/security/apparmor/profiles"))
	if err != nil {
		return false, fmt.Errorf("list AppArmor profiles: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.LastIndex(line, " ("); i >= 0 {
			line = line[:i]
		}
		if line == name {
			return true, nil
		}
	}
	return false, sc.Err()
}

// ensureDefaultAppArmor loads berth's default profile unless it is loaded.
// It is checked before every container, as moby does: package upgrades
// and the like unload profiles they do not know.
func (h *Host) ensureDefaultAppArmor() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	loaded, err := h.AppArmorLoaded(DefaultAppArmorProfile)
	if err != nil {
		return err
	}
	if loaded {
		return nil
	}
	if err := h.LoadAppArmor(h.defaultAppArmorProfile()); err != nil {
		return fmt.Errorf("AppArmor enabled on system but the %s profile could not be loaded: %w", DefaultAppArmorProfile, err)
	}
	return nil
}

// WithAppArmor confines the process as Docker does where the host has
// AppArmor: with profile when one is given (apparmor=NAME in
// security_opt; "unconfined" for none), else unconfined when privileged,
// else berth's default profile, loaded first when missing. A named profile
// must be loaded already: that is checked here so that the error names it,
// rather than runc failing at start. On a host without AppArmor nothing
// is set (moby ignores apparmor= there too); warn tells of an ignored
// profile name.
func WithAppArmor(h *Host, profile string, privileged bool, warn func(string)) SpecOpt {
	return func(s *specs.Spec) error {
		if !h.AppArmorEnabled() {
			if profile != "" && profile != "unconfined" && warn != nil {
				warn(fmt.Sprintf("security_opt apparmor=%s ignored: AppArmor is not enabled on this host", profile))
			}
			return nil
		}
		switch {
		case profile == "" && privileged:
			profile = "unconfined"
		case profile == "" || profile == DefaultAppArmorProfile:
			profile = DefaultAppArmorProfile
			if err := h.ensureDefaultAppArmor(); err != nil {
				return err
			}
		case profile != "unconfined":
			loaded, err := h.AppArmorLoaded(profile)
			if err != nil {
				return err
			}
			if !loaded {
				return fmt.Errorf("security_opt apparmor=%s: no AppArmor profile of that name is loaded (load it with apparmor_parser -r)", profile)
			}
		}
		ensureProcess(s).ApparmorProfile = profile
		return nil
	}
}

// defaultAppArmorProfile is the text of berth-default, written from the
// rules Docker documents for docker-default: everything a normal process
// may do (network, capabilities within the bounding set, files), but no
// mount, no writes to the kernel's tunables in /proc and /sys (cgroupfs
// and /proc/sys/kernel/shm* excepted), no access at all to kcore,
// sysrq-trigger, firmware, powercap (RAPL) and securityfs; signals and
// ptrace only among the profile's own processes and from the host.
func (h *Host) defaultAppArmorProfile() []byte {
	exists := func(rel string) bool {
		_, err := os.Stat(filepath.Join(h.AppArmorDir, rel))
		return err == nil
	}
	var b strings.Builder
	b.WriteString("# berth's default container profile, loaded by berth\n")
	// ABI 3.0 keeps "network," covering unix sockets under newer parsers.
	if exists("abi/3.0") {
		b.WriteString("abi <abi/3.0>,\n")
	}
	if exists("tunables/global") {
		b.WriteString("#include <tunables/global>\n")
	} else {
		b.WriteString("@{PROC}=/proc/\n")
	}
	name := strconv.Quote(DefaultAppArmorProfile)
	fmt.Fprintf(&b, "\nprofile %s flags=(attach_disconnected,mediate_deleted) {\n", name)
	if exists("abstractions/base") {
		b.WriteString("  #include <abstractions/base>\n\n")
	}
	for _, rule := range []string{
		"network,", "deny network alg,", "capability,", "file,", "umount,",
		"signal (receive) peer=unconfined,",
		"signal (receive) peer=runc,",
		"signal (receive) peer=crun,",
		"signal (send,receive) peer=" + name + ",",
		"ptrace (trace,read,tracedby,readby) peer=" + name + ",",
		"deny mount,",
		// /proc: no writes to its top-level files, nor below anything but
		// /proc/<pid> and /proc/sys; in /proc/sys only kernel/shm*.
		"deny @{PROC}/* w,",
		"deny @{PROC}/{[^1-9/],[^1-9/][^0-9/],[^1-9s/][^0-9y/][^0-9s/],[^1-9/][^0-9/][^0-9/][^0-9/]*}/** w,",
		"deny @{PROC}/sys/[^k]** w,",
		"deny @{PROC}/sys/kernel/{?,??,[^s][^h][^m]**} w,",
		"deny @{PROC}/sysrq-trigger rwklx,",
		"deny @{PROC}/kcore rwklx,",
		// /sys: read-only but for /sys/fs/cgroup.
		"deny /sys/[^f]*/** wklx,",
		"deny /sys/f[^s]*/** wklx,",
		"deny /sys/fs/[^c]*/** wklx,",
		"deny /sys/fs/c[^g]*/** wklx,",
		"deny /sys/fs/cg[^r]*/** wklx,",
		"deny /sys/firmware/** rwklx,",
		"deny /sys/devices/virtual/powercap/** rwklx,",
		"deny /sys/kernel/security/** rwklx,",
	} {
		b.WriteString("  " + rule + "\n")
	}
	b.WriteString("}\n")
	return []byte(b.String())
}
