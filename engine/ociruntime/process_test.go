package ociruntime_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/engine/ociruntime"
)

// loadService loads a one-service compose file with compose-go, so that the
// tests see entrypoint and command exactly as berth will get them.
func loadService(t *testing.T, yaml string) types.ServiceConfig {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(dir, "compose.yaml")},
		cli.WithWorkingDirectory(dir), cli.WithName("p"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := p.GetService("s")
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestCommand(t *testing.T) {
	ep := []string{"/entry", "-x"}
	cmd := []string{"serve", "--port", "80"}
	tests := []struct {
		name          string
		imgEP, imgCmd []string
		service       string // lines under the service, YAML
		want          []string
		wantNoCommand bool
	}{
		{name: "image only", imgEP: ep, imgCmd: cmd, want: []string{"/entry", "-x", "serve", "--port", "80"}},
		{name: "image cmd only", imgCmd: cmd, want: cmd},
		{name: "command list replaces CMD", imgEP: ep, imgCmd: cmd, service: `command: ["a", "b c"]`,
			want: []string{"/entry", "-x", "a", "b c"}},
		{name: "command string is shell-split", imgEP: ep, imgCmd: cmd, service: `command: a "b c" 'd'`,
			want: []string{"/entry", "-x", "a", "b c", "d"}},
		{name: "command [] clears CMD", imgEP: ep, imgCmd: cmd, service: `command: []`, want: ep},
		{name: "command '' clears CMD", imgEP: ep, imgCmd: cmd, service: `command: ""`, want: ep},
		{name: "entrypoint resets CMD", imgEP: ep, imgCmd: cmd, service: `entrypoint: /other`, want: []string{"/other"}},
		{name: "entrypoint list resets CMD", imgCmd: cmd, service: `entrypoint: ["/bin/sh", "-c"]`, want: []string{"/bin/sh", "-c"}},
		{name: "entrypoint and command", imgEP: ep, imgCmd: cmd, service: "entrypoint: /other\n    command: x y",
			want: []string{"/other", "x", "y"}},
		{name: "entrypoint [] keeps image CMD (as the Docker engine)", imgEP: ep, imgCmd: cmd, service: `entrypoint: []`, want: cmd},
		{name: "entrypoint '' and command", imgEP: ep, imgCmd: cmd, service: "entrypoint: ''\n    command: [echo, hi]",
			want: []string{"echo", "hi"}},
		{name: "nothing at all", wantNoCommand: true},
		{name: "entrypoint [] and command []", imgEP: ep, imgCmd: cmd, service: "entrypoint: []\n    command: []", wantNoCommand: true},
		{name: "command [] with no entrypoint", imgCmd: cmd, service: "command: []", wantNoCommand: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc := loadService(t, "services:\n  s:\n    image: x\n    "+tc.service+"\n")
			got, err := ociruntime.Command(tc.imgEP, tc.imgCmd, svc.Entrypoint, svc.Command)
			if tc.wantNoCommand {
				if !errors.Is(err, ociruntime.ErrNoCommand) {
					t.Fatalf("got %q, %v; want ErrNoCommand", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMergeEnv(t *testing.T) {
	v := func(s string) *string { return &s }
	host := map[string]string{"FROM_HOST": "h"}
	lookup := func(k string) (string, bool) { s, ok := host[k]; return s, ok }
	got := ociruntime.MergeEnv(
		[]string{"PATH=/img/bin", "A=image", "B=image"},
		types.MappingWithEquals{"B": v("service"), "C": v(""), "FROM_HOST": nil, "MISSING": nil},
		lookup)
	want := []string{"PATH=/img/bin", "A=image", "B=service", "C=", "FROM_HOST=h"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := ociruntime.MergeEnv(nil, types.MappingWithEquals{"X": nil}, nil); len(got) != 0 {
		t.Errorf("bare KEY without host lookup: got %q, want dropped", got)
	}
	// An unresolved bare KEY removes the image's KEY, as Docker does.
	got = ociruntime.MergeEnv(
		[]string{"A=image", "GONE=image", "B=image"},
		types.MappingWithEquals{"GONE": nil, "B": v("service"), "NEW": v("n")},
		lookup)
	if want := []string{"A=image", "B=service", "NEW=n"}; !slices.Equal(got, want) {
		t.Errorf("unset bare KEY over the image's: got %q, want %q", got, want)
	}
}

func TestWithEnvDefaultsPathAndHostname(t *testing.T) {
	s, err := ociruntime.NewSpec(
		ociruntime.WithEnv([]string{"A=1"}, nil, nil),
		ociruntime.WithHostname("abc"),
		ociruntime.WithTerminal(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"PATH=" + ociruntime.DefaultPath, "A=1", "HOSTNAME=abc", "TERM=xterm"}
	if !slices.Equal(s.Process.Env, want) {
		t.Errorf("env %q, want %q", s.Process.Env, want)
	}
	if s.Hostname != "abc" || !s.Process.Terminal {
		t.Errorf("hostname %q terminal %v", s.Hostname, s.Process.Terminal)
	}
}

func TestWithWorkingDir(t *testing.T) {
	for _, tc := range []struct{ svc, img, want string }{
		{"", "", "/"}, {"", "/app", "/app"}, {"/srv", "/app", "/srv"}, {"", "app", "/app"}, {"/a/../b/", "", "/b"},
	} {
		s, err := ociruntime.NewSpec(ociruntime.WithWorkingDir(tc.svc, tc.img))
		if err != nil {
			t.Fatal(err)
		}
		if s.Process.Cwd != tc.want {
			t.Errorf("working_dir %q image %q: cwd %q, want %q", tc.svc, tc.img, s.Process.Cwd, tc.want)
		}
	}
	if _, err := ociruntime.NewSpec(ociruntime.WithWorkingDir("rel", "")); err == nil {
		t.Error("relative working_dir accepted")
	}
}

func TestWithInit(t *testing.T) {
	s, err := ociruntime.NewSpec(ociruntime.WithArgs("sleep", "1"), ociruntime.WithInit("/usr/bin/berth", "init", "--"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ociruntime.InitPath, "init", "--", "sleep", "1"}
	if !slices.Equal(s.Process.Args, want) {
		t.Errorf("args %q, want %q", s.Process.Args, want)
	}
	var m *specs.Mount
	for i := range s.Mounts {
		if s.Mounts[i].Destination == ociruntime.InitPath {
			m = &s.Mounts[i]
		}
	}
	if m == nil || m.Source != "/usr/bin/berth" || !slices.Contains(m.Options, "ro") || slices.Contains(m.Options, "noexec") {
		t.Errorf("init mount %+v", m)
	}
}

func TestWithStop(t *testing.T) {
	d := types.Duration(5e9)
	s, err := ociruntime.NewSpec(ociruntime.WithStop("", "SIGQUIT", &d))
	if err != nil {
		t.Fatal(err)
	}
	if s.Annotations[ociruntime.AnnotationStopSignal] != "SIGQUIT" || s.Annotations[ociruntime.AnnotationStopGracePeriod] != "5s" {
		t.Errorf("annotations %v", s.Annotations)
	}
	s, _ = ociruntime.NewSpec(ociruntime.WithStop("SIGINT", "SIGQUIT", nil))
	if s.Annotations[ociruntime.AnnotationStopSignal] != "SIGINT" {
		t.Errorf("service stop_signal lost: %v", s.Annotations)
	}
	s, _ = ociruntime.NewSpec(ociruntime.WithStop("", "", nil))
	if s.Annotations[ociruntime.AnnotationStopSignal] != "SIGTERM" {
		t.Errorf("default stop signal: %v", s.Annotations)
	}
}

func TestExecProcess(t *testing.T) {
	base := &specs.Process{Cwd: "/app", Env: []string{"A=1", "B=2"}, User: specs.User{UID: 5}}
	p := ociruntime.ExecProcess(base, []string{"ls"}, []string{"B=3", "C=4"}, "/tmp", true)
	if !slices.Equal(p.Env, []string{"A=1", "B=3", "C=4"}) || p.Cwd != "/tmp" || !p.Terminal || p.User.UID != 5 {
		t.Errorf("exec process %+v", p)
	}
	if !slices.Equal(base.Env, []string{"A=1", "B=2"}) {
		t.Errorf("base env changed: %q", base.Env)
	}
}

func TestShortID(t *testing.T) {
	if got := ociruntime.ShortID(strings.Repeat("ab", 32)); got != "abababababab" {
		t.Errorf("got %q", got)
	}
}
