#!/usr/bin/env bash
# Benchmark: hard-negative mining of the same PAIRS (anchor, positive) pairs with all-MiniLM-L6-v2, by
# `05-embed mine-hard-negatives` (release) and by sentence-transformers' `mine_hard_negatives` (exact torch search,
# and with use_faiss=True), all with the same threads, batch size and flags (top 3 negatives, relative margin 0.05,
# n-tuple rows). The pairs are question/answer pairs from Scripts/make-sample.py's generator (seed 5).
# Prints, for each: seconds spent mining (embedding included, model loading not) and the process's peak RSS; the
# ratio of sentence-transformers' time to ours; how many rows agree; the CPU and the OpenBLAS kernel.
# usage: Scripts/bench-mining.sh     (env: PAIRS=50000, BENCH_THREADS=2, BENCH_BATCH=32, BENCH_VENV=.venv-bench,
#                                      LODESTONE_MINILM=<model dir>, PIP_ARGS=<extra pip install args>)
# Installs torch, sentence-transformers, datasets and faiss-cpu from PyPI into $BENCH_VENV once.
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${PAIRS:-50000}; threads=${BENCH_THREADS:-2}; batch=${BENCH_BATCH:-32}
venv=${BENCH_VENV:-.venv-bench}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
model=${LODESTONE_MINILM:-$(bash Scripts/fetch-minilm.sh)}
if ! "$venv/bin/python" -c "import sentence_transformers, datasets, faiss" 2>/dev/null; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet ${PIP_ARGS:-} torch sentence-transformers datasets faiss-cpu
fi
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "machine: $cpu, $threads threads, batch $batch; $pairs pairs, all-MiniLM-L6-v2"

# 1. The pairs: the sample's question/answer generator, as {"anchor", "positive"} lines.
python3 - "$work/pairs.jsonl" "$pairs" <<'PY'
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("make_sample", "Scripts/make-sample.py")
sample = importlib.util.module_from_spec(spec); spec.loader.exec_module(sample)
g = sample.Generator(5)
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for _ in range(int(sys.argv[2])):
        _, w = g.pick()
        f.write(json.dumps({"anchor": g.question(w), "positive": g.answer(w)}) + "\n")
PY

# 2. 05-embed (release): the mining time from its summary line, peak RSS from /usr/bin/time.
swift build -c release --product 05-embed >&2
/usr/bin/time -f "%M" -o "$work/swift.rss" .build/release/05-embed mine-hard-negatives --model "$model" \
  --data "$work/pairs.jsonl" --output "$work/swift.jsonl" --relative-margin 0.05 --num-negatives 3 \
  --threads "$threads" --batch-size "$batch" > "$work/swift.out" 2> "$work/swift.log" || { cat "$work/swift.log" >&2; exit 1; }
swift_s=$(sed -n 's/^mined .* in \([0-9.]*\) s:.*/\1/p' "$work/swift.out")
kernel=$(sed -n 's/^05-embed mine-hard-negatives: OpenBLAS.*, kernel \([^ ,]*\).*/\1/p' "$work/swift.log")
cat "$work/swift.out"

# 3. sentence-transformers, each way in its own process (for its own peak RSS).
for faiss in False True; do
  /usr/bin/time -f "%M" -o "$work/st-$faiss.rss" "$venv/bin/python" - "$model" "$work" "$threads" "$batch" "$faiss" \
    > "$work/st-$faiss.out" 2> "$work/st-$faiss.log" <<'PY' || { cat "$work/st-$faiss.log" >&2; exit 1; }
import json, sys, time, torch, datasets
model_dir, work, threads, batch, use_faiss = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "True"
torch.set_num_threads(threads)
if use_faiss:
    import faiss; faiss.omp_set_num_threads(threads)
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import mine_hard_negatives
rows = [json.loads(line) for line in open(f"{work}/pairs.jsonl", encoding="utf-8")]
dataset = datasets.Dataset.from_dict({"anchor": [r["anchor"] for r in rows], "positive": [r["positive"] for r in rows]})
model = SentenceTransformer(model_dir, device="cpu")
t = time.perf_counter()
mined = mine_hard_negatives(dataset, model, relative_margin=0.05, num_negatives=3, sampling_strategy="top",
                            output_format="n-tuple", batch_size=batch, use_faiss=use_faiss, verbose=False)
seconds = time.perf_counter() - t
ours = {}
for line in open(f"{work}/swift.jsonl", encoding="utf-8"):
    row = json.loads(line); ours[(row[0], row[1])] = row
same = sum(1 for row in mined if ours.get((row["anchor"], row["positive"])) == list(row.values()))
print(f"{seconds:.1f} {len(mined)} {same}")
PY
done
read -r st_s st_rows st_same < "$work/st-False.out"
read -r faiss_s faiss_rows faiss_same < "$work/st-True.out"
rows=$(wc -l < "$work/swift.jsonl")
mb() { echo "$(cat "$1") / 1024" | bc -l; }
printf '05-embed mine-hard-negatives: %s s, %d rows, peak RSS %.0f MB (OpenBLAS kernel %s)\n' "$swift_s" "$rows" "$(mb "$work/swift.rss")" "$kernel"
printf 'sentence-transformers mine_hard_negatives: %s s, %d rows (%d identical to ours), peak RSS %.0f MB\n' "$st_s" "$st_rows" "$st_same" "$(mb "$work/st-False.rss")"
printf 'sentence-transformers mine_hard_negatives, use_faiss=True: %s s, %d rows (%d identical to ours), peak RSS %.0f MB\n' "$faiss_s" "$faiss_rows" "$faiss_same" "$(mb "$work/st-True.rss")"
awk -v s="$swift_s" -v t="$st_s" -v f="$faiss_s" 'BEGIN { printf "ratio (sentence-transformers time / ours): %.2fx exact torch, %.2fx faiss\n", t / s, f / s }'
