#!/usr/bin/env bash
# The main job: run the example stacks with the freshly built berth, the way
# a user would, offline. The base images come from tarballs made on this
# machine (berth-testregistry --save: busybox-static, small Go programs, and
# golang:local, the host's Go toolchain with a warm build cache) and are
# loaded with `berth image load`; no registry is reached.
#
#   1. examples/webstack: up, ps, a published port, service discovery, logs, down
#   2. examples/buildstack: build every image from the loaded bases (a Go api
#      and worker compiled in a golang:local stage and shipped FROM scratch, a
#      static site on busybox), up, the api and the site answering on their
#      published ports, the worker's logs, a second build all from the cache,
#      down
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/bin:$PATH"
images="$top/bin/demo-images"
api_port=${API_PORT:-8081}
site_port=${SITE_PORT:-8082}
export API_PORT=$api_port SITE_PORT=$site_port

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

# fetch URL: curl, retried briefly while the service starts.
fetch() {
	for _ in $(seq 20); do
		if curl -fsS --max-time 2 "$1"; then return 0; fi
		sleep 0.25
	done
	echo "demo: no answer from $1" >&2
	return 1
}

if [ "$(id -u)" != 0 ]; then
	echo "demo: berth runs containers, so the demo needs root (sudo make demo)" >&2
	exit 1
fi

# Whatever fails, the stack that is up goes down again.
project=
cleanup() {
	if [ -n "$project" ]; then
		(cd "$project" && berth down -v -t 1 >/dev/null 2>&1) || true
	fi
}
trap cleanup EXIT

cd "$top"
mkdir -p "$images"
step go run ./cmd/berth-testregistry --save "${images#"$top"/}"
go run ./cmd/berth-testregistry --save "$images" >/dev/null
for tar in "$images"/*.tar; do
	step berth image load -i "${tar#"$top"/}"
	berth image load -i "$tar"
done

# --- 1. webstack: images as loaded --------------------------------------
project="$top/examples/webstack"
cd "$project"

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
berth down -v -t 1
project=

# --- 2. buildstack: every image built here -------------------------------
project="$top/examples/buildstack"
cd "$project"

step berth build
berth build

step berth image ls
berth image ls

step berth up -d
berth up -d

step berth ps
berth ps

step curl http://127.0.0.1:$api_port/
fetch "http://127.0.0.1:$api_port/"
step curl http://127.0.0.1:$api_port/healthz
fetch "http://127.0.0.1:$api_port/healthz"
step curl http://127.0.0.1:$site_port/
fetch "http://127.0.0.1:$site_port/"

# The worker asks the api every 2 s; give it time for a few answers.
sleep 3
step berth logs worker --tail 3
berth logs worker --tail 3

printf '\n# Again: nothing changed, so every step comes from the build cache.'
step berth build
start=$(date +%s%N)
berth build
end=$(date +%s%N)
printf '\nsecond build, all cached: %d ms\n' $(((end - start) / 1000000))

step berth down
berth down -t 1
project=
trap - EXIT
