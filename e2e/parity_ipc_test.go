package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Compose: ipc_test.go TestIPC. Compose's fixture
// (pkg/e2e/fixtures/ipc-test/compose.yaml) was not in the reference index;
// it is rebuilt from the test's steps: a shareable service, one joining it
// with service:, one joining a container started outside the project.
// Beyond Compose, the test checks from the host that the joined
// containers' inits really are in the IPC namespace they name, and that a
// shareable one is not in the host's.
func TestParityComposeIPC(t *testing.T) {
	e := parityEnv(t, `services:
  service:
    image: busybox
    init: true
    command: sleep infinity
    ipc: service:shareable
  container:
    image: busybox
    init: true
    command: sleep infinity
    ipc: container:ipc_mode_container
  shareable:
    image: busybox
    init: true
    command: sleep infinity
    ipc: shareable
`)
	r := e.MustBerth(t, "container", "run", "-d", "--rm", "--ipc=shareable", "--name", "ipc_mode_container", "busybox", "top")
	cid := strings.TrimSpace(r.Stdout)
	defer e.Berth(t, "container", "rm", "-f", "ipc_mode_container")
	e.MustBerth(t, "up", "-d")
	wantStdout(t, e.MustBerth(t, "ps"), "ps", "shareable")
	wantStdout(t, e.MustBerth(t, "inspect", "shareable"), "inspect shareable", `"IpcMode": "shareable",`)
	wantStdout(t, e.MustBerth(t, "inspect", "service"), "inspect service", `"IpcMode": "container:`)
	wantStdout(t, e.MustBerth(t, "inspect", "container"), "inspect container", fmt.Sprintf(`"IpcMode": "container:%s",`, cid))

	ipcNS := func(args ...string) string {
		t.Helper()
		pid := strings.TrimSpace(e.MustBerth(t, append(args, "-f", "{{.State.Pid}}")...).Stdout)
		ns, err := os.Readlink("/proc/" + pid + "/ns/ipc")
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return ns
	}
	shareable, service := ipcNS("inspect", "shareable"), ipcNS("inspect", "service")
	external, container := ipcNS("container", "inspect", "ipc_mode_container"), ipcNS("inspect", "container")
	host, err := os.Readlink("/proc/self/ns/ipc")
	if err != nil {
		t.Fatal(err)
	}
	if service != shareable {
		t.Errorf("ipc: service:shareable is in %s, shareable in %s", service, shareable)
	}
	if container != external {
		t.Errorf("ipc: container:ipc_mode_container is in %s, the container in %s", container, external)
	}
	if shareable == host || external == host || shareable == external {
		t.Errorf("shareable namespaces not private: shareable %s, external %s, host %s", shareable, external, host)
	}
	// a target that is not running cannot be joined: the error names both
	e.MustBerth(t, "stop", "shareable")
	r = e.Berth(t, "up", "-d", "--no-deps", "--force-recreate", "service")
	wantCode(t, r, 1, "up of ipc: service:shareable with shareable stopped")
	wantOut(t, r, `service "service": ipc service:shareable: container`)
	wantOut(t, r, "is not running, so its IPC namespace cannot be joined")
	e.MustBerth(t, "down")
}
