package e2e

import (
	"testing"
	"time"
)

// Compose: restart_test.go TestRestartWithProfiles. The indexed Compose
// fixture (restart-test/compose.yaml) predates its "test" service, so the
// service is rebuilt from the test's steps: a second copy of "restart" that
// only the "test" profile enables.
func TestParityComposeRestartWithProfiles(t *testing.T) {
	e := parityEnv(t, `services:
  restart:
    image: alpine
    init: true
    command: ash -c "if [[ -f /tmp/restart.lock ]] ; then sleep infinity; else touch /tmp/restart.lock; fi"
  test:
    profiles: [test]
    image: alpine
    init: true
    command: ash -c "if [[ -f /tmp/restart.lock ]] ; then sleep infinity; else touch /tmp/restart.lock; fi"
`)
	e.MustBerth(t, "--profile", "test", "up", "-d")
	before := expectWithin(t, e, 10*time.Second, ServiceState("test", "exited"))
	r := e.MustBerth(t, "restart", "test")
	if want := "Container " + e.Project + "-test-1 Started"; !progressLine(r.Stdout+r.Stderr, want) {
		t.Errorf("restart test: output lacks %q:\n%s", want, r)
	}
	expectWithin(t, e, 10*time.Second, ServiceState("test", "running"), NotRecreated(before, "test"))
}
