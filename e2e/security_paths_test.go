package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Host paths berth derives from what a container controls are resolved
// beneath their root, at every use, without following a symlink (design
// decision 10; issue 11, item 1).

// hostCanary writes a canary file in a fresh host temp dir (outside the
// test's state root) and returns the dir, the file and its content.
func hostCanary(t *testing.T) (dir, file, content string) {
	t.Helper()
	dir = t.TempDir()
	file = filepath.Join(dir, "canary.txt")
	content = "host canary " + filepath.Base(dir) + "\n"
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, file, content
}

// checkHostCanary fails the test if the canary changed or gained a neighbour.
func checkHostCanary(t *testing.T, dir, file, content string) {
	t.Helper()
	if b, err := os.ReadFile(file); err != nil || string(b) != content {
		t.Errorf("host canary %s changed: %q, %v", file, b, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, en := range entries {
			names = append(names, en.Name())
		}
		t.Errorf("host canary dir %s gained entries: %v", dir, names)
	}
}

// TestSecuritySubpathSymlinkSwap: a container swaps its volume's subpath
// directory for a symlink to / and has itself restarted, by `berth
// restart` (a) and by its restart policy (b). The restarted container must
// not see the host's root at the subpath: the start either fails with an
// error naming the symlink, or mounts something else; the host is left
// as it was.
func TestSecuritySubpathSymlinkSwap(t *testing.T) {
	dir, file, content := hostCanary(t)
	e := NewEnv(t)
	e.Compose(t, `services:
  a:
    image: busybox
    network_mode: none
    command: ["sleep", "3600"]
    volumes:
      - data:/data
      - type: volume
        source: data
        target: /sub
        volume: {subpath: sub}
  b:
    image: busybox
    network_mode: none
    restart: always
    command:
      - sh
      - -c
      - |
        if [ ! -L /data/sub ]; then mv /data/sub /data/sub.old && ln -s / /data/sub && echo swapped; exit 1; fi
        echo pwned > /sub`+dir+`/evil
        cat /sub`+file+` || echo unreadable
        sleep 3600
    volumes:
      - datab:/data
      - type: volume
        source: datab
        target: /sub
        volume: {subpath: sub}
volumes:
  data: {}
  datab: {}
`)
	e.MustBerth(t, "up", "-d", "a")
	// The subpath works, and keeps working across a plain restart.
	e.MustBerth(t, "exec", "a", "sh", "-c", "echo mine > /sub/f")
	e.MustBerth(t, "restart", "a")
	if r := e.MustBerth(t, "exec", "a", "cat", "/data/sub/f", "/sub/f"); r.Stdout != "mine\nmine\n" {
		t.Fatalf("subpath content after a restart: %q", r.Stdout)
	}
	// A one-off `run` (attached: no supervisor) mounts it as well.
	if r := e.MustBerth(t, "run", "--rm", "a", "cat", "/sub/f"); !strings.Contains(r.Stdout, "mine") {
		t.Fatalf("run --rm a cat /sub/f: %s", r)
	}
	e.MustBerth(t, "exec", "a", "sh", "-c", "mv /data/sub /data/sub.old && ln -s / /data/sub")
	if r := e.Berth(t, "run", "--rm", "a", "cat", "/sub"+file); r.Code == 0 || strings.Contains(r.Stdout, content) {
		t.Errorf("run after the swap: %s", r)
	} else if !strings.Contains(r.Stderr, "is a symlink (not followed)") {
		t.Errorf("run after the swap failed without naming the symlink:\n%s", r)
	}
	r := e.Berth(t, "restart", "a")
	t.Logf("restart after the swap: %s", r)
	if r.Code != 0 {
		if !strings.Contains(r.Stderr, `service "a": volume "data": subpath "sub": is a symlink (not followed)`) {
			t.Errorf("restart after the swap failed without naming the symlink:\n%s", r)
		}
	} else {
		got := e.Berth(t, "exec", "a", "cat", "/sub"+file)
		if strings.Contains(got.Stdout, content) {
			t.Errorf("service a read the host's canary through the swapped subpath:\n%s", got)
		}
		e.Berth(t, "exec", "a", "sh", "-c", "echo pwned > /sub"+dir+"/evil")
	}

	// b swaps, exits 1, and its restart policy starts it again.
	e.MustBerth(t, "up", "-d", "b")
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		logs := e.Berth(t, "logs", "--no-log-prefix", "b").Stdout
		if strings.Contains(logs, content) || strings.Contains(logs, "unreadable") {
			break // the second incarnation ran
		}
		if ps := mustPs(t, e, "-a", "b"); len(ps) == 1 && ps[0].State == "exited" && strings.Contains(logs, "swapped") {
			break // the restart was refused
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("b after its swap: %+v", mustPs(t, e, "-a", "b"))
	if logs := e.Berth(t, "logs", "--no-log-prefix", "b").Stdout; strings.Contains(logs, content) {
		t.Errorf("service b read the host's canary after a policy restart:\n%s", logs)
	}
	checkHostCanary(t, dir, file, content)
}
