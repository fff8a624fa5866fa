package ociruntime

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestApplyMemory(t *testing.T) {
	p := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		name     string
		r        Resources
		hostSwap bool
		want     *specs.LinuxMemory // nil: none set
		err      string
		asked    bool // hostSwap was asked
	}{
		{name: "none"},
		{name: "limit, host swap: 2x", r: Resources{Memory: 100}, hostSwap: true, want: &specs.LinuxMemory{Limit: p(100), Swap: p(200)}, asked: true},
		{name: "limit, no host swap", r: Resources{Memory: 100}, want: &specs.LinuxMemory{Limit: p(100)}, asked: true},
		{name: "limit and swap", r: Resources{Memory: 100, MemorySwap: 150}, hostSwap: true, want: &specs.LinuxMemory{Limit: p(100), Swap: p(150)}},
		{name: "unlimited swap", r: Resources{Memory: 100, MemorySwap: -1}, want: &specs.LinuxMemory{Limit: p(100), Swap: p(-1)}},
		{name: "swap below limit", r: Resources{Memory: 100, MemorySwap: 50}, err: "memswap_limit (50) must be at least mem_limit (100)"},
		{name: "swap without limit", r: Resources{MemorySwap: 50}, err: "memswap_limit needs mem_limit"},
		{name: "negative", r: Resources{MemoryReserve: -1}, err: "negative size"},
		{name: "reservation only", r: Resources{MemoryReserve: 10}, want: &specs.LinuxMemory{Reservation: p(10)}},
		{name: "swappiness out of range", r: Resources{MemSwappiness: 101}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := &specs.LinuxResources{}
			asked := false
			err := applyMemory(res, tc.r, func() bool { asked = true; return tc.hostSwap })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("applyMemory = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.Memory, tc.want) {
				t.Errorf("memory = %+v, want %+v", res.Memory, tc.want)
			}
			if asked != tc.asked {
				t.Errorf("host swap asked: %v, want %v", asked, tc.asked)
			}
		})
	}
}

func TestApplyCPU(t *testing.T) {
	res := &specs.LinuxResources{}
	if err := applyCPU(res, Resources{}); err != nil || res.CPU != nil {
		t.Fatalf("nothing asked: %+v, %v", res.CPU, err)
	}
	if err := applyCPU(res, Resources{CPUs: -1}); err == nil || !strings.Contains(err.Error(), "cpus: negative") {
		t.Fatalf("negative cpus: %v", err)
	}
	res = &specs.LinuxResources{}
	if err := applyCPU(res, Resources{CPUs: 0.5, CPUPeriod: 50000}); err != nil {
		t.Fatal(err)
	}
	if *res.CPU.Period != 50000 || *res.CPU.Quota != 50000 {
		t.Errorf("cpu_period over cpus: period %d quota %d", *res.CPU.Period, *res.CPU.Quota)
	}
}

func TestHostnameOf(t *testing.T) {
	id := strings.Repeat("ab", 32)
	host, err := os.Hostname()
	if err != nil {
		t.Skip(err)
	}
	for _, tc := range []struct {
		hostname string
		hostNet  bool
		want     string
	}{
		{hostname: "web", hostNet: true, want: "web"},
		{want: ShortID(id)},
		{hostNet: true, want: host},
	} {
		var svc types.ServiceConfig
		svc.Hostname = tc.hostname
		if got := hostnameOf(&svc, id, tc.hostNet); got != tc.want {
			t.Errorf("hostnameOf(%q, host net %v) = %q, want %q", tc.hostname, tc.hostNet, got, tc.want)
		}
	}
}

func TestEtcMounts(t *testing.T) {
	if m := etcMounts(Container{}); m != nil {
		t.Errorf("none made: %+v", m)
	}
	m := etcMounts(Container{HostsFile: "/r/hosts", HostnameFile: "/r/hostname"})
	if len(m) != 2 || m[0].Destination != "/etc/hosts" || m[0].Source != "/r/hosts" || m[1].Destination != "/etc/hostname" {
		t.Errorf("mounts %+v", m)
	}
}

func TestSeccompOpt(t *testing.T) {
	for _, tc := range []struct {
		privileged bool
		profile    string
		want       bool // a seccomp profile in the spec
	}{
		{want: true},
		{profile: "unconfined"},
		{privileged: true, profile: "x.json"},
	} {
		s, err := NewSpec(seccompOpt(tc.privileged, tc.profile))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Linux.Seccomp != nil; got != tc.want {
			t.Errorf("privileged %v, profile %q: seccomp set %v, want %v", tc.privileged, tc.profile, got, tc.want)
		}
	}
}
