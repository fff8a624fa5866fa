// Package runtimetest is the conformance suite every OCI runtime driver of
// engine/ociruntime passes (Run), and the helpers to make busybox bundles for
// tests and benchmarks.
//
// It imports engine/ociruntime and internal/testutil; nothing but tests import
// it.
package runtimetest
