package testutil

import (
	"os"
	"testing"
)

// RequiresRoot skips the test, visibly, when not run as root: the root and
// e2e tiers touch mounts, namespaces, bridges and nftables.
func RequiresRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root (run `make test` as root for the root and e2e tiers)")
	}
}

// StateDirs gives the test its own berth state root and run dir, removed
// when the test ends, and exports them as BERTH_ROOT / BERTH_RUN for the
// duration of the test.
func StateDirs(t *testing.T) (root, run string) {
	t.Helper()
	base := t.TempDir()
	root = base + "/root"
	run = base + "/run"
	for _, d := range []string{root, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("BERTH_ROOT", root)
	t.Setenv("BERTH_RUN", run)
	return root, run
}
