package build

import "testing"

// benchDockerfile is a small three-step busybox build.
const benchDockerfile = `FROM busybox
COPY a.txt /app/a.txt
RUN cat /app/a.txt > /app/b.txt
WORKDIR /app
`

func benchBuild(b *testing.B, noCache bool) {
	e := newEnv(b)
	dir := writeContext(b, map[string]string{"a.txt": "bench\n"})
	if _, err := e.b.Build(b.Context(), Options{ContextDir: dir, DockerfileInline: benchDockerfile}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.b.Build(b.Context(), Options{ContextDir: dir, DockerfileInline: benchDockerfile, NoCache: noCache, Tags: []string{"bench:latest"}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildCached is a build whose steps are all cache hits.
func BenchmarkBuildCached(b *testing.B) { benchBuild(b, false) }

// BenchmarkBuildCold runs every step (--no-cache), RUN in a container.
func BenchmarkBuildCold(b *testing.B) { benchBuild(b, true) }
