package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// `berth cp` attacked from inside the container (issue 11, items 2, 3 and
// the cp half of 14): nothing the container controls is followed on the
// host, special files are never opened as data, and the container side
// stays beneath the container's root.

// cpBox is a project of one long-running busybox service, "box".
func cpBox(t *testing.T) *Env {
	t.Helper()
	e := NewEnv(t)
	e.Compose(t, `services:
  box:
    image: busybox
    network_mode: none
    command: ["sleep", "3600"]
`)
	e.MustBerth(t, "up", "-d")
	return e
}

// sh runs a shell script in box.
func (e *Env) boxSh(t *testing.T, script string) string {
	t.Helper()
	return e.MustBerth(t, "exec", "-T", "box", "sh", "-c", script).Stdout
}

// TestSecurityCpPlantedSymlink: a first cp out creates out/data/x -> victim;
// the container then turns x into a directory with a file; the second,
// identical cp must replace the host symlink, never write through it.
func TestSecurityCpPlantedSymlink(t *testing.T) {
	e := cpBox(t)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.Mkdir(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(e.Dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	e.boxSh(t, "mkdir /data && ln -s "+victim+" /data/x")
	e.MustBerth(t, "cp", "box:/data", out)
	if l, err := os.Readlink(filepath.Join(out, "data", "x")); err != nil || l != victim {
		t.Fatalf("first cp: out/data/x = %q, %v; want a symlink to %s (copied as is)", l, err, victim)
	}
	e.boxSh(t, "rm /data/x && mkdir /data/x && echo pwned > /data/x/evil")
	e.Berth(t, "cp", "box:/data", out)
	if _, err := os.Lstat(filepath.Join(victim, "evil")); err == nil {
		t.Fatalf("second cp wrote %s/evil through the symlink it had made", victim)
	}
	fi, err := os.Lstat(filepath.Join(out, "data", "x"))
	if err != nil || !fi.IsDir() {
		t.Fatalf("second cp: out/data/x = %v, %v; want the directory that replaced the symlink", fi, err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "data", "x", "evil")); err != nil || string(b) != "pwned\n" {
		t.Errorf("second cp: out/data/x/evil = %q, %v; want \"pwned\\n\"", b, err)
	}
}

// TestSecurityCpDotfiles: copying the container's / keeps /.zz and /zz
// apart on the host.
func TestSecurityCpDotfiles(t *testing.T) {
	e := cpBox(t)
	e.boxSh(t, "echo dot > /.zz && echo plain > /zz")
	e.MustBerth(t, "stop", "-t", "0", "box")
	out := filepath.Join(e.Dir, "root")
	e.MustBerth(t, "cp", "box:/", out)
	for name, want := range map[string]string{".zz": "dot\n", "zz": "plain\n"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(b) != want {
			t.Errorf("out/%s = %q, %v; want %q", name, b, err, want)
		}
	}
}

// TestSecurityCpSpecialFiles: a char device (with /dev/null's numbers, so
// a write into it would silently lose the data) and a FIFO made in the
// container are never opened by cp, in either direction, and cp finishes.
func TestSecurityCpSpecialFiles(t *testing.T) {
	e := cpBox(t)
	e.Timeout = 20 * time.Second // a cp that opens the FIFO never returns
	e.boxSh(t, "mkdir /data && mknod /data/null c 1 3 && mkfifo /data/fifo")
	host := e.WriteFile(t, "hostfile", "precious\n")

	for _, dst := range []string{"box:/data/null", "box:/data/fifo"} {
		r := e.Berth(t, "cp", host, dst)
		if r.Code == 0 {
			t.Errorf("cp hostfile %s succeeded; want a refusal (a destination must be a directory or a regular file)", dst)
		} else if !strings.Contains(r.Stderr, "directory or a regular file") {
			t.Errorf("cp hostfile %s: %s\nwant an error that says the destination must be a directory or a regular file", dst, r)
		}
	}
	if got := e.boxSh(t, "[ -c /data/null ] && [ -p /data/fifo ] && echo kept"); strings.TrimSpace(got) != "kept" {
		t.Errorf("after the refused copies, /data/null and /data/fifo are no longer what they were: %q", got)
	}

	out := filepath.Join(e.Dir, "out")
	e.MustBerth(t, "cp", "box:/data", out)
	if fi, err := os.Lstat(filepath.Join(out, "fifo")); err != nil || fi.Mode().Type() != os.ModeNamedPipe {
		t.Errorf("cp out: out/fifo = %v, %v; want a FIFO recreated, not opened", fi, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(out, "null"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("cp out: out/null = mode %o rdev %d, %v; want char device 1:3 recreated", st.Mode, st.Rdev, err)
	} else if st.Mode&0o077 != 0 {
		t.Errorf("cp out: the device node the container chose is open to others on the host (mode %o)", st.Mode&0o777)
	}

	// A running container's / is walked without reading /proc or /sys
	// and without opening its devices.
	e.Timeout = DefaultTimeout
	e.MustBerth(t, "cp", "box:/", filepath.Join(e.Dir, "all"))
	if ents, err := os.ReadDir(filepath.Join(e.Dir, "all", "proc")); err != nil || len(ents) != 0 {
		t.Errorf("cp box:/ copied %d entries of /proc (%v); want /proc left empty", len(ents), err)
	}
}

// TestSecurityCpContainerSymlinks: symlinks in the container resolve
// against the container's root in both directions, as Docker's do: an
// absolute link never reaches the host.
func TestSecurityCpContainerSymlinks(t *testing.T) {
	e := cpBox(t)
	hostDir := t.TempDir()
	e.boxSh(t, "mkdir -p /data "+hostDir+" && echo inside > /data/target && ln -s /data/target /data/abs && ln -s "+hostDir+" /data/escape && ln -s ../../../../.. /data/up")
	host := e.WriteFile(t, "hostfile", "from host\n")

	e.MustBerth(t, "cp", host, "box:/data/escape/new")
	e.MustBerth(t, "cp", host, "box:/data/up/data/uptest")
	if _, err := os.Lstat(filepath.Join(hostDir, "new")); err == nil {
		t.Errorf("cp into box:/data/escape/new wrote %s/new on the host", hostDir)
	}
	got := e.boxSh(t, "cat "+hostDir+"/new /data/uptest")
	if got != "from host\nfrom host\n" {
		t.Errorf("in the container, %s/new and /data/uptest = %q; want the host file twice", hostDir, got)
	}

	out := filepath.Join(e.Dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	e.MustBerth(t, "cp", "box:/data/abs", filepath.Join(out, "link"))
	if l, err := os.Readlink(filepath.Join(out, "link")); err != nil || l != "/data/target" {
		t.Errorf("cp box:/data/abs: out/link = %q, %v; want the symlink copied as is", l, err)
	}
	e.MustBerth(t, "cp", "-L", "box:/data/abs", out)
	if b, err := os.ReadFile(filepath.Join(out, "abs")); err != nil || string(b) != "inside\n" {
		t.Errorf("cp -L box:/data/abs: out/abs = %q, %v; want the target's content under the link's name", b, err)
	}
}

// TestSecurityCpRecycledPid: a record whose PID is no longer the
// container's (here, a host process) must not send cp through that
// process's root.
func TestSecurityCpRecycledPid(t *testing.T) {
	e := cpBox(t)
	stray := exec.Command("sleep", "300")
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stray.Process.Kill(); _ = stray.Wait() })

	files, _ := filepath.Glob(filepath.Join(e.Root, "containers", "*", "state.json"))
	if len(files) != 1 {
		t.Fatalf("want one container state file, found %v", files)
	}
	orig, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.WriteFile(files[0], orig, 0o644) })
	var st map[string]any
	if err := json.Unmarshal(orig, &st); err != nil {
		t.Fatal(err)
	}
	st["pid"] = stray.Process.Pid
	b, _ := json.Marshal(st)
	if err := os.WriteFile(files[0], b, 0o644); err != nil {
		t.Fatal(err)
	}

	marker := filepath.Join(t.TempDir(), "host-only")
	if err := os.WriteFile(marker, []byte("host secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out := filepath.Join(e.Dir, "stolen")
	r := e.run(ctx, nil, "cp", "box:"+marker, out)
	if b, err := os.ReadFile(out); err == nil {
		t.Fatalf("cp went through the stray process's root and read the host's %s: %q\n%s", marker, b, r)
	}
	if r.Code == 0 || !strings.Contains(r.Stderr, "box") {
		t.Errorf("cp with a recycled PID: %s\nwant an error naming the container", r)
	}
}
