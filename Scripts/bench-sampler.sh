#!/usr/bin/env bash
# Scripts/bench-sampler.sh — the training sampler at the original's scale: a store of 677 small real gzip
# JSON-lines files whose data_records.json claims the original's 1,492,089,113 records (files read round and
# round), 50 chunks, batches of 16. Prints the streaming sampler's peak RSS and times (load a chunk and draw
# 1,000 batches; restore mid-chunk; finish the chunk, i.e. pass over the rest of every file's share), then the
# eager sampler (every share read into memory, as before streaming) at smaller claims, each in its own process,
# and its memory and load time extrapolated to the full claim along the line through the two smaller claims.
#
# Usage: Scripts/bench-sampler.sh
# Env:   STORE (.build/bench-sampler-store; written on the first run), EAGER_CLAIMS ("1.49e7 2.98e7"; "" skips)
set -euo pipefail
cd "$(dirname "$0")/.."
STORE=${STORE:-.build/bench-sampler-store}
EAGER_CLAIMS=${EAGER_CLAIMS-"1.49e7 2.98e7"}

swift build -c release --product lodestone-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/lodestone-bench

echo "bench-sampler: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ -f "$STORE/data_records.json" ] || "$BENCH" --sampler-only "$STORE"
streaming=$("$BENCH" --sampler-only "$STORE")
echo "$streaming"
rss=$(sed -n 's/.*peak RSS \([0-9.]*\) MB.*/\1/p' <<<"$streaming" | sort -n | tail -1)   # the higher of the two peaks
streaming_draw=$(sed -n '1s/.* \([0-9]*\) batches in \([0-9.]*\) s.*/\2/p' <<<"$streaming")
full=$(sed -n '1s/.*chunk quota \([0-9]*\) examples.*/\1/p' <<<"$streaming")

points=()
for claim in $EAGER_CLAIMS; do
  if eager=$("$BENCH" --sampler-only "$STORE" --sampler-eager-claim "$claim" 2>&1); then
    echo "$eager"
    points+=("$(sed -n 's/.*chunk quota \([0-9]*\) examples: chunk loaded in \([0-9.]*\) s, .* peak RSS \([0-9.]*\) MB.*/\1 \2 \3/p' <<<"$eager")")
    eager_draw=$(sed -n 's/.* \([0-9]*\) batches in \([0-9.]*\) s.*/\2/p' <<<"$eager")
    awk -v e="$eager_draw" -v s="$streaming_draw" 'BEGIN { printf "  drawing 1000 batches, streaming / eager time: %.2f (%.2f s / %.2f s)\n", s / e, s, e }'
  else
    echo "eager sampler at $claim claimed records: failed or killed (status $?): $eager"
  fi
done
if [ ${#points[@]} -ge 2 ]; then
  read -r q1 t1 m1 <<<"${points[0]}"; read -r q2 t2 m2 <<<"${points[1]}"
  awk -v q1="$q1" -v t1="$t1" -v m1="$m1" -v q2="$q2" -v t2="$t2" -v m2="$m2" -v full="$full" -v rss="$rss" 'BEGIN {
    slope = (m2 - m1) / (q2 - q1); gb = (m2 + slope * (full - q2)) / 1000
    secs = t2 + (t2 - t1) / (q2 - q1) * (full - q2)
    printf "eager sampler extrapolated to the full claim (chunk quota %d examples; %.0f bytes per example held, from the two claims): peak RSS ~%.1f GB, chunk load ~%.0f s\n", full, slope * 1e6, gb, secs
    printf "ratio of peak RSS at the full claim, eager / streaming: ~%.0fx (%.1f GB / %.0f MB)\n", gb * 1000 / rss, gb, rss
  }'
fi
