package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Attacks on the state root (issue 11, items 4, 7 and 10): other local users
// reaching what containers put in volumes, names that leave the state root,
// and container names that collide across projects.

// berthUmask0 runs berth under `umask 000`, so that every mode berth leaves
// on what it creates is the one it set, not one the umask tightened.
func berthUmask0(t *testing.T, e *Env, env []string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), DefaultTimeout)
	defer cancel()
	cmd := e.Cmd(ctx, args...)
	cmd.Path = "/bin/sh"
	cmd.Args = append([]string{"sh", "-c", `umask 000; exec "$0" "$@"`, suite.berth}, args...)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run()
	return Result{Code: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: stderr.String()}
}

// openTestDirs makes the test's own temp dirs above the state root
// traversable by everyone (t.TempDir makes them 0700), so that only the
// modes berth sets stand between another user and the state.
func openTestDirs(t *testing.T, e *Env) {
	t.Helper()
	base := filepath.Dir(e.Root)
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// perm is a path's permission bits, failing the test if it is missing.
func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// assertPrivate fails unless others have no access at all to dir and its
// group cannot write or list it (the state root's 0710 or stricter).
func assertPrivate(t *testing.T, what, dir string) {
	t.Helper()
	if m := perm(t, dir); m&0o067 != 0 {
		t.Errorf("%s %s is mode %04o: others (or the group) can reach into it; want 0710 or stricter", what, dir, m)
	}
}

// asNobody runs a command as uid/gid 65534 with no supplementary groups.
// setpriv still holds root's capabilities when it calls execve (it keeps
// them to change ids), so a shell that has none does the execve.
func asNobody(ctx context.Context, args ...string) ([]byte, error) {
	full := append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--",
		"/bin/sh", "-c", `exec "$@"`, "sh"}, args...)
	return exec.CommandContext(ctx, "setpriv", full...).CombinedOutput()
}

