package ociruntime_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/ociruntime/runtimetest"
	"github.com/berth-dev/berth/internal/testutil"
)

func benchRuntime(b *testing.B) ociruntime.Runtime {
	b.Helper()
	testutil.RequiresRoot(b)
	rt, err := ociruntime.Detect(b.Context(), "", b.TempDir())
	if err != nil {
		b.Skipf("skipped: %v", err)
	}
	b.Logf("runtime: %s", rt.Name())
	return rt
}

func benchService(seccomp bool, args ...string) types.ServiceConfig {
	svc := types.ServiceConfig{ContainerSpec: types.ContainerSpec{Command: args}}
	if !seccomp {
		svc.SecurityOpt = []string{"seccomp=unconfined"}
	}
	return svc
}

// BenchmarkRunTrue: `<runtime> run` of a prepared busybox bundle running
// `true`, the floor of `berth run --rm IMAGE true`.
func BenchmarkRunTrue(b *testing.B) {
	for _, tc := range []struct {
		name    string
		seccomp bool
	}{{"seccomp", true}, {"no-seccomp", false}} {
		b.Run(tc.name, func(b *testing.B) {
			rt := benchRuntime(b)
			rootfs := runtimetest.BusyboxRootfs(b)
			id := runtimetest.ID()
			bundle := runtimetest.Bundle(b, rootfs, "bench-"+id[:8], id, benchService(tc.seccomp, "true"))
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				code, err := rt.Run(ctx, id, bundle, ociruntime.Stdio{})
				if err != nil || code != 0 {
					b.Fatalf("run: code %d: %v", code, err)
				}
			}
		})
	}
}

// BenchmarkCreateStartKillDelete10: 10 × create, start, kill -9, reap,
// delete of prepared bundles, one after the other: what a bare OCI runtime
// takes for `up -d` + `down -t 0` of 10 services (issue 5's reference).
func BenchmarkCreateStartKillDelete10(b *testing.B) {
	for _, tc := range []struct {
		name    string
		seccomp bool
	}{{"seccomp", true}, {"no-seccomp", false}} {
		b.Run(tc.name, func(b *testing.B) {
			rt := benchRuntime(b)
			runtimetest.BecomeSubreaper(b)
			rootfs := runtimetest.BusyboxRootfs(b)
			project := "bench-" + runtimetest.ID()[:8]
			type ctr struct{ id, bundle string }
			var ctrs []ctr
			for range 10 {
				id := runtimetest.ID()
				ctrs = append(ctrs, ctr{id, runtimetest.Bundle(b, rootfs, project, id, benchService(tc.seccomp, "sleep", "30"))})
			}
			ctx := context.Background()
			b.Cleanup(func() {
				for _, c := range ctrs {
					_ = rt.Delete(ctx, c.id, true)
				}
			})
			b.ResetTimer()
			for b.Loop() {
				pids := make([]int, len(ctrs))
				for i, c := range ctrs {
					pid, err := rt.Create(ctx, c.id, c.bundle, ociruntime.CreateOpts{})
					if err != nil {
						b.Fatal(err)
					}
					pids[i] = pid
					if err := rt.Start(ctx, c.id); err != nil {
						b.Fatal(err)
					}
				}
				for i, c := range ctrs {
					if err := rt.Kill(ctx, c.id, syscall.SIGKILL, false); err != nil {
						b.Fatal(err)
					}
					if _, err := runtimetest.Wait(pids[i], 10*time.Second); err != nil {
						b.Fatal(err)
					}
					if err := rt.Delete(ctx, c.id, false); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
