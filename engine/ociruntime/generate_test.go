package ociruntime_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/engine/ociruntime"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func fakeRlimit(int) (unix.Rlimit, error) { return unix.Rlimit{Cur: 1024, Max: 4096}, nil }

func TestGenerateFull(t *testing.T) {
	rootfs := writeRootfs(t, "root:x:0:0:root:/root:/bin/sh\nweb:x:82:82::/var/www:/bin/sh\n", "root:x:0:\nwww-data:x:82:web\nlog:x:90:web\n")
	svc := loadService(t, `
services:
  s:
    image: example/web
    command: ["--port", "8080"]
    environment:
      MODE: prod
      FROM_HOST:
      NOT_ON_HOST:
    working_dir: /srv
    user: web
    group_add: [log]
    domainname: example.org
    tty: true
    stdin_open: true
    stop_signal: SIGQUIT
    stop_grace_period: 3s
    init: true
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    security_opt: [no-new-privileges:true]
    read_only: true
    tmpfs: [/tmp]
    shm_size: 128m
    ulimits:
      nofile: {soft: 2048, hard: 8192}
    sysctls:
      net.core.somaxconn: "1024"
    devices: ["/dev/null:/dev/xnull:rw"]
    pids_limit: 50
    mem_limit: 256m
    memswap_limit: 512m
    cpus: 0.5
`)
	img := &v1.ConfigFile{Config: v1.Config{
		Entrypoint: []string{"/bin/web"},
		Cmd:        []string{"--help"},
		Env:        []string{"PATH=/usr/bin:/bin", "MODE=dev", "LANG=C"},
		WorkingDir: "/app",
		StopSignal: "SIGTERM",
	}}
	s, warns, err := ociruntime.Generate(img, &svc, ociruntime.Container{
		ID: testID, Project: "proj", Rootfs: rootfs,
		NetNS:      "/run/berth/netns/x",
		LookupEnv:  func(k string) (string, bool) { return map[string]string{"FROM_HOST": "hostval"}[k], k == "FROM_HOST" },
		Mounts:     []specs.Mount{ociruntime.BindMount("/var/lib/berth/volumes/data", "/srv/data", false)},
		InitBinary: "/usr/bin/berth", InitArgs: []string{"init", "--"},
		HostsFile: "/run/berth/c/hosts", ResolvConf: "/run/berth/c/resolv.conf", HostnameFile: "/run/berth/c/hostname",
		Rlimit: fakeRlimit,
		Host:   &ociruntime.Host{Sys: t.TempDir()}, // no AppArmor, no per-CPU masks: the same spec on every host
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], `service "s": ulimits: nofile`) {
		t.Errorf("warnings %q, want one about nofile being lowered", warns)
	}
	if s.Linux.Seccomp == nil || len(s.Linux.Seccomp.Syscalls) == 0 {
		t.Fatal("no default seccomp profile")
	}
	s.Linux.Seccomp = nil // large and kernel-dependent: checked in TestDefaultSeccomp
	got, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = bytes.ReplaceAll(got, []byte(rootfs), []byte("ROOTFS"))
	golden := filepath.Join("testdata", "generate_full.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(bytes.TrimSpace(want)) != string(bytes.TrimSpace(got)) {
		t.Errorf("spec differs from %s (go test -update rewrites it after review); got:\n%s", golden, got)
	}
}

func TestGenerateDefaults(t *testing.T) {
	svc := types.ServiceConfig{Name: "s"}
	s, warns, err := ociruntime.Generate(&v1.ConfigFile{Config: v1.Config{Cmd: []string{"sh"}}}, &svc,
		ociruntime.Container{ID: testID, Project: "p", Rlimit: fakeRlimit})
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	if s.Hostname != "0123456789ab" || s.Linux.CgroupsPath != "/berth/p/"+testID || s.Root.Path != "rootfs" {
		t.Errorf("hostname %q cgroups %q root %q", s.Hostname, s.Linux.CgroupsPath, s.Root.Path)
	}
	if s.Linux.Seccomp == nil {
		t.Error("no seccomp by default")
	}
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace && n.Path != "" {
			t.Errorf("netns path %q, want a new one", n.Path)
		}
	}
	for _, mode := range []string{"seccomp=unconfined"} {
		svc.SecurityOpt = []string{mode}
		s, _, _ := ociruntime.Generate(&v1.ConfigFile{Config: v1.Config{Cmd: []string{"sh"}}}, &svc, ociruntime.Container{ID: testID})
		if s.Linux.Seccomp != nil {
			t.Errorf("%s kept seccomp", mode)
		}
	}
	svc.SecurityOpt = nil
	svc.Privileged = true
	s, _, _ = ociruntime.Generate(&v1.ConfigFile{Config: v1.Config{Cmd: []string{"sh"}}}, &svc, ociruntime.Container{ID: testID})
	if s.Linux.Seccomp != nil || len(s.Linux.MaskedPaths) != 0 {
		t.Error("privileged kept seccomp or masks")
	}
}

