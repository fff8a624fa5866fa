#!/usr/bin/env bash
# The main job: run examples/webstack with the freshly built berth, the way a
# user would. It grows with each capability berth gains.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
berth="$top/bin/berth"
cd "$top/examples/webstack"

echo "\$ berth config --services"
"$berth" config --services
echo
echo "\$ berth config"
"$berth" config
