package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/berth-dev/berth/internal/testimages"
)

// pushEnvImage pushes busybox with extra ENV entries under a name unique to
// the test, and returns its reference in the suite's registry.
func pushEnvImage(t *testing.T, e *Env, env ...string) string {
	t.Helper()
	base, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := *cf.Config.DeepCopy()
	cfg.Env = append(cfg.Env, env...)
	img, err := mutate.Config(base, cfg)
	if err != nil {
		t.Fatal(err)
	}
	name := e.Project + "-env:latest"
	if _, err := suite.registry.Push(t.Context(), name, img); err != nil {
		t.Fatalf("push %s: %v", name, err)
	}
	return e.Image(name)
}

// envOf parses `env` output into a map.
func envOf(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimRight(l, "\r"), "="); ok {
			m[k] = v
		}
	}
	return m
}

// TestEnvPrecedence: image ENV < env_file (in order) < environment, with
// values interpolated from .env and a bare KEY taken from the host.
func TestEnvPrecedence(t *testing.T) {
	e := NewEnv(t)
	ref := pushEnvImage(t, e, "IMG_ONLY=image", "FILE1=image", "FILE2=image", "BOTH=image", "ENVV=image")
	e.WriteFile(t, "a.env", "FILE1=a\nFILE2=a\nBOTH=a\nFROM_A=a\n")
	e.WriteFile(t, "b.env", "FILE2=b\nBOTH=b\n")
	e.WriteFile(t, ".env", "DOTENV_VAR=from-dotenv\n")
	e.ExtraEnv = append(e.ExtraEnv, "BERTH_E2E_HOSTVAR=from-host")
	e.Compose(t, `services:
  app:
    image: `+ref+`
    network_mode: none
    command: ["env"]
    env_file: [a.env, b.env]
    environment:
      ENVV: env
      BOTH: env
      INTERP: "x-${DOTENV_VAR}-y"
      DEFAULTED: "${BERTH_E2E_UNSET:-dflt}"
      BERTH_E2E_HOSTVAR:
`)
	want := map[string]string{
		"IMG_ONLY":          "image",
		"FILE1":             "a",
		"FROM_A":            "a",
		"FILE2":             "b",
		"BOTH":              "env",
		"ENVV":              "env",
		"INTERP":            "x-from-dotenv-y",
		"DEFAULTED":         "dflt",
		"BERTH_E2E_HOSTVAR": "from-host",
		"PATH":              strings.TrimPrefix(testimages.DefaultPath, "PATH="),
	}
	check := func(how, out string) {
		t.Helper()
		got := envOf(out)
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				t.Errorf("%s: %s=%q (set: %v), want %q\n%s", how, k, g, ok, v, out)
			}
		}
		if _, ok := got["DOTENV_VAR"]; ok {
			t.Errorf("%s: DOTENV_VAR is in the container's environment: .env only feeds interpolation\n%s", how, out)
		}
	}

	code, out := oneShot(t, e, "app")
	if code != 0 {
		t.Errorf("env exited %d, want 0:\n%s", code, out)
	}
	check("up (logs of env)", out)

	r := e.Berth(t, "run", "--rm", "-T", "app", "env")
	if r.Code != 0 {
		t.Errorf("run --rm app env: %s", r)
	} else {
		check("run --rm app env", r.Stdout)
	}
	r = e.Berth(t, "run", "--rm", "-T", "-e", "BOTH=cli", "app", "env")
	if got := envOf(r.Stdout)["BOTH"]; r.Code != 0 || got != "cli" {
		t.Errorf("run -e BOTH=cli: BOTH=%q, want cli (run -e beats environment)\n%s", got, r)
	}
}

// TestEnvBareKeyUnset: a bare KEY not set on the host is left out, not set
// empty, as Compose does.
func TestEnvBareKeyUnset(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  app:
    image: busybox
    network_mode: none
    command: ["env"]
    environment:
      - BERTH_E2E_NOT_SET_ANYWHERE
      - SET=yes
`)
	code, out := oneShot(t, e, "app")
	got := envOf(out)
	if code != 0 {
		t.Errorf("env exited %d, want 0:\n%s", code, out)
	}
	if got["SET"] != "yes" {
		t.Fatalf("env: SET=%q, want yes\n%s", got["SET"], out)
	}
	if v, ok := got["BERTH_E2E_NOT_SET_ANYWHERE"]; ok {
		t.Errorf("unset bare key is in the environment as %q, want it absent\n%s", v, out)
	}
}
