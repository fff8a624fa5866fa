// Package network owns bridges, veths, network namespaces, IPAM, nftables NAT/DNAT rules, embedded DNS answers and hosts files.
package network
