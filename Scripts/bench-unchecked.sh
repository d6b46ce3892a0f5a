#!/usr/bin/env bash
# What Swift's bounds and overflow checks cost the hot paths: the release build as shipped (checked) against the same
# code built with -Ounchecked (LODESTONE_UNCHECKED=1, in a build folder of its own), alternating in one run so that
# load from other work falls on both alike. Measures a training step (lodestone-bench, the small config), encoding
# (05-embed, all-MiniLM-L6-v2) and record counting (02-data-records), 1 thread, the median of ROUNDS runs each, and
# prints checked/unchecked time ratios (target: every one ≤ 1.03) with the CPU and OpenBLAS kernel.
# usage: Scripts/bench-unchecked.sh [ROUNDS]     (default 5; env TASKS, e.g. TASKS=encode, for some of the three)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
export OPENBLAS_NUM_THREADS=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
products=(lodestone-bench 05-embed 02-data-records)
for p in "${products[@]}"; do swift build -c release --product "$p" >&2; done
for p in "${products[@]}"; do LODESTONE_UNCHECKED=1 swift build -c release --scratch-path .build-unchecked --product "$p" >&2; done
checked=$(swift build -c release --show-bin-path)
unchecked=$(LODESTONE_UNCHECKED=1 swift build -c release --scratch-path .build-unchecked --show-bin-path)

# Inputs: 1,500 sentences of 8–60 words for encoding, and a store of gzip JSON lines (about 180 MB of text).
model=${LODESTONE_MINILM:-$(bash Scripts/fetch-minilm.sh)}
python3 - "$model/vocab.txt" "$work" <<'PY'
import gzip, json, os, random, sys
words = [w for w in open(sys.argv[1], encoding="utf-8").read().split("\n")[1996:12000] if w.isalpha()]
rng = random.Random(7)
sentence = lambda lo, hi: " ".join(rng.choice(words) for _ in range(rng.randint(lo, hi)))
with open(os.path.join(sys.argv[2], "sentences.txt"), "w", encoding="utf-8") as f:
    for _ in range(1500):
        f.write(sentence(8, 60) + ".\n")
os.makedirs(os.path.join(sys.argv[2], "store", "data"))
shapes = [lambda: [sentence(3, 15), sentence(10, 80)], lambda: {"query": sentence(3, 12), "pos": [sentence(10, 60)]},
          lambda: {"set": [sentence(4, 20), sentence(4, 20)]}, lambda: {"texts": [sentence(3, 15), sentence(20, 90)], "guid": None}]
for i, shape in enumerate(shapes):
    with gzip.open(os.path.join(sys.argv[2], "store", "data", f"part{i}.json.gz"), "wt", compresslevel=1) as f:
        for _ in range(120000):
            f.write(json.dumps(shape()) + "\n")
PY

# One timed run of a task with the given build's binaries; prints seconds.
run() {
  local bin=$1 task=$2 t0 t1 status=0
  t0=$(date +%s.%N)
  case $task in
    train) "$bin/lodestone-bench" --model small --batch 32 --seq 64 --steps 4 --threads 1 >/dev/null 2>&1 ;;
    encode) rm -f "$work/out.npy"; "$bin/05-embed" --model "$model" --input "$work/sentences.txt" --output "$work/out.npy" --threads 1 >/dev/null 2>&1 ;;
    records) "$bin/02-data-records" --store "$work/store" --output "$work/records.json" --force --jobs 1 >/dev/null 2>&1 ;;
  esac || status=$?
  t1=$(date +%s.%N)
  [ $status = 0 ] || { echo "bench-unchecked: $task with $bin failed (status $status)" >&2; return 1; }
  echo "$t1 - $t0" | bc
}

kernel=$("$checked/lodestone-bench" --sgemm-only 64,64,64 --threads 1 2>&1 | sed -n 's/.*OpenBLAS kernel \([A-Za-z0-9]*\).*/\1/p' | head -1)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "bench-unchecked: $cpu, OpenBLAS kernel $kernel, 1 thread, median of $rounds alternating rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for task in ${TASKS:-train encode records}; do
  run "$checked" $task >/dev/null   # warm-up: page cache, first-touch
  a=(); b=()
  for ((i = 0; i < rounds; i++)); do
    a+=("$(run "$checked" $task)"); b+=("$(run "$unchecked" $task)")
  done
  python3 - "$task" "$cpu" "$kernel" "${a[*]}" "${b[*]}" <<'PY'
import statistics, sys
task, cpu, kernel = sys.argv[1:4]
checked, unchecked = ([float(x) for x in s.split()] for s in sys.argv[4:6])
c, u = statistics.median(checked), statistics.median(unchecked)
print(f"bench-unchecked {task}: checked {c:.3f} s, -Ounchecked {u:.3f} s, ratio {c / u:.3f} (target <= 1.03) [{cpu}, OpenBLAS kernel {kernel}]")
PY
done
