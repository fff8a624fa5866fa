package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berth-dev/berth/internal/testregistry"
)

// BenchmarkPush: `berth image push` of a 5-layer ~100 MB image (5 × 20 MB
// of random bytes) to a fresh registry on 127.0.0.1, side by side with
// `crane push` (built from the go-containerregistry module berth uses) of
// the same image as a tarball. Both upload every blob; medians in ms.
func BenchmarkPush(b *testing.B) {
	e := newBenchEnv(b, "services: {}\n")
	tmp := b.TempDir()
	var layers []v1.Layer
	for range 5 {
		l, err := random.Layer(20<<20, types.DockerLayer)
		if err != nil {
			b.Fatal(err)
		}
		layers = append(layers, l)
	}
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		b.Fatal(err)
	}
	tarPath := filepath.Join(tmp, "bench.tar")
	tag, _ := name.NewTag("bench/push:1")
	if err := tarball.WriteToFile(tarPath, tag, img); err != nil {
		b.Fatal(err)
	}
	e.berth(b, "image", "load", "-i", tarPath)

	crane := filepath.Join(tmp, "crane")
	build := exec.CommandContext(b.Context(), "go", "build", "-o", crane, "github.com/google/go-containerregistry/cmd/crane")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build crane: %v\n%s", err, out)
	}

	fresh := func(b *testing.B) *testregistry.Registry {
		reg, err := testregistry.Start(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		return reg
	}
	var berthTimes, craneTimes []time.Duration
	for b.Loop() {
		reg := fresh(b)
		dst := reg.Addr() + "/bench/push:1"
		e.berth(b, "image", "tag", "bench/push:1", dst)
		berthTimes = append(berthTimes, e.berth(b, "image", "push", "-q", dst))
		reg.Close()

		reg = fresh(b)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, crane, "push", tarPath, reg.Addr()+"/bench/push:1")
		cmd.Env = e.env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		craneTimes = append(craneTimes, time.Since(start))
		cancel()
		reg.Close()
		if err != nil {
			b.Fatalf("crane push: %v\n%s", err, out.String())
		}
	}
	b.ReportMetric(median(berthTimes), "berth-push-ms")
	b.ReportMetric(median(craneTimes), "crane-push-ms")
	b.ReportMetric(0, "ns/op")
}
