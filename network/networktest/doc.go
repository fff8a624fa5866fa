// Package networktest holds in-memory stand-ins for the host side of
// container networking, for tests that need no root and touch no kernel:
// Host (a network.Host) and Firewall (the packet filter's calls, as the
// engine's Firewall interface asks them), both recording what they were
// asked; and TestHost, the conformance suite every network.Host passes —
// the fake always, network.Kernel when the tests run as root.
package networktest
