#!/usr/bin/env bash
# gpu-check.sh — the prepared check of berth's GPU support, for a machine
# with an NVIDIA GPU and driver (the project's device machine: cgroup v2
# only, no runc, no apt, no network). Not run by `make test`; as of its
# writing it has never run on a GPU (no session had a GPU machine). It was
# rehearsed on a hybrid-cgroup machine without one, on a fake driver root
# (BERTH_NVIDIA_DRIVER_ROOT=DIR with mknod'ed nodes, a linker cache, and a
# static fake nvidia-smi): PASS — which proves the script and the generated
# spec's plumbing, not the real driver's libraries under a glibc-less image.
#
# Prepare on the build machine, in the repository root:
#
#   make build                                   # bin/berth, static
#   cp "$(command -v runc)" bin/runc             # or build runc as FIELD-NOTES says
#   go run ./cmd/berth-testregistry --save /tmp/berth-images
#   mkdir -p bin/gpu && cp /tmp/berth-images/busybox.tar bin/gpu/
#
# then carry bin/ to the GPU machine and run, as root, from the repository
# root:  bash scripts/gpu-check.sh
# (with the device tool: carry ["bin"], command "bash scripts/gpu-check.sh").
#
# What it checks, in order (each step prints what it runs; the first
# failure stops it, and everything it made is taken down):
#   0. the host: kernel, cgroup mode, /dev/nvidia*, libnvidia-ml.so.1 in
#      the linker cache, CDI spec dirs
#   1. a service with deploy.resources.reservations.devices [{driver:
#      nvidia, count: all, capabilities: [gpu]}] runs `nvidia-smi -L` and
#      lists the GPU(s); berth generated the CDI spec (no spec on the host)
#   2. the same with `gpus: all`, and with `gpus: [{count: 1}]`
#   3. a small smoke stack: 3 services on a bridge network, a published
#      port answered from the host, service discovery, up -d / down
#   4. nothing of berth is left running
#
# GPU_CHECK_SMOKE_ONLY=1 skips steps 0-2: a try of the script itself on a
# machine without a GPU.
#
# busybox has no glibc, and nvidia-smi needs one: the GPU services
# bind-mount the host's loader and libc dir read-only (a CUDA image would
# bring its own).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
berth=${BERTH_BIN:-$top/bin/berth}
runc=${RUNC_BIN:-$top/bin/runc}
busybox_tar=${BUSYBOX_TAR:-$top/bin/gpu/busybox.tar}
port=${GPU_CHECK_PORT:-18080}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() {
	echo "gpu-check: FAIL: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || fail "run as root"
for f in "$berth" "$runc" "$busybox_tar"; do
	[ -e "$f" ] || fail "$f is missing (see the preparation steps at the top of this script)"
done

work=$(mktemp -d /tmp/berth-gpu.XXXXXX)
chmod 0700 "$work"
mkdir -p "$work/path" "$work/gpu" "$work/smoke"
ln -s "$runc" "$work/path/runc"
export PATH="$work/path:$PATH" BERTH_ROOT="$work/root" BERTH_RUN="$work/run" BERTH_RUNTIME=runc

projects=()
cleanup() {
	local rc=$?
	for p in "${projects[@]}"; do
		(cd "$p" && "$berth" down -v -t 0 >/dev/null 2>&1) || true
	done
	if [ "$rc" = 0 ]; then
		rm -rf "$work"
	else
		echo "gpu-check: state kept in $work for a look" >&2
	fi
}
trap cleanup EXIT

# wait_exit DIR SERVICE: until the service's container has exited; its code.
wait_exit() {
	local dir=$1 svc=$2 out
	for _ in $(seq 120); do
		out=$(cd "$dir" && "$berth" ps -a --format json "$svc" 2>/dev/null || true)
		if printf '%s' "$out" | grep -q '"State":"exited"'; then
			printf '%s' "$out" | sed -n 's/.*"ExitCode":\([0-9-]*\).*/\1/p' | head -1
			return 0
		fi
		sleep 0.5
	done
	echo "timeout"
}

if [ -z "${GPU_CHECK_SMOKE_ONLY:-}" ]; then
step "0. host"
uname -a
echo "cgroup fs: $(stat -fc %T /sys/fs/cgroup)"
ls -l /dev/nvidia* 2>&1 || true
(ldconfig -p 2>/dev/null || true) | grep -E 'libnvidia-ml|libcuda' || echo "(ldconfig -p lists no NVIDIA library)"
ls -l /etc/cdi /var/run/cdi 2>&1 || true
"$berth" version || true
"$runc" --version | head -1
fi

step "berth image load -i $busybox_tar"
"$berth" image load -i "$busybox_tar"

if [ -z "${GPU_CHECK_SMOKE_ONLY:-}" ]; then

interp=$(readlink -f /lib64/ld-linux-x86-64.so.2)
libc_dir=$(dirname "$interp")
cat >"$work/gpu/compose.yaml" <<EOF
name: gpucheck
x-glibc: &glibc
  - $libc_dir:/lib/x86_64-linux-gnu:ro
  - $interp:/lib64/ld-linux-x86-64.so.2:ro
services:
  deploy-all:
    image: busybox
    network_mode: none
    command: ["nvidia-smi", "-L"]
    volumes: *glibc
    deploy:
      resources:
        reservations:
          devices:
            - driver: nvidia
              count: all
              capabilities: [gpu]
  gpus-all:
    image: busybox
    network_mode: none
    command: ["nvidia-smi", "-L"]
    volumes: *glibc
    gpus: all
  gpus-one:
    image: busybox
    network_mode: none
    command: ["sh", "-c", "ls /dev/nvidia*; nvidia-smi -L"]
    volumes: *glibc
    gpus:
      - count: 1
EOF
projects+=("$work/gpu")

for svc in deploy-all gpus-all gpus-one; do
	step "1/2. $svc: berth up -d $svc (nvidia-smi -L)"
	(cd "$work/gpu" && "$berth" up -d "$svc")
	code=$(wait_exit "$work/gpu" "$svc")
	out=$(cd "$work/gpu" && "$berth" logs --no-log-prefix "$svc")
	printf '%s\n' "$out"
	[ "$code" = 0 ] || fail "$svc exited $code"
	printf '%s' "$out" | grep -q '^GPU 0:' || fail "$svc: nvidia-smi -L listed no GPU"
	if [ "$svc" = gpus-one ] && printf '%s' "$out" | grep -q '^GPU 1:'; then
		fail "gpus-one: count 1 saw more than one GPU"
	fi
done
if [ -e "$BERTH_RUN/cdi/nvidia.com-gpu.json" ]; then
	echo "berth generated $BERTH_RUN/cdi/nvidia.com-gpu.json:"
	head -c 1500 "$BERTH_RUN/cdi/nvidia.com-gpu.json"
	echo
else
	echo "(no generated spec: the host has a CDI spec for nvidia.com/gpu)"
fi
(cd "$work/gpu" && "$berth" down -t 0)
fi

step "3. smoke stack: up -d, a published port, service discovery, down"
cat >"$work/smoke/compose.yaml" <<EOF
name: gpucheck-smoke
services:
  web:
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo smoke-ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: ["127.0.0.1:$port:8080"]
  client:
    image: busybox
    depends_on: [web]
    command: ["sleep", "600"]
  idle:
    image: busybox
    command: ["sleep", "600"]
EOF
projects+=("$work/smoke")
start=$(date +%s%N)
(cd "$work/smoke" && "$berth" up -d)
echo "up -d: $((($(date +%s%N) - start) / 1000000)) ms"
(cd "$work/smoke" && "$berth" ps)
got=
for _ in $(seq 20); do
	if got=$(exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && cat <&3); then
		case $got in *smoke-ok*) break ;; esac
	fi
	sleep 0.25
done
case $got in *smoke-ok*) echo "host → 127.0.0.1:$port: smoke-ok" ;; *) fail "no answer on 127.0.0.1:$port" ;; esac
(cd "$work/smoke" && "$berth" exec -T client sh -c 'timeout 5 wget -qO- http://web:8080/') | grep -q smoke-ok ||
	fail "client could not reach web by name"
echo "client → web:8080: smoke-ok"
start=$(date +%s%N)
(cd "$work/smoke" && "$berth" down -v -t 1)
echo "down: $((($(date +%s%N) - start) / 1000000)) ms"

step "4. nothing left"
sleep 1.5
if pgrep -af "$berth" | grep -v pgrep; then
	fail "berth processes left"
fi
echo "gpu-check: PASS"
