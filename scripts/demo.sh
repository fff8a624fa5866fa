#!/usr/bin/env bash
# The main job: run examples/webstack with the freshly built berth, the way a
# user would, offline. The images come from tarballs made on this machine
# (berth-testregistry --save: busybox-static plus small Go programs) and are
# loaded with `berth image load`; no registry is reached.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/bin:$PATH"
images="$top/bin/demo-images"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
	echo "demo: berth runs containers, so the demo needs root (sudo make demo)" >&2
	exit 1
fi

mkdir -p "$images"
go run ./cmd/berth-testregistry --save "$images" >/dev/null
for tar in "$images"/*.tar; do
	step berth image load -i "${tar#"$top"/}"
	berth image load -i "$tar"
done

cd "$top/examples/webstack"
cleanup() { berth down -v -t 1 >/dev/null 2>&1 || true; }
trap cleanup EXIT

step berth config --services
berth config --services

step berth up -d
berth up -d

step berth ps
berth ps

port=$(berth port web 8080)
step curl http://127.0.0.1:${port##*:}/
for i in 1 2 3 4 5 6 7 8 9 10; do
	if curl -fsS --max-time 2 "http://127.0.0.1:${port##*:}/"; then break; fi
	sleep 0.3
done

step berth exec worker sh -c "'timeout 3 wget -qO- http://web:8080/ | head -3'"
berth exec -T worker sh -c 'timeout 3 wget -qO- http://web:8080/ | head -3'

sleep 1
step berth logs --tail 3
berth logs --tail 3

step berth down -v
trap - EXIT
berth down -v -t 1
