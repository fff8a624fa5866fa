// Package nft keeps berth's firewall rules in berth's own nftables table,
// `table ip berth`, and never flushes the ruleset or edits other tables'
// rules — with one documented exception below.
//
// Chains of `ip berth`:
//
//	loopback    filter, raw:   iifname != "lo" ip daddr 127.0.0.0/8 drop         — the loopback guard
//	prerouting  nat, dstnat:   fib daddr type local jump publish
//	output      nat, dstnat:   fib daddr type local jump publish (the host itself, 127.0.0.1 included)
//	publish     regular:       [ip daddr HOST_IP] tcp|udp dport P dnat to CIP:CP   — one rule per published port
//	postrouting nat, srcnat:   ip saddr SUBNET oifname != BR masquerade            — outbound NAT (not internal)
//	                           oifname BR ip saddr 127.0.0.0/8 masquerade          — 127.0.0.1:P → container
//	                           oifname BR ip saddr SUBNET ct status dnat masquerade — hairpin
//	forward     filter:        ct state established,related accept
//	                           oifname BR iifname != BR ct status != dnat drop     — isolation (other bridges, outside)
//	                           internal: iifname BR oifname != BR drop; oifname BR iifname != BR drop
//
// Per-network and per-container rules carry a comment "<table> net=<id>" or
// "<table> ctr=<id>"; removal lists the chains and deletes exactly those
// rules by handle, in one transaction. The forward chain holds only drops
// (plus the established accept), so rules of different networks never
// shadow each other. Cleanup deletes the table once nothing but its fixed
// rules is left. Creating the table is one transaction with NLM_F_EXCL:
// two processes racing do not duplicate the fixed rules.
//
// Docker coexistence. With br_netfilter on (bridge-nf-call-iptables=1)
// every bridged and routed packet of berth's passes the forward hook, where
// Docker's iptables-nft `table ip filter` chain FORWARD has policy drop.
// Every base chain at a hook sees the packet and a drop anywhere is final,
// so no rule in berth's own table can get past it; per-bridge
// nf_call_iptables=0 does not help either, since the global sysctl wins.
// So, like podman's netavark (which inserts a jump into that FORWARD chain),
// berth adds two rules per network there — `iifname BR accept` and
// `oifname BR accept`, tagged with its comment — in DOCKER-USER, the chain
// Docker reserves for its users and jumps to first, or at the top of
// FORWARD when there is no DOCKER-USER. Docker's own rules are never
// changed, and the rules are written with the expressions iptables-nft
// itself uses for -i/-o (NUL-terminated interface names, a counter) so
// iptables-nft still reads the table. berth's own forward chain still
// decides: its drops are final regardless of these accepts. Nothing is
// added when there is no such table or its FORWARD policy accepts.
// Docker's native nftables backend (29+) does not set a drop policy.
//
// The loopback guard. Publishing on 127.0.0.1 needs route_localnet=1 on
// each bridge (the DNATed packet leaves with source 127.0.0.1), which
// alone would let a container reach the host's 127.0.0.1-only services
// through its gateway; and DNAT in prerouting would let a neighbour that
// routes 127.0.0.1 to this host reach ports published on 127.0.0.1
// (CVE-2020-8558's class). The raw-priority chain drops every packet for
// 127.0.0.0/8 that did not arrive on lo, before conntrack — as Docker's
// raw PREROUTING rule does. It is a fixed rule of the table: it exists
// while any berth network does.
//
// AddNetwork also sets net.ipv4.ip_forward=1, as Docker does; when berth
// turned it on, Cleanup turns it off again with the table (forward.go).
// The other sysctl berth sets, route_localnet=1, is per bridge and goes
// with the bridge.
//
// It imports network/portmap only of berth's packages; it must import
// nothing under engine/ (network/deps_test.go).
package nft
