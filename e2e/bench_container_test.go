package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/berth-dev/berth/engine/ociruntime"
	"github.com/berth-dev/berth/engine/ociruntime/runtimetest"
)

// BenchmarkContainerRunRm: `berth container run --rm busybox true` (on
// the default bridge, as `docker run --rm busybox true`; and with
// --network none) against `runc run` of a prepared busybox bundle whose
// spec berth generated (Docker's seccomp profile, as berth applies it),
// interleaved in one loop so that both see the same load. Issue 15's
// target: ratio ≤ 1.5. When berth's runtime is another one (crun where it
// works), a run of the same bundle by that runtime, as berth starts it,
// is timed in the loop too (ratio-own: berth's overhead over its runtime).
func BenchmarkContainerRunRm(b *testing.B) {
	for _, tc := range []struct{ name, network string }{
		{"default-bridge", ""},
		{"network-none", "none"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newBenchEnv(b, "services: {}\n")
			args := []string{"container", "run", "--rm"}
			if tc.network != "" {
				args = append(args, "--network", tc.network)
			}
			args = append(args, "busybox", "true")
			runcBin, err := ociruntime.LookupBinary("runc")
			if err != nil {
				b.Skipf("skipped: %v", err)
			}
			own, err := ociruntime.Detect(context.Background(), "", b.TempDir())
			if err != nil {
				b.Skipf("skipped: %v", err)
			}
			rootfs := runtimetest.BusyboxRootfs(b)
			id := runtimetest.ID()
			svc := types.ServiceConfig{ContainerSpec: types.ContainerSpec{Command: types.ShellCommand{"true"}}}
			bundle := runtimetest.Bundle(b, rootfs, "bench-"+id[:8], id, svc)
			state := filepath.Join(b.TempDir(), "runc")
			runc := func() time.Duration {
				cmd := exec.Command(runcBin, "--root", state, "run", "--bundle", bundle, id[:12])
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				start := time.Now()
				err := cmd.Run()
				d := time.Since(start)
				if err != nil {
					b.Fatalf("runc run: %v\n%s", err, out.String())
				}
				return d
			}
			ownRun := func() time.Duration {
				start := time.Now()
				code, err := own.Run(context.Background(), id[:12], bundle, ociruntime.Stdio{})
				d := time.Since(start)
				if err != nil || code != 0 {
					b.Fatalf("%s run: exit %d, %v", own.Name(), code, err)
				}
				return d
			}
			timeOwn := own.Name() != "runc"
			e.berth(b, args...) // pulls the image, makes the default bridge
			runc()
			if timeOwn {
				ownRun()
			}
			var berth, base, ownBase []time.Duration
			b.ResetTimer()
			for b.Loop() {
				berth = append(berth, e.berth(b, args...))
				base = append(base, runc())
				if timeOwn {
					ownBase = append(ownBase, ownRun())
				}
			}
			b.ReportMetric(median(berth), "ms-berth")
			b.ReportMetric(median(base), "ms-runc")
			b.ReportMetric(median(berth)/median(base), "ratio")
			b.Logf("berth %s (runtime %s): median %.1f ms; runc run of a prepared bundle (same seccomp profile): %.1f ms; ratio %.2f (target ≤ 1.5)",
				tc.name, own.Name(), median(berth), median(base), median(berth)/median(base))
			if timeOwn {
				b.ReportMetric(median(ownBase), "ms-"+own.Name())
				b.ReportMetric(median(berth)/median(ownBase), "ratio-own")
				b.Logf("  %s run of the same bundle, as berth starts it: %.1f ms; berth/%s %.2f",
					own.Name(), median(ownBase), own.Name(), median(berth)/median(ownBase))
			}
		})
	}
}
