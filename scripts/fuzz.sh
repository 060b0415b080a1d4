#!/usr/bin/env bash
# fuzz.sh [FuzzName…]: run every fuzz target of the module (or the ones
# named) for FUZZTIME each (30s), one `go test -fuzz` per target as Go
# requires, and report every target that failed. New inputs the fuzzer finds
# stay in Go's cache; a failing input is written to the package's
# testdata/fuzz/<FuzzName>/, where it becomes a seed every `go test` runs:
# fix the code, keep the file and add a named test row (see README
# "Fuzzing"). Not part of make test, whose go test runs the seeds only.
#
#   FUZZTIME          how long each target runs (default 30s)
#   FUZZ_PARALLEL     fuzzing workers per target (default: go test's, GOMAXPROCS)
#   FUZZ_MINIMIZE     how long the fuzzer may spend shrinking one input
#                     (default 5s; Go's own 60s would let a single new input
#                     of a few hundred bytes, minimised byte by byte, use up a
#                     30-second run)
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}
fuzztime=${FUZZTIME:-30s}
minimize=${FUZZ_MINIMIZE:-5s}
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then parallel=(-parallel "$FUZZ_PARALLEL"); fi

# Every package of this module with a fuzz target, and the targets in it.
targets=()
while read -r dir; do
  for name in $(cat "$dir"/*_test.go 2>/dev/null | sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p'); do
    if [ $# -eq 0 ] || [[ " $* " == *" $name "* ]]; then
      targets+=("./${dir#"$PWD"/}/:$name")
    fi
  done
done < <(go list -f '{{.Dir}}' ./...)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz.sh: no fuzz target${*:+ named $*}" >&2
  exit 1
fi

failed=()
for t in "${targets[@]}"; do
  pkg=${t%%:*} name=${t##*:}
  echo "== $name ($pkg, $fuzztime)"
  if ! go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "${parallel[@]}" "$pkg"; then
    failed+=("$name ($pkg)")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz.sh: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets, $fuzztime each: no failure"
