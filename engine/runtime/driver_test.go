package runtime_test

import (
	"testing"

	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/engine/runtime/runtimetest"
	"github.com/berth-dev/berth/internal/testutil"
)

func driverFor(t *testing.T, name string) func(t *testing.T) runtime.Runtime {
	t.Helper()
	bin, err := runtime.LookupBinary(name)
	if err != nil {
		t.Skipf("skipped: %v", err)
	}
	return func(t *testing.T) runtime.Runtime {
		rt, err := runtime.NewCLI(t.TempDir(), bin)
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
}

func TestConformanceRunc(t *testing.T) {
	testutil.RequiresRoot(t)
	runtimetest.Run(t, driverFor(t, "runc"))
}

func TestConformanceCrun(t *testing.T) {
	testutil.RequiresRoot(t)
	bin, err := runtime.LookupBinary("crun")
	if err != nil {
		t.Skipf("skipped: %v", err)
	}
	if ok, err := runtime.ProbeCached(t.Context(), bin, t.TempDir()); !ok {
		t.Skipf("skipped: crun does not work on this host: %v", err)
	}
	runtimetest.Run(t, driverFor(t, "crun"))
}
