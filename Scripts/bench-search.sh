#!/usr/bin/env bash
# Benchmark: exact top-10 search of 1,000 queries in a 100,000 × 768 corpus (random unit vectors, seed 7), as
# `05-embed search --corpus-embeddings X.npy --query-embeddings Q.npy` (memory-mapped corpus, tiles scored and
# compared with each query's running top 10 at once) against faiss-cpu's exact inner-product index (IndexFlatIP)
# in the same run, same threads, and the same OpenBLAS kernel on both sides: faiss-cpu bundles its own OpenBLAS,
# which left to itself may run a slower kernel than Debian's (faiss 1.15's 0.3.15 takes Zen 5 for Prescott), so
# OPENBLAS_CORETYPE is set to $KERNEL for both and each side's running kernel is read back and printed.
# 05-embed runs at each precision of PRECISIONS: fp32 (cblas_sgemm), and auto (bf16 scoring where the CPU has
# avx512_bf16, its candidates re-ranked in fp32: the same lists). Each side runs REPEATS times, best kept; lines
# give queries/s by wall clock and per CPU second (wall clock swings with other jobs on a shared machine), their
# ratios to faiss (target ≥ 1.2×), peak RSS, and how many top-10 lists equal faiss's.
# usage: Scripts/bench-search.sh
# env:   BENCH_VENV (.venv-bench), BENCH_THREADS (2), CORPUS (100000), QUERIES (1000), REPEATS (3),
#        PRECISIONS ("fp32 auto"), KERNEL (default: $OPENBLAS_CORETYPE, else the kernel Debian's OpenBLAS picks)
# Installs numpy and faiss-cpu from PyPI into $BENCH_VENV once.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${BENCH_VENV:-.venv-bench}
threads=${BENCH_THREADS:-2}
corpus=${CORPUS:-100000}; queries=${QUERIES:-1000}; dim=768
repeats=${REPEATS:-3}; precisions=${PRECISIONS:-fp32 auto}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
if ! "$venv/bin/python" -c "import faiss, numpy" 2>/dev/null; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet ${PIP_ARGS:-} numpy faiss-cpu
fi
swift build -c release --product 05-embed >&2
swift build -c release --product 03-mosaic-model >&2

# 0. One kernel for both sides.
debian_pick=$(env -u OPENBLAS_CORETYPE python3 -c 'import ctypes; f = ctypes.CDLL("libopenblas.so.0").openblas_get_corename; f.restype = ctypes.c_char_p; print(f().decode())')
kernel=${KERNEL:-${OPENBLAS_CORETYPE:-$debian_pick}}
export OPENBLAS_CORETYPE=$kernel OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
cpu=$(lscpu | sed -n 's/^Model name: *//p')
echo "machine: $cpu, $threads threads; OPENBLAS_CORETYPE=$kernel for both sides (Debian's OpenBLAS picks $debian_pick by itself); precisions: faiss fp32, 05-embed $precisions"

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
python3 -c 'import json; print(json.dumps({"architectures": ["BertModel"], "hidden_size": 768, "num_hidden_layers": 1, "num_attention_heads": 12, "intermediate_size": 768, "vocab_size": 30522, "alibi_starting_size": 512, "max_position_embeddings": 512, "type_vocab_size": 2}))' > "$work/config.json"
.build/release/03-mosaic-model --init-random "$work/config.json" --tokenizer data/bert-base-uncased --output "$work/model" 2> /dev/null > /dev/null

# 2. faiss IndexFlatIP: the corpus read from the same .npy, each search timed alone (wall and process CPU), best kept;
#    the kernel its bundled OpenBLAS runs, read from that library; its ids saved for the comparison.
/usr/bin/time -f "%M" -o "$work/faiss.rss" "$venv/bin/python" - "$work" "$threads" "$repeats" <<'PY' > "$work/faiss.out"
import ctypes, sys, time, numpy as np, faiss
work, threads, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
faiss.omp_set_num_threads(threads)
corpus, queries = np.load(f"{work}/corpus.npy"), np.load(f"{work}/queries.npy")
index = faiss.IndexFlatIP(corpus.shape[1]); index.add(corpus)
best_wall = best_cpu = float("inf")
for _ in range(repeats):
    w, c = time.perf_counter(), time.process_time()
    scores, ids = index.search(queries, 10)
    best_wall, best_cpu = min(best_wall, time.perf_counter() - w), min(best_cpu, time.process_time() - c)
