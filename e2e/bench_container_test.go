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
// target: ratio ≤ 1.5.
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
			rt, err := ociruntime.Detect(context.Background(), "", b.TempDir())
			if err != nil {
				b.Skipf("skipped: %v", err)
			}
			bin, ok := rt.(interface{ Binary() string })
			if !ok {
				b.Skipf("skipped: runtime %s has no binary", rt.Name())
			}
			rootfs := runtimetest.BusyboxRootfs(b)
			id := runtimetest.ID()
			svc := types.ServiceConfig{ContainerSpec: types.ContainerSpec{Command: types.ShellCommand{"true"}}}
			bundle := runtimetest.Bundle(b, rootfs, "bench-"+id[:8], id, svc)
			state := filepath.Join(b.TempDir(), "runc")
			runc := func() time.Duration {
				cmd := exec.Command(bin.Binary(), "--root", state, "run", "--bundle", bundle, id[:12])
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				start := time.Now()
				err := cmd.Run()
				d := time.Since(start)
				if err != nil {
					b.Fatalf("%s run: %v\n%s", rt.Name(), err, out.String())
				}
				return d
			}
			e.berth(b, args...) // pulls the image
			runc()
			var berth, base []time.Duration
			b.ResetTimer()
			for b.Loop() {
				berth = append(berth, e.berth(b, args...))
				base = append(base, runc())
			}
			b.ReportMetric(median(berth), "ms-berth")
			b.ReportMetric(median(base), "ms-"+rt.Name())
			b.ReportMetric(median(berth)/median(base), "ratio")
			b.Logf("berth %s: median %.1f ms; %s run of a prepared bundle (same seccomp profile): %.1f ms; ratio %.2f (target ≤ 1.5)",
				tc.name, median(berth), rt.Name(), median(base), median(berth)/median(base))
		})
	}
}
