#!/bin/sh
# kube-assets.sh — build kube-apiserver and kubectl from tools/kube (the
# k8s.io/kubernetes module at $KUBE_VERSION) and gather them with Debian's
# etcd into a KUBEBUILDER_ASSETS directory for the k8s test tier:
#
#   ${BERTH_KUBE_ASSETS_CACHE:-/root/.cache/berth-kube}/$KUBE_VERSION/{kube-apiserver,kubectl,etcd}
#
# Only the first run on a machine pays (a cold build is 10–25 min on 2 cores);
# later runs find the directory and exit at once. The directory appears
# atomically: the binaries are built into a temporary sibling that is renamed
# into place, so an interrupted build leaves nothing half-made behind.
# Prints the assets directory on stdout.
set -eu

KUBE_VERSION=v1.37.2
GO=${GO:-go}
cache=${BERTH_KUBE_ASSETS_CACHE:-/root/.cache/berth-kube}
dest=$cache/$KUBE_VERSION
root=$(cd "$(dirname "$0")/.." && pwd)

die() {
	echo "kube-assets: $*" >&2
	exit 1
}

if [ -x "$dest/kube-apiserver" ] && [ -x "$dest/kubectl" ] && [ -x "$dest/etcd" ]; then
	echo "$dest"
	exit 0
fi

etcd=$(command -v etcd) || die "etcd not found: install Debian's etcd-server (scripts/install-deps.sh)"

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build-$KUBE_VERSION.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Without these the binaries report v0.0.0-master, which kubectl's version
# skew check and discovery clients print.
major=$(echo "$KUBE_VERSION" | sed 's/^v\([0-9]*\)\..*/\1/')
minor=$(echo "$KUBE_VERSION" | sed 's/^v[0-9]*\.\([0-9]*\)\..*/\1/')
ld=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ld="$ld -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
	ld="$ld -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

start=$(date +%s)
for cmd in kube-apiserver kubectl; do
	(cd "$root/tools/kube" && CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w $ld" \
		-o "$tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd") || die "go build $cmd failed"
done
cp "$etcd" "$tmp/etcd"
"$tmp/kube-apiserver" --version | grep -qx "Kubernetes $KUBE_VERSION" ||
	die "kube-apiserver reports $("$tmp/kube-apiserver" --version), want $KUBE_VERSION"
chmod 755 "$tmp"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "kube-assets: built $KUBE_VERSION in $(($(date +%s) - start))s" >&2
echo "$dest"