func TestGenerateHostNetwork(t *testing.T) {
	svc := types.ServiceConfig{Name: "s", ContainerSpec: types.ContainerSpec{NetworkMode: "host"}}
	s, _, err := ociruntime.Generate(&v1.ConfigFile{Config: v1.Config{Cmd: []string{"sh"}}}, &svc, ociruntime.Container{ID: testID, NetNS: "/ignored"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			t.Error("network_mode host kept a network namespace")
		}
	}
	if h, _ := os.Hostname(); s.Hostname != h {
		t.Errorf("hostname %q, want the host's %q", s.Hostname, h)
	}
}

func TestGenerateErrors(t *testing.T) {
	rootfs := writeRootfs(t, "root:x:0:0::/root:/bin/sh\n", "")
	img := &v1.ConfigFile{Config: v1.Config{Cmd: []string{"sh"}}}
	svc := types.ServiceConfig{Name: "x", ContainerSpec: types.ContainerSpec{User: "nosuchuser"}}
	_, _, err := ociruntime.Generate(img, &svc, ociruntime.Container{ID: testID, Rootfs: rootfs})
	if want := `service "x": user "nosuchuser": not found in the container's /etc/passwd`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	svc = types.ServiceConfig{Name: "x"}
	_, _, err = ociruntime.Generate(&v1.ConfigFile{}, &svc, ociruntime.Container{ID: testID})
	if want := `service "x": no command specified (image has no CMD or ENTRYPOINT)`; err == nil || err.Error() != want || !errors.Is(err, ociruntime.ErrNoCommand) {
		t.Errorf("error %v, want %q", err, want)
	}
	yes := true
	svc = types.ServiceConfig{Name: "x", ContainerSpec: types.ContainerSpec{Init: &yes}}
	if _, _, err = ociruntime.Generate(img, &svc, ociruntime.Container{ID: testID}); err == nil {
		t.Error("init: true without an init binary accepted")
	}
	svc = types.ServiceConfig{Name: "x", ContainerSpec: types.ContainerSpec{CapAdd: []string{"BOGUS"}}}
	if _, _, err = ociruntime.Generate(img, &svc, ociruntime.Container{ID: testID}); err == nil || !strings.Contains(err.Error(), `service "x": cap_add`) {
		t.Errorf("error %v", err)
	}
}

// TestGenerateIpc: ipc service:/container: joins the namespace file the
// caller found, shareable and private get a new one, host none at all.
func TestGenerateIpc(t *testing.T) {
	img := &v1.ConfigFile{Config: v1.Config{Cmd: []string{"sh"}}}
	for _, tc := range []struct {
		ipc, path string
		want      *specs.LinuxNamespace // nil: no IPC namespace in the spec
	}{
		{ipc: "", want: &specs.LinuxNamespace{Type: specs.IPCNamespace}},
		{ipc: "shareable", want: &specs.LinuxNamespace{Type: specs.IPCNamespace}},
		{ipc: "service:db", path: "/proc/42/ns/ipc", want: &specs.LinuxNamespace{Type: specs.IPCNamespace, Path: "/proc/42/ns/ipc"}},
		{ipc: "host", path: "/ignored"},
	} {
		svc := types.ServiceConfig{Name: "s", ContainerSpec: types.ContainerSpec{Ipc: tc.ipc}}
		s, _, err := ociruntime.Generate(img, &svc, ociruntime.Container{ID: testID, IpcNS: tc.path})
		if err != nil {
			t.Fatal(err)
		}
		var got *specs.LinuxNamespace
		for _, n := range s.Linux.Namespaces {
			if n.Type == specs.IPCNamespace {
				got = &n
			}
		}
		if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
			t.Errorf("ipc %q: IPC namespace %+v, want %+v", tc.ipc, got, tc.want)
		}
	}
}
