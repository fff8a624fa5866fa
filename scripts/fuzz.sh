#!/usr/bin/env bash
# fuzz.sh — run every fuzz target of the module (func FuzzX in a _test.go
# file) for a bounded time each: `make test` runs them briefly (FUZZTIME=8s)
# as a smoke tier, `make fuzz` for longer (FUZZTIME=2m by default).
# A failing input is saved by go test under the package's testdata/fuzz/,
# where it then runs as a regression case in every plain `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-8s}
GO=${GO:-go}

# fuzz_one runs one target. Go's fuzz coordinator can end a run on a
# loaded machine with "context deadline exceeded" when a worker answers
# late at -fuzztime's end; that is no finding — it saves no failing input. Such a run is tried again, up to
# three times in all; any other failure, or one that saved an input under
# testdata/fuzz/, fails at once.
corpus() { find "$1/testdata/fuzz/$2" -type f 2>/dev/null | wc -l || true; }

fuzz_one() {
	local pkg=$1 fn=$2 try out before after
	for try in 1 2 3; do
		echo "fuzz: $pkg $fn for $FUZZTIME (try $try of 3)"
		before=$(corpus "$pkg" "$fn")
		out=$(mktemp)
		if $GO test -run '^$' -fuzz "^${fn}\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tee "$out"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
			rm -f "$out"
			return 0
		fi
		after=$(corpus "$pkg" "$fn")
		if [ "$after" -ne "$before" ] || ! grep -q 'context deadline exceeded' "$out"; then
			rm -f "$out"
			return 1
		fi
		rm -f "$out"
		echo "fuzz: $pkg $fn ended in Go's fuzz deadline error with no failing input; trying again" >&2
	done
	return 1
}

fail=0
while IFS= read -r file; do
	pkg=./$(dirname "$file")
	for fn in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		if ! fuzz_one "$pkg" "$fn"; then
			echo "fuzz: $pkg $fn FAILED (the failing input is under $pkg/testdata/fuzz/$fn)" >&2
			fail=1
		fi
	done
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./e2e/' | sed 's|^\./||' | sort)
exit $fail
