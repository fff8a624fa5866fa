// Package ipam hands out IPv4 subnets to berth networks and addresses to
// containers on them.
//
// Subnets come from a pool (10.89.0.0/16 cut in /24s by default) and skip
// any subnet that overlaps a host route — read afresh on every allocation,
// since Docker, podman and VPNs add routes behind berth's back — or another
// berth network. Allocations live in one JSON file under the state root,
// changed only under a cross-process flock, so two berth commands working
// on two projects at once get disjoint subnets.
//
// It imports internal/fsutil (lock, atomic JSON) only of berth's packages;
// it must import nothing under engine/ (network/deps_test.go).
package ipam
