#!/bin/sh
# install-deps.sh — install the host packages berth and its tests need, on Debian 12.
#
# Idempotent: installs only what is missing, runs `apt-get update` only when
# something must be installed, and prints one line per package it installs.
# Must run as root. Exits non-zero with a message saying what failed.
#
#   busybox-static  base of the test images (/bin/busybox)
#   runc, crun      OCI runtimes (berth probes whether crun works on the host)
#   nftables        nft, for looking at berth's table by hand
#   iproute2        ip, for looking at bridges, veths and netns by hand
#   util-linux      nsenter, unshare, mount
#   procps          ps, pgrep (tests and debugging)
#   etcd-server     etcd, the store kube-apiserver of the k8s test tier runs
#                   on (scripts/kube-assets.sh copies it into the assets dir)
set -eu

PACKAGES="busybox-static runc crun nftables iproute2 util-linux procps etcd-server"

die() {
	echo "install-deps: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (try: sudo $0)"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script supports Debian/Ubuntu only; install by hand: $PACKAGES"
command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian/Ubuntu only"

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

missing=""
for p in $PACKAGES; do
	installed "$p" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT

apt-get update -qq >"$log" 2>&1 || {
	cat "$log" >&2
	die "apt-get update failed (see above)"
}
for p in $missing; do
	apt-get install -y -qq --no-install-recommends "$p" >"$log" 2>&1 || {
		cat "$log" >&2
		die "apt-get install $p failed (see above)"
	}
	installed "$p" || die "$p still not installed after apt-get install"
	echo "install-deps: installed $p"
done
