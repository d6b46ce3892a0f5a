#!/usr/bin/env bash
# The test command: fetches the real all-MiniLM-L6-v2 weights once (for the conformance suite) and runs every test.
# usage: Scripts/test.sh [swift test arguments, e.g. --filter ConformanceTests]
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures=${LODESTONE_FIXTURES:-../shared/fixtures}
if [ -z "${LODESTONE_MINILM:-}" ] && [ -x ../shared/scripts/fetch-minilm.sh ] || [ -f ../shared/scripts/fetch-minilm.sh ]; then
  LODESTONE_MINILM=$(bash ../shared/scripts/fetch-minilm.sh) && export LODESTONE_MINILM
fi
export LODESTONE_FIXTURES="$fixtures"
swift test "$@"
