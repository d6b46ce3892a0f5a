#!/usr/bin/env bash
# The test command. Fetches the real all-MiniLM-L6-v2 weights once (for the conformance suite), then runs every
# test target. Extra arguments go to `swift test`, e.g. `Scripts/test.sh --filter ConformanceTests`.
set -euo pipefail
cd "$(dirname "$0")/.."
export LODESTONE_FIXTURES=${LODESTONE_FIXTURES:-$(cd ../shared/fixtures 2>/dev/null && pwd || echo ../shared/fixtures)}
if [ -z "${LODESTONE_MINILM:-}" ] && [ -f ../shared/scripts/fetch-minilm.sh ]; then
  LODESTONE_MINILM=$(bash ../shared/scripts/fetch-minilm.sh)
  export LODESTONE_MINILM
fi
# Only XCTest suites here; the summary line at the end counts what ran.
log=$(mktemp); trap 'rm -f "$log"' EXIT
status=0
swift test --disable-swift-testing "$@" 2>&1 | tee "$log" || status=$?
summary=$(grep -E "Executed [0-9]+ tests?, with" "$log" | tail -1 || true)
if [ -n "$summary" ]; then
  total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
  failed=$(sed -E 's/.* ([0-9]+) failures?.*/\1/' <<<"$summary")
  skipped=$(grep -oE "[0-9]+ tests? skipped" <<<"$summary" | grep -oE "^[0-9]+" || echo 0)
  echo "$((total - failed - skipped)) passed, $failed failed, $skipped skipped"
fi
exit $status
