#!/usr/bin/env bash
# Scripts/bench-scale.sh — what data-parallel training over MPI costs and what it would buy.
#   1. All-reduce bandwidth between 2 local ranks (mpirun -np 2, one BLAS thread each) for the flat gradient
#      of MosaicBERT-base and of the small config: blocking, and as buckets in flight at once (MPI_Iallreduce).
#   2. One process's compute time per pair (lodestone-bench: forward, MNRL, backward, clip, AdamW on THREADS
#      threads), unless SECONDS_PER_PAIR_<MODEL> gives it.
#   3. The ring all-reduce cost model (Scripts/scale_model.py): projected pairs/s, scaling efficiency and days of
#      the original schedule for N = 1, 2, 8, 32, 128 machines on 1, 10 and 100 Gbit/s links.
# Figures on a shared machine are noisy; the CPU model and load are printed with them.
#
# Usage: Scripts/bench-scale.sh
# Env:   MODELS ("base small"), REPEATS (3 timed all-reduces, best kept), BUCKETS (8), THREADS (2),
#        STEPS_BASE (2), STEPS_SMALL (5), SECONDS_PER_PAIR_BASE / SECONDS_PER_PAIR_SMALL (skip the compute
#        measurement), GLOBAL_BATCH (16), OVERLAP (0: share of the all-reduce hidden behind backward).
set -euo pipefail
cd "$(dirname "$0")/.."
MODELS=${MODELS:-"base small"}
REPEATS=${REPEATS:-3}
BUCKETS=${BUCKETS:-8}
THREADS=${THREADS:-2}
STEPS_BASE=${STEPS_BASE:-2}
STEPS_SMALL=${STEPS_SMALL:-5}
GLOBAL_BATCH=${GLOBAL_BATCH:-16}
OVERLAP=${OVERLAP:-0}

command -v mpirun >/dev/null || { echo "bench-scale: mpirun not found: install openmpi-bin (Scripts/setup.sh)" >&2; exit 1; }
swift build -c release --product lodestone-mpi-check >/dev/null
swift build -c release --product lodestone-bench >/dev/null
BIN=$(swift build -c release --show-bin-path)
root=(); [ "$(id -u)" = 0 ] && root=(--allow-run-as-root)

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

echo "bench-scale: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg), $(mpirun --version | head -1)"
for model in $MODELS; do
  # 1. Two local ranks, one BLAS thread each (the shared-memory transport: an upper bound for any network).
  lines=$(mpirun "${root[@]}" --oversubscribe -np 2 -x OPENBLAS_NUM_THREADS=1 \
    "$BIN/lodestone-mpi-check" allreduce-bandwidth --model "$model" --repeats "$REPEATS" --buckets "$BUCKETS")
  echo "$lines"
  blocking=$(grep "mode=blocking" <<<"$lines")
  bytes=$(field bytes "$blocking")

  # 2. One machine's compute time per pair.
  var="SECONDS_PER_PAIR_$(tr a-z A-Z <<<"$model")"
  seconds_per_pair=${!var:-}
  if [ -z "$seconds_per_pair" ]; then
    if [ "$model" = base ]; then batch=16 seq=128 steps=$STEPS_BASE; else batch=32 seq=64 steps=$STEPS_SMALL; fi
    bench=$(OPENBLAS_NUM_THREADS=$THREADS "$BIN/lodestone-bench" --model "$model" --batch $batch --seq $seq --steps "$steps" --threads "$THREADS")
    echo "$bench"
    seconds_per_pair=$(python3 -c "print(1 / float('$(field pairs_per_s "$bench")'))")
    source="lodestone-bench, $THREADS threads, $batch pairs x $seq tokens"
  else
    source="$var"
  fi

  # 3. The cost model at that compute time and this gradient.
  python3 Scripts/scale_model.py --label "scale-model $model ($source; measured local all-reduce $(field busbw_gbs "$blocking") GB/s bus bandwidth):" \
    --seconds-per-pair "$seconds_per_pair" --gradient-bytes "$bytes" --global-batch "$GLOBAL_BATCH" --overlap "$OVERLAP"
done
