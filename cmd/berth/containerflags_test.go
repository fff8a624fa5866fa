package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine"
)

// TestRunFlagsServiceErrors checks that each bad flag value is an error
// naming its flag, and that the first bad flag in docker's order wins.
func TestRunFlagsServiceErrors(t *testing.T) {
	tests := []struct {
		name string
		o    runFlags
		want string
	}{
		{"publish", runFlags{publish: []string{"x:y:z:w"}, env: []string{"=1"}}, `"-p, --publish" flag`},
		{"env name", runFlags{env: []string{"=1"}, volumes: []string{"/a"}}, `invalid argument "=1" for "-e, --env" flag: no variable name`},
		{"env file", runFlags{envFiles: []string{"/nonexistent/env"}}, "--env-file /nonexistent/env:"},
		{"volume no target", runFlags{volumes: []string{"named:"}}, `"-v, --volume" flag`},
		{"mount", runFlags{more: moreRunFlags{mounts: []string{"type=nfs,target=/x"}}}, `invalid argument "type=nfs,target=/x" for "--mount" flag: type "nfs"`},
		{"restart", runFlags{restart: "sometimes"}, `invalid argument "sometimes" for "--restart" flag`},
		{"restart and rm", runFlags{restart: "always", rm: true}, "conflicting options: --restart always and --rm"},
		{"ip not v4", runFlags{network: "n", ip: "::1"}, `invalid argument "::1" for "--ip" flag: not an IPv4 address`},
		{"ip default network", runFlags{ip: "10.0.0.2"}, "--ip needs --network NAME"},
		{"label no key", runFlags{labels: []string{"=v"}}, `invalid argument "=v" for "-l, --label" flag: no key`},
		{"label file", runFlags{labelFiles: []string{"/nonexistent/labels"}}, "--label-file /nonexistent/labels:"},
		{"platform", runFlags{platform: "linux"}, `invalid argument "linux" for "--platform" flag: want os/arch[/variant]`},
		{"gpus", runFlags{gpus: "count=0"}, `invalid argument "count=0" for "--gpus" flag: count "0"`},
		{"more flags last", runFlags{platform: "linux", more: moreRunFlags{memory: "lots"}}, `"--platform" flag`},
		{"more flags", runFlags{more: moreRunFlags{memory: "lots"}}, `invalid argument "lots" for "-m, --memory" flag`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			if o.restart == "" {
				o.restart = "no"
			}
			o.more.set = func(string) bool { return false }
			_, _, err := o.service([]string{"img"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRunFlagsNetworking(t *testing.T) {
	tests := []struct {
		network, ip      string
		wantMode, wantIP string
		wantNets         []string
	}{
		{"", "", "", "", nil},
		{"bridge", "", "", "", nil},
		{"default", "", "", "", nil},
		{"none", "", "none", "", nil},
		{"host", "", "host", "", nil},
		{"container:db", "", "container:db", "", nil},
		{"backend", "10.1.2.3", "", "10.1.2.3", []string{"backend"}},
	}
	for _, tt := range tests {
		o := runFlags{network: tt.network, ip: tt.ip, networkAliases: []string{"a"}, hostname: "h"}
		var svc types.ServiceConfig
		sopts := &engine.StandaloneOptions{}
		if err := o.networking(&svc, sopts); err != nil {
			t.Fatalf("--network %q: %v", tt.network, err)
		}
		if svc.NetworkMode != tt.wantMode || sopts.IP != tt.wantIP || !reflect.DeepEqual(sopts.Networks, tt.wantNets) {
			t.Errorf("--network %q --ip %q: mode %q ip %q networks %v", tt.network, tt.ip, svc.NetworkMode, sopts.IP, sopts.Networks)
		}
		if svc.Hostname != "h" || !reflect.DeepEqual(sopts.Aliases, []string{"a"}) {
			t.Errorf("--network %q: hostname %q aliases %v", tt.network, svc.Hostname, sopts.Aliases)
		}
	}
}

// TestRunFlagsEnvAndLabels checks the precedence: -e over --env-file,
// -l over --label-file, and a bare -e KEY left out when unset.
func TestRunFlagsEnvAndLabels(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	labelFile := filepath.Join(dir, "labels")
	if err := os.WriteFile(envFile, []byte("# c\nA=file\nB=file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(labelFile, []byte("x=file\ny=file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BERTH_TEST_SET", "caller")
	o := runFlags{
		envFiles: []string{envFile}, env: []string{"A=flag", "BERTH_TEST_SET", "BERTH_TEST_UNSET_XYZ"},
		labelFiles: []string{labelFile}, labels: []string{"x=flag"},
	}
	var svc types.ServiceConfig
	if err := o.environment(&svc, nil); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for k, v := range svc.Environment {
		got[k] = *v
	}
	want := map[string]string{"A": "flag", "B": "file", "BERTH_TEST_SET": "caller"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("environment = %v, want %v", got, want)
	}
	if err := o.labelSet(&svc, nil); err != nil {
		t.Fatal(err)
	}
	if want := (types.Labels{"x": "flag", "y": "file"}); !reflect.DeepEqual(svc.Labels, want) {
		t.Errorf("labels = %v, want %v", svc.Labels, want)
	}
}

func TestRunFlagsMounts(t *testing.T) {
	o := runFlags{
		volumes: []string{"data:/d", "./rel:/r:ro", "/abs:/a"},
		more:    moreRunFlags{mounts: []string{"type=volume,source=cache,target=/c", "type=bind,src=sub,dst=/s"}},
	}
	var svc types.ServiceConfig
	so := &engine.StandaloneOptions{}
	if err := o.mounts(&svc, so, "/work/dir"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range svc.Volumes {
		got = append(got, v.Type+" "+v.Source+" "+v.Target)
	}
	want := []string{"volume data /d", "bind /work/dir/rel /r", "bind /abs /a", "volume cache /c", "bind /work/dir/sub /s"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("volumes = %q, want %q", got, want)
	}
	if !reflect.DeepEqual(so.Volumes, []string{"data", "cache"}) {
		t.Errorf("named volumes = %v", so.Volumes)
	}
}

func TestRunFlagsProcess(t *testing.T) {
	o := runFlags{workdir: "/w", user: "1:2", init: true, stopTimeout: 7, stopTimeoutSet: true, platform: "linux/arm64/v8", stopSignal: "SIGINT"}
	var svc types.ServiceConfig
	if err := o.process(&svc, nil); err != nil {
		t.Fatal(err)
	}
	if svc.WorkingDir != "/w" || svc.User != "1:2" || svc.Init == nil || !*svc.Init || svc.Platform != "linux/arm64/v8" || svc.StopSignal != "SIGINT" {
		t.Errorf("process fields: %+v", svc)
	}
	if svc.StopGracePeriod == nil || time.Duration(*svc.StopGracePeriod) != 7*time.Second {
		t.Errorf("--stop-timeout 7: %v", svc.StopGracePeriod)
	}
	svc = types.ServiceConfig{}
	o.stopTimeoutSet = false
	if err := o.process(&svc, nil); err != nil || svc.StopGracePeriod != nil {
		t.Errorf("--stop-timeout unset: %v, %v", svc.StopGracePeriod, err)
	}
}

func TestMoreRunFlagsHealthcheck(t *testing.T) {
	setOf := func(names ...string) func(string) bool {
		return func(n string) bool {
			for _, x := range names {
				if x == n {
					return true
				}
			}
			return false
		}
	}
	d := func(x time.Duration) *types.Duration { v := types.Duration(x); return &v }
	three := uint64(3)
	tests := []struct {
		name    string
		m       moreRunFlags
		want    *types.HealthCheckConfig
		wantErr string
	}{
		{"none", moreRunFlags{set: setOf()}, nil, ""},
		{"disable", moreRunFlags{noHealthcheck: true, set: setOf()}, &types.HealthCheckConfig{Disable: true}, ""},
		{"cmd only", moreRunFlags{healthCmd: "true", set: setOf()}, &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD-SHELL", "true"}}, ""},
		{"given durations", moreRunFlags{healthInterval: time.Second, healthTimeout: 2 * time.Second, healthRetries: 3, set: setOf("health-interval", "health-retries")},
			&types.HealthCheckConfig{Interval: d(time.Second), Retries: &three}, ""},
		{"all durations", moreRunFlags{healthInterval: 1, healthTimeout: 2, healthStartPeriod: 3, healthStartIntv: 4, set: setOf("health-interval", "health-timeout", "health-start-period", "health-start-interval")},
			&types.HealthCheckConfig{Interval: d(1), Timeout: d(2), StartPeriod: d(3), StartInterval: d(4)}, ""},
		{"conflict", moreRunFlags{noHealthcheck: true, healthCmd: "true", set: setOf()}, nil, "--no-healthcheck conflicts with --health-* options"},
		{"negative duration", moreRunFlags{healthTimeout: -time.Second, set: setOf("health-timeout")}, nil, `invalid argument "-1s" for "--health-timeout" flag: must not be negative`},
		{"negative retries", moreRunFlags{healthRetries: -1, set: setOf("health-retries")}, nil, `invalid argument "-1" for "--health-retries" flag: must not be negative`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var svc types.ServiceConfig
			err := tt.m.healthcheck(&svc)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(svc.HealthCheck, tt.want) {
				t.Errorf("healthcheck = %+v, want %+v", svc.HealthCheck, tt.want)
			}
		})
	}
}

func TestMoreRunFlagsValues(t *testing.T) {
	m := moreRunFlags{
		memory: "64m", shmSize: "1g", cpus: 1.5,
		addHosts: []string{"a:1.2.3.4", "a=10.0.0.1", "b:5.6.7.8"}, dns: []string{"9.9.9.9"}, expose: []string{"80", "90-91"},
		ulimits: []string{"nofile=10:20", "nproc=5"}, devices: []string{"/dev/a", "/dev/b:/dev/c:r"},
		sysctls: []string{"net.x=1"}, secOpts: []string{"no-new-privileges"},
		set: func(string) bool { return false },
	}
	var svc types.ServiceConfig
	if err := m.apply(&svc); err != nil {
		t.Fatal(err)
	}
	if svc.MemLimit != 64<<20 || svc.ShmSize != 1<<30 || svc.CPUS != 1.5 {
		t.Errorf("resources: mem %d shm %d cpus %v", svc.MemLimit, svc.ShmSize, svc.CPUS)
	}
	if want := (types.HostsList{"a": {"1.2.3.4", "10.0.0.1"}, "b": {"5.6.7.8"}}); !reflect.DeepEqual(svc.ExtraHosts, want) {
		t.Errorf("extra hosts = %v", svc.ExtraHosts)
	}
	if !reflect.DeepEqual(svc.Expose, types.StringOrNumberList{"80", "90-91"}) || !reflect.DeepEqual(svc.DNS, types.StringList{"9.9.9.9"}) {
		t.Errorf("expose/dns: %v %v", svc.Expose, svc.DNS)
	}
	if u := svc.Ulimits["nofile"]; u == nil || u.Soft != 10 || u.Hard != 20 {
		t.Errorf("nofile ulimit: %+v", u)
	}
	if u := svc.Ulimits["nproc"]; u == nil || u.Soft != 5 || u.Hard != 5 {
		t.Errorf("nproc ulimit: %+v", u)
	}
	wantDev := []types.DeviceMapping{{Source: "/dev/a", Target: "/dev/a", Permissions: "rwm"}, {Source: "/dev/b", Target: "/dev/c", Permissions: "r"}}
	if !reflect.DeepEqual(svc.Devices, wantDev) {
		t.Errorf("devices = %+v", svc.Devices)
	}
	if svc.Sysctls["net.x"] != "1" || !reflect.DeepEqual(svc.SecurityOpt, []string{"no-new-privileges"}) {
		t.Errorf("sysctls/security-opt: %v %v", svc.Sysctls, svc.SecurityOpt)
	}
	var empty types.ServiceConfig
	if err := (&moreRunFlags{set: m.set}).apply(&empty); err != nil || empty.Expose != nil || empty.Ulimits != nil || empty.ExtraHosts != nil {
		t.Errorf("no flags should set nothing: %+v, %v", empty, err)
	}
}

func TestMoreRunFlagsErrors(t *testing.T) {
	tests := []struct {
		m    moreRunFlags
		want string
	}{
		{moreRunFlags{memory: "0"}, `invalid argument "0" for "-m, --memory" flag: want a size such as 64m`},
		{moreRunFlags{shmSize: "x"}, `invalid argument "x" for "--shm-size" flag: want a size such as 64m`},
		{moreRunFlags{cpus: -0.5}, `invalid argument "-0.5" for "--cpus" flag: must not be negative`},
		{moreRunFlags{addHosts: []string{"nohost"}}, `invalid argument "nohost" for "--add-host" flag: want HOST:IP`},
		{moreRunFlags{addHosts: []string{":1.2.3.4"}}, `invalid argument ":1.2.3.4" for "--add-host" flag: want HOST:IP`},
		{moreRunFlags{ulimits: []string{"nofile=a"}}, `invalid argument "nofile=a" for "--ulimit" flag: want NAME=SOFT[:HARD]`},
		{moreRunFlags{ulimits: []string{"nofile=1:b"}}, `invalid argument "nofile=1:b" for "--ulimit" flag: want NAME=SOFT[:HARD]`},
		{moreRunFlags{ulimits: []string{"=1"}}, `invalid argument "=1" for "--ulimit" flag: want NAME=SOFT[:HARD]`},
		{moreRunFlags{devices: []string{"a:b:c:d"}}, `invalid argument "a:b:c:d" for "--device" flag: want HOST[:CONTAINER[:PERMISSIONS]]`},
		{moreRunFlags{devices: []string{":b"}}, `invalid argument ":b" for "--device" flag: want HOST[:CONTAINER[:PERMISSIONS]]`},
		{moreRunFlags{sysctls: []string{"novalue"}}, `invalid argument "novalue" for "--sysctl" flag: want KEY=VALUE`},
		{moreRunFlags{memory: "0", sysctls: []string{"novalue"}}, `"-m, --memory" flag`},
	}
	for _, tt := range tests {
		m := tt.m
		m.set = func(string) bool { return false }
		var svc types.ServiceConfig
		if err := m.apply(&svc); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err = %v, want %s", tt.m, err, tt.want)
		}
	}
}
