// Package testregistry runs an OCI registry (go-containerregistry's
// pkg/registry, in memory) on 127.0.0.1 for tests, benchmarks and examples,
// and pushes berth's test images (package testimages) to it.
//
// A short name such as "busybox:latest" is pushed both as
// 127.0.0.1:PORT/busybox:latest and as 127.0.0.1:PORT/library/busybox:latest,
// so the registry also serves as a docker.io mirror
// (BERTH_REGISTRY_MIRRORS=docker.io=127.0.0.1:PORT makes `image: busybox`
// resolve to it).
//
// It imports internal/testimages only; nothing but tests, benchmarks and
// examples import it.
package testregistry
