package ociruntime

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// Linux device numbers: 12 bits of major, 20 of minor.
const (
	maxMajor = 1<<12 - 1
	maxMinor = 1<<20 - 1
)

// ParseDeviceCgroupRule parses one `device_cgroup_rules` entry, Docker's
// form `TYPE MAJOR:MINOR ACCESS`, strictly: TYPE is c, b or a; MAJOR and
// MINOR are decimal device numbers in the kernel's range or *; ACCESS is
// r, w and m, each at most once; fields are separated by one space. Type
// a (every device) must say *:*, so a rule never reads narrower than it is.
func ParseDeviceCgroupRule(rule string) (specs.LinuxDeviceCgroup, error) {
	bad := func(why string) (specs.LinuxDeviceCgroup, error) {
		return specs.LinuxDeviceCgroup{}, fmt.Errorf("%q: %s (want TYPE MAJOR:MINOR ACCESS, e.g. \"c 195:* rwm\")", rule, why)
	}
	f := strings.Split(rule, " ")
	if len(f) != 3 {
		return bad("three fields separated by single spaces")
	}
	typ := f[0]
	if typ != "c" && typ != "b" && typ != "a" {
		return bad("type must be c, b or a")
	}
	majS, minS, ok := strings.Cut(f[1], ":")
	if !ok {
		return bad("no MAJOR:MINOR")
	}
	num := func(s string, max int64) (*int64, error) {
		if s == "*" {
			return nil, nil
		}
		if s == "" || strings.Trim(s, "0123456789") != "" || len(s) > 7 {
			return nil, fmt.Errorf("%q is not a number or *", s)
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v > max {
			return nil, fmt.Errorf("%q is out of range (0-%d)", s, max)
		}
		return &v, nil
	}
	major, err := num(majS, maxMajor)
	if err != nil {
		return bad("major " + err.Error())
	}
	minor, err := num(minS, maxMinor)
	if err != nil {
		return bad("minor " + err.Error())
	}
	if typ == "a" && (major != nil || minor != nil) {
		return bad("type a covers every device: write a *:*")
	}
	if err := checkPermissions(f[2]); err != nil || f[2] == "" {
		return bad("access must be a combination of r, w, m, each once")
	}
	return specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: major, Minor: minor, Access: f[2]}, nil
}

// WithDeviceCgroupRules adds the service's `device_cgroup_rules` to the
// device cgroup allow list (after Docker's defaults, before devices).
func WithDeviceCgroupRules(rules []string) SpecOpt {
	return func(s *specs.Spec) error {
		for _, r := range rules {
			rule, err := ParseDeviceCgroupRule(r)
			if err != nil {
				return fmt.Errorf("device_cgroup_rules: %w", err)
			}
			res := ensureResources(s)
			res.Devices = append(res.Devices, rule)
		}
		return nil
	}
}
