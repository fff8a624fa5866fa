package devices

import "testing"

// FakeNVIDIAHost is a fake host root with n GPUs, for the external tests.
func FakeNVIDIAHost(t *testing.T, n int) string {
	h := newFakeHost(t)
	h.nvidia(n, true)
	return h.root
}
