package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

// TestUnknownCommands: a word that is no command (at the root or in a
// group) is an error with exit code 1 and cobra's suggestion, not the help
// with exit 0.
func TestUnknownCommands(t *testing.T) {
	t.Setenv("BERTH_ROOT", t.TempDir())
	t.Setenv("BERTH_RUN", t.TempDir())
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"foo"}, `unknown command "foo" for "berth"`},
		{[]string{"wacth"}, "\twatch\n"},
		{[]string{"lgos"}, "Did you mean this?\n\tlogs"},
		{[]string{"volume", "lss"}, `unknown command "lss" for "berth volume"` + "\n\nDid you mean this?\n\tls"},
		{[]string{"network", "frob"}, `unknown command "frob" for "berth network"`},
		{[]string{"up", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"help", "foo"}, `unknown command "foo" for "berth"`},
		{[]string{"--ansi", "sometimes", "version"}, `--ansi "sometimes"`},
		{[]string{"help", "volume", "lss"}, `unknown command "lss" for "berth volume"`},
	} {
		out, errs, code := berth(t, dir, c.args...)
		if code != 1 || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("berth %s: code %d stdout %q stderr %q; want 1 and %q", strings.Join(c.args, " "), code, out, errs, c.want)
		}
	}
	for _, args := range [][]string{nil, {"volume"}, {"image"}, {"help"}, {"help", "volume", "ls"}} {
		out, errs, code := berth(t, dir, args...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("berth %v: code %d stdout %q stderr %q; want the help", args, code, out, errs)
		}
	}
}

func TestResolveEnvFlags(t *testing.T) {
	env := map[string]string{"SET": "v", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got := resolveEnvFlags([]string{"A=1", "SET", "EMPTY", "UNSET", "B="}, lookup)
	if want := []string{"A=1", "SET=v", "EMPTY=", "B="}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEnvFromFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.env")
	os.WriteFile(a, []byte("FOO=file\nBAR=bar\nREF=${FOO}-x\n"), 0o644)
	got, err := envFromFiles([]string{"FOO=flag"}, []string{a})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"FOO=flag", "BAR=bar", "REF=flag-x"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q (-e wins, values see -e)", got, want)
	}
	if _, err := envFromFiles(nil, []string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing file: want an error")
	}
}

func TestPsStatusFilter(t *testing.T) {
	if got, err := psStatusFilter("status=running"); err != nil || !slices.Equal(got, []string{"running"}) {
		t.Errorf("status=running: %q %v", got, err)
	}
	if _, err := psStatusFilter("name=x"); err == nil || err.Error() != "unknown filter name" {
		t.Errorf("name=x: %v", err)
	}
	if _, err := psStatusFilter("status"); err == nil || !strings.Contains(err.Error(), "KEY=VAL") {
		t.Errorf("status: %v", err)
	}
}

func TestComposeEnv(t *testing.T) {
	p := &types.Project{Environment: types.Mapping{
		envRemoveOrphans: "True", envIgnoreOrphans: "0", envParallelLimit: "3",
	}}
	c := composeEnvOf(p)
	if !c.removeOrphans || c.ignoreOrphans || c.parallel != 3 || c.err != nil {
		t.Errorf("got %+v", c)
	}
	p.Environment[envParallelLimit] = "many"
	if c := composeEnvOf(p); c.err == nil {
		t.Error("COMPOSE_PARALLEL_LIMIT=many: want an error")
	}
	t.Setenv(envEnvFiles, "a.env,b.env")
	g := &globalOptions{}
	if got := g.projectOptions().EnvFiles; !slices.Equal(got, []string{"a.env", "b.env"}) {
		t.Errorf("COMPOSE_ENV_FILES: env files %q", got)
	}
	g.envFiles = []string{"c.env"}
	if got := g.projectOptions().EnvFiles; !slices.Equal(got, []string{"c.env"}) {
		t.Errorf("--env-file beats COMPOSE_ENV_FILES: %q", got)
	}
}

func TestParallelAndANSI(t *testing.T) {
	g := &globalOptions{}
	if n, _ := g.parallelLimit(composeEnv{parallel: 3}, 5); n != 3 {
		t.Errorf("COMPOSE_PARALLEL_LIMIT=3: %d", n)
	}
	g.parallel = 2
	if n, _ := g.parallelLimit(composeEnv{parallel: 3}, 5); n != 2 {
		t.Errorf("--parallel 2 beats the variable: %d", n)
	}
	g.parallel = -1
	if n, _ := g.parallelLimit(composeEnv{}, 5); n != 5 {
		t.Errorf("--parallel -1: %d, want one per service", n)
	}
	t.Setenv("NO_COLOR", "")
	t.Setenv(envANSI, "always")
	if !g.colorEnabledOn(&strings.Builder{}) {
		t.Error("COMPOSE_ANSI=always: no colour")
	}
	g.ansi = "never"
	if g.colorEnabledOn(&strings.Builder{}) {
		t.Error("--ansi never beats COMPOSE_ANSI=always")
	}
}

func TestProgressMode(t *testing.T) {
	g := &globalOptions{}
	t.Setenv(envProgress, "")
	if m := g.progressMode(); m != "auto" {
		t.Errorf("default: %q", m)
	}
	t.Setenv(envProgress, "quiet")
	if m := g.progressMode(); m != "quiet" {
		t.Errorf("COMPOSE_PROGRESS=quiet: %q", m)
	}
	g.progress = "plain"
	if m := g.progressMode(); m != "plain" {
		t.Errorf("--progress plain beats COMPOSE_PROGRESS: %q", m)
	}
}

