// Package portmap is berth's one model of published ports: the value types
// (Spec: what a compose file or a -p flag asks; Binding: one concrete host
// port), the normalizer every port goes through once (NormalizeService,
// NormalizeExpose), the claim table keyed by host IP + port + protocol
// (Claims), the allocation of concrete ports (Allocator, with the host
// behind the Probe interface) and the one formatter that `ps`, `port` and
// `inspect` print with (Display, Binding.HostAddr, Binding.Key).
//
// It does no I/O and imports no berth package: the engine builds the claim
// table from its records and passes a host probe (network.HostProbe); the
// executor installs the rules (network/nft). Tests use a fake probe.
package portmap