// TestSecurityStateRootModes: a container plants a setuid-root busybox in a
// named volume; an unprivileged local user must not be able to reach, let
// alone run, it. The state root was made 0755 by the test (as an older
// berth, or an admin, may have left it), so berth must tighten it at start;
// berth runs under umask 000 throughout.
func TestSecurityStateRootModes(t *testing.T) {
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv (util-linux) is not installed")
	}
	e := NewEnv(t)
	openTestDirs(t, e)
	r := berthUmask0(t, e, nil, "volume", "create", e.Project+"-spare")
	if r.Code != 0 {
		t.Fatalf("volume create: %s", r)
	}
	if !strings.Contains(r.Stderr, e.Root) {
		t.Errorf("berth tightened (or not) the 0755 state root without saying so on stderr:\n%s", r)
	}
	assertPrivate(t, "state root", e.Root)
	assertPrivate(t, "volumes dir", filepath.Join(e.Root, "volumes"))
	if r := berthUmask0(t, e, nil, "volume", "ls"); strings.Contains(r.Stderr, e.Root) {
		t.Errorf("the notice about the state root's mode came again on the next command:\n%s", r)
	}

	e.Compose(t, `services:
  plant:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "cp /bin/busybox /data/id && chmod 4755 /data/id"]
    volumes: ["data:/data"]
volumes:
  data: {}
`)
	if r := berthUmask0(t, e, nil, "up", "-d"); r.Code != 0 {
		t.Fatalf("up: %s", r)
	}
	if p := waitExited(t, e, "plant", 30*time.Second); p.ExitCode != 0 {
		t.Fatalf("plant exited %d: %s", p.ExitCode, e.Berth(t, "logs", "plant").Stdout)
	}
	assertPrivate(t, "state root", e.Root)
	assertPrivate(t, "run dir", e.Run)
	if projects, err := os.ReadDir(filepath.Join(e.Run, "projects")); err == nil {
		for _, d := range projects {
			assertPrivate(t, "project run dir", filepath.Join(e.Run, "projects", d.Name()))
		}
	}

	// Named after an applet, busybox runs as that applet.
	suid := filepath.Join(volumeMountpoint(t, e, e.Project+"_data"), "id")
	fi, err := os.Stat(suid)
	if err != nil {
		t.Fatalf("the planted file is not in the volume: %v", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode()&os.ModeSetuid == 0 || st.Uid != 0 {
		t.Fatalf("the planted file is not setuid root (mode %v, uid %d): the test proves nothing", fi.Mode(), st.Uid)
	}
	out, err := asNobody(t.Context(), suid)
	if err == nil {
		t.Fatalf("an unprivileged user ran the container's setuid-root %s (id says: %s)", suid, out)
	}
	if !strings.Contains(string(out), "ermission denied") {
		t.Errorf("running %s as nobody failed, but not for want of permission: %v\n%s", suid, err, out)
	}
}

// TestSecurityStateRootFresh: every command that may be the first to touch
// a new state root creates it 0710 or stricter, even under umask 000.
func TestSecurityStateRootFresh(t *testing.T) {
	e := NewEnv(t)
	for i, args := range [][]string{
		{"volume", "create", "fresh-vol"},
		{"volume", "ls"},
		{"network", "ls"},
		{"images"},
		{"ls"},
		{"events", "--since", "2s", "--until", "1s"},
	} {
		root := filepath.Join(filepath.Dir(e.Root), fmt.Sprintf("fresh%d", i))
		r := berthUmask0(t, e, []string{"BERTH_ROOT=" + root}, args...)
		if _, err := os.Stat(root); err != nil {
			continue // this command made nothing
		}
		if m := perm(t, root); m&0o067 != 0 {
			t.Errorf("berth %s made the state root mode %04o under umask 000; want 0710 or stricter\n%s",
				strings.Join(args, " "), m, r)
		}
		if vols := filepath.Join(root, "volumes"); pathExists(vols) {
			assertPrivate(t, "volumes dir (berth "+strings.Join(args, " ")+")", vols)
		}
	}
}

func pathExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// volumeMountpoint is `volume inspect`'s Mountpoint.
func volumeMountpoint(t *testing.T, e *Env, name string) string {
	t.Helper()
	r := e.MustBerth(t, "volume", "inspect", name)
	var v []struct{ Mountpoint string }
	if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || len(v) != 1 {
		t.Fatalf("volume inspect %s: %v\n%s", name, err, r)
	}
	return v[0].Mountpoint
}

// TestSecurityNamesStayInRoot: names from the command line and from a
// compose file that would make a path outside the state root are refused
// where they enter, with an error naming the key and the file, and nothing
// is created outside the root.
func TestSecurityNamesStayInRoot(t *testing.T) {
	e := NewEnv(t)
	base := filepath.Dir(e.Root)
	escaped := func(name string) bool { return pathExists(filepath.Join(base, name)) }

	r := e.Berth(t, "volume", "create", "../../esc-cli")
	if r.Code == 0 || escaped("esc-cli") {
		t.Errorf("volume create ../../esc-cli was accepted: %s", r)
	}
	if r := e.Berth(t, "-p", "../esc-proj", "down"); r.Code == 0 || !strings.Contains(r.Stderr, "project name") {
		t.Errorf("-p ../esc-proj was accepted: %s", r)
	}
	e.WriteFile(t, "c.txt", "x\n")
	cases := []struct{ name, yaml, want string }{
		{"volume name", `services:
  a:
    image: busybox
    network_mode: none
    command: ["true"]
    volumes: ["v:/v"]
volumes:
  v: {name: ../../esc-vol}
`, "volumes.v.name"},
		{"container_name", `services:
  a: {image: busybox, network_mode: none, command: ["true"], container_name: ../../esc-ctr}
`, "container_name"},
		{"config key", `services:
  a: {image: busybox, network_mode: none, command: ["true"], configs: [".."]}
configs:
  "..": {file: ./c.txt}
`, "configs"},
		{"secret key", `services:
  a: {image: busybox, network_mode: none, command: ["true"], secrets: ["."]}
secrets:
  ".": {file: ./c.txt}
`, "secrets"},
	}
	for _, c := range cases {
		f := e.Compose(t, c.yaml)
		r := e.Berth(t, "up", "-d")
		if r.Code == 0 {
			t.Errorf("%s: up accepted it:\n%s", c.name, r)
			e.Berth(t, "down", "-v", "-t", "0")
			continue
		}
		if !strings.Contains(r.Stderr, c.want) || !strings.Contains(r.Stderr, f) {
			t.Errorf("%s: the error does not name %q and the file %s:\n%s", c.name, c.want, f, r)
		}
	}
	for _, n := range []string{"esc-vol", "esc-ctr"} {
		if escaped(n) {
			t.Errorf("%s was created outside the state root", n)
		}
	}
}

// TestSecurityContainerNameUnique: a container_name taken by another
// project's container is refused, naming the owner; the owner keeps
// running (so network_mode container:NAME can only mean one container).
func TestSecurityContainerNameUnique(t *testing.T) {
	e := NewEnv(t)
	shared := e.Project + "-shared"
	e.Compose(t, `services:
  web:
    image: busybox
    network_mode: none
    container_name: `+shared+`
    command: `+longRunning("up")+`
`)
	e.MustBerth(t, "up", "-d")
	other := e.Project + "-b"
	f := e.WriteFile(t, "b/compose.yaml", `services:
  thief:
    image: busybox
    network_mode: none
    container_name: `+shared+`
    command: `+longRunning("stolen")+`
`)
	r := e.Berth(t, "-p", other, "-f", f, "up", "-d")
	if r.Code == 0 {
		t.Fatalf("a second project took container name %s:\n%s", shared, r)
	}
	if !strings.Contains(r.Stderr, shared) || !strings.Contains(r.Stderr, e.Project) || !strings.Contains(r.Stderr, `"web"`) {
		t.Errorf("the error does not name the name, the owner project %s and its service web:\n%s", e.Project, r)
	}
	ps := mustPs(t, e, "-a")
	if len(ps) != 1 || ps[0].State != "running" || ps[0].Name != shared {
		t.Errorf("the owner's container is not running as %s: %+v", shared, ps)
	}
	if r := e.Berth(t, "-p", other, "ps", "-a", "-q"); strings.TrimSpace(r.Stdout) != "" {
		t.Errorf("the refused project left containers: %s", r)
	}
}