np.save(f"{work}/faiss-ids.npy", ids)
libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "openblas" in l and "faiss" in l})
kernel = "unknown"
for lib in libs:
    try:
        get = ctypes.CDLL(lib).openblas_get_corename; get.restype = ctypes.c_char_p; kernel = get().decode()
        get = ctypes.CDLL(lib).openblas_get_config; get.restype = ctypes.c_char_p; kernel += " (" + get().decode().split(" DYNAMIC")[0] + ")"
    except (OSError, AttributeError):
        pass
print(f"{len(queries) / best_wall:.1f} {len(queries) / best_cpu:.1f} {kernel}")
PY
read -r faiss_qps faiss_cpu_qps faiss_kernel < "$work/faiss.out"
faiss_rss=$(( $(cat "$work/faiss.rss") / 1024 ))
echo "faiss IndexFlatIP: $faiss_qps queries/s, $faiss_cpu_qps per CPU second, peak RSS $faiss_rss MB | $cpu, OpenBLAS kernel $faiss_kernel, precision fp32"
case "$faiss_kernel" in
  "$kernel "*) ;;
  *) echo "bench-search: faiss's OpenBLAS runs ${faiss_kernel%% *}, not $kernel (it lacks that kernel): set KERNEL to one both have, e.g. Haswell or SkylakeX" >&2; exit 1 ;;
esac

# 3. 05-embed search (release) at each precision, timed by itself (its log line: wall and CPU seconds), best of
#    REPEATS; peak RSS by /usr/bin/time; lists compared with faiss's.
for precision in $precisions; do
  best=""
  for _ in $(seq "$repeats"); do
    /usr/bin/time -f "%M" -o "$work/swift.rss" .build/release/05-embed search --model "$work/model" --threads "$threads" \
      --precision "$precision" --corpus-embeddings "$work/corpus.npy" --query-embeddings "$work/queries.npy" --top-k 10 \
      --output "$work/swift.jsonl" 2> "$work/swift.log" || { cat "$work/swift.log" >&2; exit 1; }
    run=$(sed -n 's/.* in \([0-9.]*\) s ([0-9.]* queries\/s, CPU \([0-9.]*\) s), precision \([a-z0-9]*\).*/\1 \2 \3/p' "$work/swift.log")
    [ -n "$run" ] || { echo "bench-search: no timing line in 05-embed's log:" >&2; cat "$work/swift.log" >&2; exit 1; }
    best=$(printf '%s\n%s\n' "$best" "$run" | awk 'NF { if (!w || $1 < w) w = $1; if (!c || $2 < c) c = $2; p = $3 } END { print w, c, p }')
  done
  read -r wall cpu_s ran <<< "$best"
  swift_kernel=$(sed -n 's/^05-embed search: \(OpenBLAS [0-9.]*\), kernel \([^ ]*\) .*/\2 (\1)/p' "$work/swift.log")
  case "$swift_kernel" in
    "$kernel "*) ;;
    *) echo "bench-search: 05-embed's OpenBLAS runs ${swift_kernel%% *}, not $kernel" >&2; exit 1 ;;
  esac
  same=$("$venv/bin/python" -c '
import json, sys, numpy as np
ids = np.load(sys.argv[1]); hits = [json.loads(l)["hits"] for l in open(sys.argv[2])]
print(sum(1 for q, h in enumerate(hits) if [x["index"] for x in h] == ids[q].tolist()))' "$work/faiss-ids.npy" "$work/swift.jsonl")
  label="precision $ran"; [ "$ran" = bf16 ] && label="precision bf16 scoring, fp32 re-rank"
  awk -v q="$queries" -v w="$wall" -v c="$cpu_s" -v fw="$faiss_qps" -v fc="$faiss_cpu_qps" -v rss="$(( $(cat "$work/swift.rss") / 1024 ))" \
      -v asked="$precision" -v same="$same" -v cpu="$cpu" -v k="$swift_kernel" -v label="$label" 'BEGIN {
    printf "05-embed search (--precision %s): %.1f queries/s, %.1f per CPU second, peak RSS %d MB; identical top-10 lists: %d of %d | %s, OpenBLAS kernel %s, %s\n", asked, q / w, q / c, rss, same, q, cpu, k, label
    printf "ratio 05-embed / faiss (--precision %s): %.2fx wall, %.2fx per CPU second (target >= 1.2x) | %s, OpenBLAS kernel %s, %s\n", asked, q / w / fw, q / c / fc, cpu, k, label }'
done
