// Package dns is the embedded resolver every berth container reaches at
// 127.0.0.11:53, served by the project's supervisor (docs/design.md decision 6).
//
// A Server answers A queries for the names a Resolver knows — service
// names, aliases, container names and hostnames, only on networks the
// asking container shares (Table is the resolver berth uses) — with the
// order of several answers rotated per query, an empty NOERROR for AAAA of
// a known name and a quick NXDOMAIN for unknown single-label names.
// Anything else is forwarded to upstream resolvers, with a timeout: the
// container's `dns:` entries when it has some (Docker's way: the container
// still points at 127.0.0.11), else the host's from /etc/resolv.conf.
// Loopback upstreams are skipped unless they are all the host has — the
// forwarder runs in the host's namespace, so they are reachable from it.
//
// ListenInNetns opens the UDP and TCP sockets inside a container's netns
// from a thread switched there only while the sockets are made; the
// sockets stay in that namespace and are served by the supervisor's
// goroutines like any other. ResolvConf and HostsFile write the
// container's /etc/resolv.conf and /etc/hosts.
//
// It imports no berth package and must import nothing under engine/
// (network/deps_test.go).
package dns
