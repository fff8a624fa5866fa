package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// The host canary: a small tree outside every test's state root, made
// before the suite and checked after it. Attack tests aim their escapes at
// it (suite.canary, see CanaryPath): a symlink planted by a container, a
// `cp` through a swapped path, a volume subpath pointing out. If anything
// in it changed — a file written, a mode changed, an entry added or removed
// — berth wrote outside its roots, and the suite fails.

// canaryFiles is the canary's content: name → file content ("" with a
// trailing slash in the name: a directory).
var canaryFiles = map[string]string{
	"victim/":           "",
	"victim/passwd":     "root:x:0:0:canary:/root:/bin/sh\n",
	"victim/secret.txt": "the host's secret: nothing of berth may read or write this\n",
	"etc/":              "",
	"etc/hostname":      "canary-host\n",
	"readonly.txt":      "never changed\n",
}

// makeCanary writes the canary tree in a fresh temp dir and returns its
// path and a fingerprint of it.
func makeCanary() (string, map[string]string, error) {
	dir, err := os.MkdirTemp("", "berth-canary-")
	if err != nil {
		return "", nil, err
	}
	names := make([]string, 0, len(canaryFiles))
	for n := range canaryFiles {
		names = append(names, n)
	}
	sort.Strings(names) // parents before children
	for _, n := range names {
		p := filepath.Join(dir, n)
		if strings.HasSuffix(n, "/") {
			err = os.MkdirAll(p, 0o755)
		} else {
			err = os.WriteFile(p, []byte(canaryFiles[n]), 0o644)
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", nil, err
		}
	}
	fp, err := fingerprint(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, fp, nil
}

// fingerprint maps each path below dir (and dir itself, as ".") to its
// type, mode, owner and content hash (link target for a symlink). Symlinks
// are not followed.
func fingerprint(dir string) (map[string]string, error) {
	fp := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		desc := info.Mode().String()
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			desc += fmt.Sprintf(" %d:%d", st.Uid, st.Gid)
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(sum[:8])
		}
		fp[rel] = desc
		return nil
	})
	return fp, err
}

// checkCanary compares the canary tree with its fingerprint from before
// the suite; each difference is a leak line.
func checkCanary(dir string, before map[string]string) []string {
	after, err := fingerprint(dir)
	if err != nil {
		return []string{"canary check failed: " + err.Error()}
	}
	var out []string
	for p, was := range before {
		now, ok := after[p]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("canary: %s was removed (was %s)", filepath.Join(dir, p), was))
		case now != was:
			out = append(out, fmt.Sprintf("canary: %s changed: %s, was %s", filepath.Join(dir, p), now, was))
		}
	}
	for p, now := range after {
		if _, ok := before[p]; !ok {
			out = append(out, fmt.Sprintf("canary: %s appeared (%s)", filepath.Join(dir, p), now))
		}
	}
	sort.Strings(out)
	return out
}

// CanaryPath is a path in the host canary tree, for attack tests to aim
// at: after the suite, nothing in it may have changed.
func CanaryPath(rel string) string {
	return filepath.Join(suite.canary, rel)
}

// hostSysctls are the host-wide sysctls berth may touch; each must have
// its value from before the suite once every test's project is down.
var hostSysctls = []string{
	"net/ipv4/ip_forward",
	"net/ipv4/conf/all/forwarding",
	"net/ipv4/conf/all/route_localnet",
	"net/ipv4/conf/default/route_localnet",
	"net/ipv4/conf/lo/route_localnet",
	"net/bridge/bridge-nf-call-iptables",
	"net/bridge/bridge-nf-call-ip6tables",
	"net/ipv6/conf/all/forwarding",
	"fs/inotify/max_user_watches",
	"kernel/keys/maxkeys",
}

// snapshotSysctls reads hostSysctls (a missing one is left out).
func snapshotSysctls() map[string]string {
	out := map[string]string{}
	for _, k := range hostSysctls {
		if b, err := os.ReadFile("/proc/sys/" + k); err == nil {
			out[k] = strings.TrimSpace(string(b))
		}
	}
	return out
}

// checkSysctls lists the sysctls whose value differs from before.
func checkSysctls(before map[string]string) []string {
	after := snapshotSysctls()
	var out []string
	for k, was := range before {
		if now := after[k]; now != was {
			out = append(out, fmt.Sprintf("sysctl %s = %s, was %s before the suite", strings.ReplaceAll(k, "/", "."), now, was))
		}
	}
	sort.Strings(out)
	return out
}

// TestCanaryCheckFinds: the canary check reports a write through, a mode
// change, a new entry and a removal — and nothing on an untouched tree.
func TestCanaryCheckFinds(t *testing.T) {
	dir, before, err := makeCanary()
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if got := checkCanary(dir, before); len(got) != 0 {
		t.Fatalf("untouched canary reported: %v", got)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "victim/passwd"), []byte("evil\n"), 0o644))
	must(os.Chmod(filepath.Join(dir, "readonly.txt"), 0o4755))
	must(os.Symlink("/", filepath.Join(dir, "victim/evil")))
	must(os.Remove(filepath.Join(dir, "etc/hostname")))
	got := strings.Join(checkCanary(dir, before), "\n")
	for _, want := range []string{"victim/passwd changed", "readonly.txt changed", "victim/evil appeared", "etc/hostname was removed"} {
		if !strings.Contains(got, want) {
			t.Errorf("canary check missed %q in:\n%s", want, got)
		}
	}
}

// TestSysctlCheckFinds: a changed sysctl value is reported.
func TestSysctlCheckFinds(t *testing.T) {
	before := snapshotSysctls()
	if len(before) == 0 {
		t.Skip("no sysctl of the list is readable here")
	}
	for k := range before {
		before[k] = "not-" + before[k]
		break
	}
	if got := checkSysctls(before); len(got) != 1 || !strings.Contains(got[0], "before the suite") {
		t.Errorf("checkSysctls = %v, want one line for the changed value", got)
	}
}
