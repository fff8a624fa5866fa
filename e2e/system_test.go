package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestInfo: `berth info` names the runtime with its version, the cgroup
// version, the storage root and the subnet pool, and says of each kernel
// feature berth uses whether it works here; --format json has the same.
func TestInfo(t *testing.T) {
	e := NewEnv(t)
	r := e.MustBerth(t, "info")
	for _, want := range []string{" Runtime: ", "  Version: ", " Cgroup Version: ", " Cgroup Driver: cgroupfs", "  Root: " + e.Root,
		" Subnet Pool: 10.89.0.0/16, /24 each", " Kernel Features:", "  overlayfs:", "  nftables:", "  network namespaces:"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, r.Stdout)
		}
	}
	// The suite itself runs containers on overlayfs with nftables here.
	for _, f := range []string{"overlayfs", "nftables", "network namespaces", "pidfd", "openat2"} {
		if !regexp.MustCompile(`(?m)^  ` + f + `:\s+yes\b`).MatchString(r.Stdout) {
			t.Errorf("feature %s should work on this host:\n%s", f, r.Stdout)
		}
	}
	e.WriteFile(t, "root/config.yaml", "network:\n  pool: 10.123.0.0/16\n  size: 26\n")
	e.ExtraEnv = append(e.ExtraEnv, "BERTH_ROOT="+filepath.Join(e.Dir, "root"))
	r = e.MustBerth(t, "info", "--format", "json")
	var in struct {
		Runtime, RuntimeVersion, CgroupVersion, SubnetPool string
		Features                                           []struct {
			Name  string
			Works bool
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &in); err != nil {
		t.Fatalf("info --format json: %v\n%s", err, r.Stdout)
	}
	if in.Runtime == "" || in.RuntimeVersion == "" || in.CgroupVersion == "" || len(in.Features) < 10 {
		t.Errorf("info json: %+v", in)
	}
	if in.SubnetPool != "10.123.0.0/16, /26 each" {
		t.Errorf("subnet pool from config.yaml: %q", in.SubnetPool)
	}
}

// dfTable parses `system df` into TYPE → [TOTAL, ACTIVE, SIZE, RECLAIMABLE].
func dfTable(t *testing.T, out string) map[string][]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !regexp.MustCompile(`^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$`).MatchString(lines[0]) {
		t.Fatalf("system df header: %q", lines[0])
	}
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := regexp.MustCompile(`\s{2,}`).Split(l, -1)
		if len(f) != 5 {
			t.Fatalf("system df line %q", l)
		}
		rows[f[0]] = f[1:]
	}
	return rows
}

