#!/usr/bin/env bash
# Benchmark: exact top-10 search of 1,000 queries in a 100,000 × 768 corpus (random unit vectors, seed 7), as
# `05-embed search --corpus-embeddings X.npy --query-embeddings Q.npy` (memory-mapped corpus, blocks through
# cblas_sgemm) against faiss-cpu's exact inner-product index (IndexFlatIP) in the same run, same threads.
# Prints queries/s of each, their ratio (target ≥ 1×), peak RSS of each, and whether the top-10 lists agree.
# usage: Scripts/bench-search.sh     (env: BENCH_VENV=.venv-bench, BENCH_THREADS=2, CORPUS=100000, QUERIES=1000)
# Installs numpy and faiss-cpu from PyPI into $BENCH_VENV once.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${BENCH_VENV:-.venv-bench}
threads=${BENCH_THREADS:-2}
corpus=${CORPUS:-100000}; queries=${QUERIES:-1000}; dim=768
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
if ! "$venv/bin/python" -c "import faiss, numpy" 2>/dev/null; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet ${PIP_ARGS:-} numpy faiss-cpu
fi
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $threads threads"

# 1. The data: unit vectors as float32 .npy, and a tiny 768-dimension model directory (05-embed needs one to start;
#    it is not used when both sides are given as embeddings).
"$venv/bin/python" - "$work" "$corpus" "$queries" "$dim" <<'PY'
import sys, numpy as np
work, n, q, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(7)
for name, rows in (("corpus", n), ("queries", q)):
    x = rng.standard_normal((rows, d), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    np.save(f"{work}/{name}.npy", x)
PY
swift build -c release --product 05-embed >&2
swift build -c release --product 03-mosaic-model >&2
python3 -c 'import json; print(json.dumps({"architectures": ["BertModel"], "hidden_size": 768, "num_hidden_layers": 1, "num_attention_heads": 12, "intermediate_size": 768, "vocab_size": 30522, "alibi_starting_size": 512, "max_position_embeddings": 512, "type_vocab_size": 2}))' > "$work/config.json"
.build/release/03-mosaic-model --init-random "$work/config.json" --tokenizer data/bert-base-uncased --output "$work/model" > /dev/null

# 2. 05-embed search (release), timed by itself (its log line) and measured for peak RSS by /usr/bin/time.
/usr/bin/time -f "%M" -o "$work/swift.rss" .build/release/05-embed search --model "$work/model" --threads "$threads" \
  --corpus-embeddings "$work/corpus.npy" --query-embeddings "$work/queries.npy" --top-k 10 --output "$work/swift.jsonl" \
  2> "$work/swift.log"
swift_qps=$(sed -n 's/.* s (\([0-9.]*\) queries\/s).*/\1/p' "$work/swift.log")

# 3. faiss IndexFlatIP: the corpus read from the same .npy, search timed alone.
/usr/bin/time -f "%M" -o "$work/faiss.rss" "$venv/bin/python" - "$work" "$threads" <<'PY' > "$work/faiss.out"
import json, sys, time, numpy as np, faiss
work, threads = sys.argv[1], int(sys.argv[2])
faiss.omp_set_num_threads(threads)
corpus, queries = np.load(f"{work}/corpus.npy"), np.load(f"{work}/queries.npy")
index = faiss.IndexFlatIP(corpus.shape[1]); index.add(corpus)
t = time.perf_counter(); scores, ids = index.search(queries, 10); s = time.perf_counter() - t
swift = [json.loads(l)["hits"] for l in open(f"{work}/swift.jsonl")]
same = sum(1 for q, hits in enumerate(swift) if [h["index"] for h in hits] == ids[q].tolist())
print(f"{len(queries) / s:.1f} {same}")
PY
read -r faiss_qps same < "$work/faiss.out"
kernel=$(sed -n 's/^05-embed search: OpenBLAS.*, kernel \([^ ]*\) .*/\1/p' "$work/swift.log")
printf '05-embed search: %s queries/s, peak RSS %.0f MB (OpenBLAS kernel %s)\n' "$swift_qps" "$(echo "$(cat "$work/swift.rss") / 1024" | bc -l)" "$kernel"
printf 'faiss IndexFlatIP: %s queries/s, peak RSS %.0f MB\n' "$faiss_qps" "$(echo "$(cat "$work/faiss.rss") / 1024" | bc -l)"
echo "identical top-10 lists: $same of $queries queries"
awk -v s="$swift_qps" -v f="$faiss_qps" 'BEGIN { printf "ratio 05-embed / faiss: %.2fx (target >= 1x)\n", s / f }'
