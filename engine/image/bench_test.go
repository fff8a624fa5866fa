package image

import (
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BenchmarkPullUnpack measures pull + unpack from a registry on 127.0.0.1
// into a fresh store on disk: a ~100 MB image of 5 random layers, and a
// second image sharing 4 of them with one already pulled (it should cost
// only its new layer; MB/s counts the new layer's bytes).
func BenchmarkPullUnpack(b *testing.B) {
	const layerSize = 20 << 20
	reg := newTestRegistry(b)
	var layers []v1.Layer
	for range 6 {
		l, err := random.Layer(layerSize, types.DockerLayer)
		if err != nil {
			b.Fatal(err)
		}
		layers = append(layers, l)
	}
	refA := reg.push(b, "bench/a:1", imageOf(b, layers[:5]...))
	refB := reg.push(b, "bench/b:1", imageOf(b, append(append([]v1.Layer{}, layers[:4]...), layers[5])...))

	freshStore := func(b *testing.B) (*Store, func()) {
		dir, err := os.MkdirTemp("", "berth-bench-")
		if err != nil {
			b.Fatal(err)
		}
		s, err := NewStore(filepath.Join(dir, "image"))
		if err != nil {
			b.Fatal(err)
		}
		return s, func() { os.RemoveAll(dir) }
	}

	b.Run("5x20MB", func(b *testing.B) {
		b.SetBytes(5 * layerSize)
		for b.Loop() {
			b.StopTimer()
			s, done := freshStore(b)
			b.StartTimer()
			if _, err := newTestPuller(s).Pull(b.Context(), refA, PullOptions{}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			done()
			b.StartTimer()
		}
	})
	b.Run("shared-4-of-5", func(b *testing.B) {
		b.SetBytes(layerSize)
		for b.Loop() {
			b.StopTimer()
			s, done := freshStore(b)
			if _, err := newTestPuller(s).Pull(b.Context(), refA, PullOptions{}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := newTestPuller(s).Pull(b.Context(), refB, PullOptions{}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			done()
			b.StartTimer()
		}
	})
}
