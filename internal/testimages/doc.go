// Package testimages builds the OCI images berth's tests and examples use,
// deterministically (fixed mtimes and timestamps, so digests are stable
// across runs on one host): a multi-layer busybox image made from Debian's
// busybox-static, and images adding one of the project's own small static
// test programs (progs/httpecho, progs/tcpecho, progs/logger) on top of it.
//
// The programs are compiled on first use with the go toolchain
// (CGO_ENABLED=0, -trimpath) into a cache directory keyed by a hash of their
// source, so a process builds each one at most once and later runs reuse it.
//
// Golang (golang:local, not part of Standard) is busybox plus the host's Go
// toolchain, pruned, with a build cache pre-warmed for the standard
// packages a web app imports: the base image that examples and e2e tests
// compile Go programs in, offline. Its one big layer is uncompressed and
// kept in the same cache directory, keyed by the Go version.
//
// It imports no berth package; nothing but tests, benchmarks and examples
// import it.
package testimages
