// Package e2e holds tests of the built berth binary.
//
// They run as root against real kernel features (namespaces, bridges,
// nftables, overlayfs); TestMain builds bin/berth. Tests talk to
// 127.0.0.1, to the containers they started and to the addresses they
// made. It drives the binary; of berth's packages it imports only test
// helpers (internal/testimages, internal/testregistry) and engine/devices
// (to know the host's GPUs).
package e2e
