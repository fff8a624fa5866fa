// Package testimages builds the OCI images berth's tests and examples use,
// deterministically (fixed mtimes and timestamps, so digests are stable
// across runs on one host): a multi-layer busybox image made from Debian's
// busybox-static, and images adding one of the project's own small static
// test programs (progs/httpecho, progs/tcpecho, progs/logger) on top of it.
//
// The programs are compiled on first use with the go toolchain
// (CGO_ENABLED=0, -trimpath) into a cache directory keyed by a hash of their
// source, so a process builds each one at most once and later runs reuse it.
package testimages
