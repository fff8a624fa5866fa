// Package network owns bridges, veths, network namespaces, IPAM, nftables
// NAT/DNAT rules, embedded DNS answers and hosts files (docs/design.md
// decisions 5 and 6). It takes names and addresses; the engine decides
// them and keeps the Compose-level records (`<project>_<name>`, labels).
//
//   - network: EnsureBridge/DeleteBridge (`br-<12 hex>` from BridgeName,
//     gateway address, up, route_localnet=1 — made safe by nft's loopback
//     guard; each bridge berth creates carries the alias `berth:<network
//     ID>`, and an interface without that mark is never adopted, changed
//     or deleted: ErrForeignLink); CreateNetns/DeleteNetns (a
//     netns bind-mounted on a file under the run dir, loopback up, made on
//     a locked thread that is switched back or discarded — the file is what
//     runc gets as linux.namespaces[net].path); Attach/Detach (a veth whose
//     container end is created directly inside the netns under its final
//     name, configured through a netlink handle bound to the netns, so no
//     goroutine changes namespace); HostProbe, the host side of port
//     allocation (binds a port briefly, names the process holding it from
//     /proc), and EphemeralRange.
//   - network.Host: the kernel side above (namespaces, bridges, veths, the
//     host's routes, the host network lock) as one injected interface;
//     Kernel is the real one. network/networktest holds in-memory fakes
//     (Host, Firewall) and TestHost, the conformance suite both pass.
//   - network/portmap: the one model of published ports (value types,
//     normalizer, claim table, allocation, formatter); no I/O.
//   - network/ipam: subnets and addresses, persisted under a flock.
//   - network/nft: berth's nftables table (masquerade, DNAT, isolation).
//   - network/dns: the embedded resolver, resolv.conf and hosts files.
//
// Everything here is safe to call for many containers in parallel.
//
// It imports network/portmap of berth's packages; it and its subpackages
// must import nothing under engine/ (network/deps_test.go).
package network
