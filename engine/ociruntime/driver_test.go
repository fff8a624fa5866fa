package ociruntime_test

import (
	"testing"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/ociruntime/runtimetest"
	"github.com/berth-dev/berth/internal/testutil"
)

func driverFor(t *testing.T, name string) func(t *testing.T) ociruntime.Runtime {
	t.Helper()
	bin, err := ociruntime.LookupBinary(name)
	if err != nil {
		t.Skipf("skipped: %v", err)
	}
	return func(t *testing.T) ociruntime.Runtime {
		rt, err := ociruntime.NewCLI(t.TempDir(), bin)
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
	bin, err := ociruntime.LookupBinary("crun")
	if err != nil {
		t.Skipf("skipped: %v", err)
	}
	if ok, err := ociruntime.ProbeCached(t.Context(), bin, t.TempDir()); !ok {
		t.Skipf("skipped: crun does not work on this host: %v", err)
	}
	runtimetest.Run(t, driverFor(t, "crun"))
}
