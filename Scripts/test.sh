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
swift test "$@"