// TestSystemDfPrune: df counts images, containers, volumes and build
// cache with Docker's columns; prune asks first and a "no" removes
// nothing; prune -f removes stopped containers and unused networks but
// not what a running container uses, nor tagged images; -a --volumes then
// removes unused images and anonymous volumes, still not what is in use
// nor named volumes.
func TestSystemDfPrune(t *testing.T) {
	e := NewEnv(t)
	e.Compose(t, `services:
  keep:
    image: busybox
    command: ["sleep", "1000"]
    init: true
    volumes: [named:/n, /anon-kept]
  done:
    image: busybox
    command: ["true"]
    volumes: [/anon-stopped]
volumes:
  named: {}
`)
	e.MustBerth(t, "up", "-d")
	Eventually(t, DefaultTimeout, func() error {
		r := e.MustBerth(t, "ps", "-a", "--status", "exited", "-q")
		if strings.TrimSpace(r.Stdout) == "" {
			return errString("done has not exited yet")
		}
		return nil
	})
	e.MustBerth(t, "image", "pull", "httpecho")
	e.MustBerth(t, "network", "create", "lonely-"+e.Project)

	df := dfTable(t, e.MustBerth(t, "system", "df").Stdout)
	if got := df["Images"][:2]; got[0] != "2" || got[1] != "1" {
		t.Errorf("Images total/active %v, want 2 1", got)
	}
	if got := df["Containers"][:2]; got[0] != "2" || got[1] != "1" {
		t.Errorf("Containers total/active %v, want 2 1", got)
	}
	if got := df["Local Volumes"][:2]; got[0] != "3" || got[1] != "3" {
		t.Errorf("Local Volumes total/active %v, want 3 3 (a stopped container still holds its volume)", got)
	}
	if _, ok := df["Build Cache"]; !ok {
		t.Error("no Build Cache row")
	}
	r := e.MustBerth(t, "system", "df", "--format", "json")
	if !strings.Contains(r.Stdout, `"Type":"Images"`) || !strings.Contains(r.Stdout, `"TotalCount":"2"`) {
		t.Errorf("system df --format json:\n%s", r.Stdout)
	}

	r = e.BerthStdin(t, "n\n", "system", "prune")
	if r.Code != 0 || !strings.Contains(r.Stdout, "WARNING! This will remove:") || strings.Contains(r.Stdout, "Deleted") {
		t.Errorf("prune answered no:\n%s", r)
	}
	if got := dfTable(t, e.MustBerth(t, "system", "df").Stdout)["Containers"][0]; got != "2" {
		t.Errorf("after a refused prune: %s containers", got)
	}

	r = e.MustBerth(t, "system", "prune", "-f")
	if !strings.Contains(r.Stdout, "Deleted Containers:") || !strings.Contains(r.Stdout, e.Project+"-done-1") ||
		strings.Contains(r.Stdout, e.Project+"-keep-1") || !strings.Contains(r.Stdout, "lonely-"+e.Project) ||
		strings.Contains(r.Stdout, e.Project+"_default") || !strings.Contains(r.Stdout, "Total reclaimed space:") {
		t.Errorf("system prune -f:\n%s", r)
	}
	if r := e.MustBerth(t, "ps", "--status", "running", "--services"); strings.TrimSpace(r.Stdout) != "keep" {
		t.Errorf("after prune, running: %q", r.Stdout)
	}
	if r := e.Berth(t, "image", "inspect", "httpecho"); r.Code != 0 {
		t.Errorf("prune without -a removed a tagged image:\n%s", r)
	}

	r = e.MustBerth(t, "system", "prune", "-a", "--volumes", "-f")
	if !strings.Contains(r.Stdout, "Deleted Images:") || !strings.Contains(r.Stdout, "untagged: httpecho:latest") || !strings.Contains(r.Stdout, "Deleted Volumes:") {
		t.Errorf("system prune -a --volumes -f:\n%s", r)
	}
	if r := e.Berth(t, "image", "inspect", "busybox"); r.Code != 0 {
		t.Errorf("prune -a removed the image a running container uses:\n%s", r)
	}
	vols := e.MustBerth(t, "volume", "ls", "-q").Stdout
	if !strings.Contains(vols, e.Project+"_named") || strings.Count(strings.TrimSpace(vols), "\n") != 1 {
		t.Errorf("volumes after prune --volumes: want the named one and the running container's anonymous one:\n%s", vols)
	}
	if r := e.MustBerth(t, "ps", "--status", "running", "--services"); strings.TrimSpace(r.Stdout) != "keep" {
		t.Errorf("after prune -a, running: %q", r.Stdout)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestCompletion: `berth completion bash|zsh|fish` prints cobra's
// scripts; the scripts' callback completes service names of the project,
// container and image names, networks and volumes of the store.
func TestCompletion(t *testing.T) {
	e := NewEnv(t)
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := e.MustBerth(t, "completion", sh)
		if !strings.Contains(r.Stdout, "__complete") || !strings.Contains(r.Stdout, "berth") {
			t.Errorf("completion %s: not a completion script:\n%.300s", sh, r.Stdout)
		}
	}
	if r := e.Berth(t, "completion"); r.Code == 0 || strings.Contains(r.Stdout, "Usage:") {
		t.Errorf("completion without a shell: want an error, not the help:\n%s", r)
	}
	// Nothing is up: completion reads the state and makes none.
	if r := e.MustBerth(t, "__complete", "image", "rm", ""); strings.TrimSpace(r.Stdout) != ":4" {
		t.Errorf("images of an empty store:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(e.Root, "image")); err == nil {
		t.Error("completion made the image store")
	}

	e.Compose(t, `services:
  web:
    image: busybox
    command: ["sleep", "1000"]
    init: true
    volumes: [data:/data]
  worker:
    image: busybox
    command: ["true"]
volumes:
  data: {}
`)
	e.MustBerth(t, "up", "-d", "web")
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"logs", ""}, []string{"web", "worker"}},
		{[]string{"up", "web", "w"}, []string{"worker"}},
		{[]string{"exec", "w"}, []string{"web", "worker"}},
		{[]string{"inspect", e.Project}, []string{e.Project + "-web-1"}},
		{[]string{"image", "rm", "bu"}, []string{"busybox:latest"}},
		{[]string{"network", "rm", ""}, []string{e.Project + "_default"}},
		{[]string{"volume", "inspect", ""}, []string{e.Project + "_data"}},
	}
	for _, c := range cases {
		r := e.MustBerth(t, append([]string{"__complete"}, c.args...)...)
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		got := lines[:len(lines)-1]
		for _, w := range c.want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				t.Errorf("berth %s<TAB>: %q lacks %q", strings.Join(c.args, " "), got, w)
			}
		}
	}
}
