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

fail=0
while IFS= read -r file; do
	pkg=./$(dirname "$file")
	for fn in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		echo "fuzz: $pkg $fn for $FUZZTIME"
		if ! $GO test -run '^$' -fuzz "^${fn}\$" -fuzztime "$FUZZTIME" "$pkg"; then
			echo "fuzz: $pkg $fn FAILED (the failing input is under $pkg/testdata/fuzz/$fn)" >&2
			fail=1
		fi
	done
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./e2e/' | sed 's|^\./||' | sort)
exit $fail
