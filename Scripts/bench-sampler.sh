#!/usr/bin/env bash
# Scripts/bench-sampler.sh — the training sampler at the original's scale: a store of 677 small real gzip
# JSON-lines files whose data_records.json claims the original's 1,492,089,113 records (files read round and
# round), 50 chunks, batches of 16. Prints the streaming sampler's peak RSS and times (load a chunk and draw
# 1,000 batches; restore mid-chunk; finish the chunk, i.e. pass over the rest of every file's share), then the
# eager sampler (every share read into memory, as before streaming) at smaller claims, each in its own process,
# with the memory it would need at the full claim and the ratio to the streaming sampler's.
#
# Usage: Scripts/bench-sampler.sh
# Env:   STORE (.build/bench-sampler-store; created on the first run), EAGER_CLAIMS ("1.49e7 2.98e7"; "" skips)
set -euo pipefail
cd "$(dirname "$0")/.."
STORE=${STORE:-.build/bench-sampler-store}
EAGER_CLAIMS=${EAGER_CLAIMS-"1.49e7 2.98e7"}

swift build -c release --product lodestone-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/lodestone-bench

echo "bench-sampler: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ -f "$STORE/data_records.json" ] || echo "creating the store in $STORE"
streaming=$("$BENCH" --sampler-only "$STORE")
echo "$streaming"
rss=$(sed -n '1s/.*peak RSS \([0-9.]*\) MB.*/\1/p' <<<"$streaming")
for claim in $EAGER_CLAIMS; do
  eager=$("$BENCH" --sampler-only "$STORE" --sampler-eager-claim "$claim" 2>&1) || eager="eager sampler at $claim claimed records: failed or killed (status $?): $eager"
  echo "$eager"
  gb=$(sed -n 's/.*extrapolated to .*: ~\([0-9.]*\) GB.*/\1/p' <<<"$eager")
  [ -n "$gb" ] && awk -v gb="$gb" -v mb="$rss" 'BEGIN { printf "  ratio at the full claim: eager ~%.1f GB / streaming %.0f MB = %.0fx\n", gb, mb, gb * 1000 / mb }'
done
