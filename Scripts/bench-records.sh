#!/usr/bin/env bash
# Benchmark of 02-data-records against the original's method (`zcat | wc -l` per file), in the same run.
# Generates ~700 MB of uncompressed JSON lines in 6 gzip files (cached in $BENCH_DIR), counts them both ways,
# and prints both times and the ratio. Target: ≥ 2.5× on 2 cores.
# usage: Scripts/bench-records.sh [MB_TOTAL]   (env BENCH_DIR, default /tmp/lodestone-bench-records)
set -euo pipefail
cd "$(dirname "$0")/.."
total_mb=${1:-700}
dir=${BENCH_DIR:-/tmp/lodestone-bench-records}/${total_mb}mb
store="$dir/store"
mkdir -p "$store/data"

if [ ! -f "$dir/.complete" ]; then
  echo "bench-records: generating ${total_mb} MB of JSON lines in 6 gzip files under $store/data"
  python3 - "$store/data" "$total_mb" <<'PY'
import json, random, subprocess, sys
out, total_mb = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
# A Zipf-like vocabulary so that the text compresses roughly like English (about 3:1).
syll = ["ka", "ro", "mi", "tes", "lan", "or", "pe", "qui", "sa", "ne", "do", "vel", "ar", "im", "tu", "gra"]
vocab = ["".join(rng.choice(syll) for _ in range(rng.randint(1, 4))) for _ in range(20000)]
cumulative, acc = [], 0.0
for i in range(len(vocab)):
    acc += 1.0 / (i + 1); cumulative.append(acc)
def sentence(lo, hi):
    return " ".join(rng.choices(vocab, cum_weights=cumulative, k=rng.randint(lo, hi)))
shapes = [
    lambda: [sentence(5, 20), sentence(20, 120)],
    lambda: [sentence(5, 20), sentence(20, 80), sentence(20, 80)],
    lambda: {"texts": [sentence(5, 20), sentence(30, 150)], "guid": None},
    lambda: {"query": sentence(5, 15), "pos": [sentence(30, 100) for _ in range(rng.randint(1, 3))]},
    lambda: {"title": sentence(5, 15), "body": sentence(30, 150), "subreddit": "bench"},
    lambda: {"context": sentence(10, 60), "response": sentence(10, 60)},
]
per_file = total_mb * 1_000_000 // len(shapes)
# Build a pool of lines once, then emit them in random order until each file is large enough.
for n, shape in enumerate(shapes):
    pool = [json.dumps(shape()) + "\n" for _ in range(20000)]
    gz = subprocess.Popen(["gzip", "-6", "-c"], stdin=subprocess.PIPE, stdout=open(f"{out}/part-{n}.json.gz", "wb"))
    written = 0
    while written < per_file:
        chunk = "".join(rng.choices(pool, k=2000))
        gz.stdin.write(chunk.encode()); written += len(chunk)
    gz.stdin.close(); gz.wait()
PY
  touch "$dir/.complete"
fi
files=("$store"/data/*.json.gz)
du -ch "${files[@]}" | tail -1 | sed 's/^/bench-records: compressed /'

swift build -c release --product 02-data-records >"$dir/build.log" 2>&1 || { cat "$dir/build.log"; exit 1; }
bin=$(swift build -c release --show-bin-path)/02-data-records
cat "${files[@]}" >/dev/null   # warm the page cache for both methods

t0=$(date +%s.%N)
for f in "${files[@]}"; do zcat "$f" | wc -l; done >"$dir/zcat.txt"
t1=$(date +%s.%N)
"$bin" --store "$store" --output "$dir/data_records.json" --force 2>"$dir/swift.log"
t2=$(date +%s.%N)

zcat_lines=$(awk '{s+=$1} END {print s}' "$dir/zcat.txt")
swift_lines=$(grep -o 'counted .*: [0-9]* records, [0-9]* lines' "$dir/swift.log" | awk '{s+=$(NF-1)} END {print s}')
echo "bench-records: lines: zcat|wc -l $zcat_lines, 02-data-records $swift_lines"
python3 - "$t0" "$t1" "$t2" "$(nproc)" <<'PY'
import sys
t0, t1, t2, cores = map(float, sys.argv[1:5])
base, ours = t1 - t0, t2 - t1
print(f"bench-records: zcat|wc -l {base:.2f} s, 02-data-records {ours:.2f} s ({int(cores)} cores), ratio {base/ours:.2f}x (target >= 2.5x)")
PY