func TestUpAttachSets(t *testing.T) {
	no := false
	web := types.ServiceConfig{Name: "web"}
	web.DependsOn = types.DependsOnConfig{"db": {Condition: "service_started", Required: true}}
	p := &types.Project{Services: types.Services{
		"web":   web,
		"db":    {Name: "db"},
		"quiet": {Name: "quiet", Attach: &no},
	}}
	keys := func(m map[string]bool) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		name              string
		services          []string
		o                 upOptions
		attached, watched []string
	}{
		{"all", nil, upOptions{}, []string{"db", "web"}, []string{"db", "web"}},
		{"named", []string{"web"}, upOptions{}, []string{"web"}, []string{"web"}},
		{"named with deps", []string{"web"}, upOptions{attachDeps: true}, []string{"db", "web"}, []string{"web"}},
		{"no-attach", nil, upOptions{noAttach: []string{"db"}}, []string{"web"}, []string{"web"}},
		{"attach", nil, upOptions{attach: []string{"quiet"}}, []string{"quiet"}, []string{"quiet"}},
	} {
		a, w, err := upAttachSets(p, c.services, c.o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(keys(a), c.attached) || !slices.Equal(keys(w), c.watched) {
			t.Errorf("%s: attached %v watched %v; want %v and %v", c.name, keys(a), keys(w), c.attached, c.watched)
		}
	}
	if _, _, err := upAttachSets(p, nil, upOptions{attach: []string{"nope"}}); err == nil {
		t.Error("--attach nope: want an error")
	}
}

func TestUpValidate(t *testing.T) {
	for _, c := range []struct {
		o   upOptions
		bad bool
	}{
		{upOptions{abortOnFail: true}, false},
		{upOptions{abortOnFail: true, abortOnExit: true}, true},
		{upOptions{abortOnFail: true, detach: true}, true},
		{upOptions{attach: []string{"a"}, attachDeps: true}, true},
		{upOptions{exitCodeFrom: "a", abortOnFail: true}, false},
		{upOptions{wait: true, attach: []string{"a"}}, true},
	} {
		o := c.o
		if err := o.validate(); (err != nil) != c.bad {
			t.Errorf("%+v: err %v, want error %v", c.o, err, c.bad)
		}
	}
	o := upOptions{exitCodeFrom: "a"}
	if o.validate(); !o.abortOnExit {
		t.Error("--exit-code-from implies --abort-on-container-exit")
	}
}

// TestComposeFileVariables: the COMPOSE_* variables compose-go reads work
// through berth (COMPOSE_FILE with COMPOSE_PATH_SEPARATOR,
// COMPOSE_DISABLE_ENV_FILE, COMPOSE_ENV_FILES).
func TestComposeFileVariables(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("services:\n  a: {image: \"busybox:${X:-none}\"}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("services:\n  b: {image: busybox}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".env"), []byte("X=dotenv\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "alt.env"), []byte("X=alt\n"), 0o644)
	t.Setenv("COMPOSE_FILE", "a.yaml;b.yaml")
	t.Setenv("COMPOSE_PATH_SEPARATOR", ";")
	if out, errs, code := berth(t, dir, "config", "--services"); code != 0 || out != "a\nb\n" {
		t.Errorf("COMPOSE_PATH_SEPARATOR: code %d out %q err %q", code, out, errs)
	}
	t.Setenv("COMPOSE_FILE", "a.yaml")
	if out, _, _ := berth(t, dir, "config", "--images"); out != "busybox:dotenv\n" {
		t.Errorf(".env: %q", out)
	}
	t.Setenv("COMPOSE_ENV_FILES", "alt.env")
	if out, _, _ := berth(t, dir, "config", "--images"); out != "busybox:alt\n" {
		t.Errorf("COMPOSE_ENV_FILES=alt.env: %q", out)
	}
	os.Unsetenv("COMPOSE_ENV_FILES")
	t.Setenv("COMPOSE_DISABLE_ENV_FILE", "1")
	if out, _, _ := berth(t, dir, "config", "--images"); out != "busybox:none\n" {
		t.Errorf("COMPOSE_DISABLE_ENV_FILE=1: %q", out)
	}
}

func TestDownImages(t *testing.T) {
	svc := func(name, img string, built bool) types.ServiceConfig {
		s := types.ServiceConfig{Name: name}
		s.Image = img
		if built {
			s.Build = &types.BuildConfig{Context: "."}
		}
		return s
	}
	p := &types.Project{Name: "proj", Services: types.Services{
		"built":  svc("built", "", true),
		"named":  svc("named", "reg/named:1", true),
		"pulled": svc("pulled", "busybox", false),
	}}
	if got := downImages(p, "local", nil); !slices.Equal(got, []string{"proj-built"}) {
		t.Errorf("local: %q", got)
	}
	if got := downImages(p, "all", nil); !slices.Equal(got, []string{"busybox", "proj-built", "reg/named:1"}) {
		t.Errorf("all: %q", got)
	}
	if got := downImages(p, "all", []string{"pulled"}); !slices.Equal(got, []string{"busybox"}) {
		t.Errorf("all, pulled only: %q", got)
	}
}
