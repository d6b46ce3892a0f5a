#!/usr/bin/env bash
# Checks that `05-embed evaluate` scores what sentence-transformers' evaluators score: the same model on the same
# data, every metric within 1e-4. Runs the three kinds of evaluation set (BEIR retrieval, scored pairs, pairs).
# usage: Scripts/compare-evaluation.sh [MODEL_DIR]   (default: all-MiniLM-L6-v2 via Scripts/fetch-minilm.sh)
#   env: BENCH_VENV (default .venv-bench; torch and sentence-transformers are installed there from PyPI once)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-$(bash Scripts/fetch-minilm.sh)}
venv=${BENCH_VENV:-.venv-bench}
if ! "$venv/bin/python" -c "import sentence_transformers" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet ${PIP_ARGS:-} torch sentence-transformers numpy
fi
swift build -c release --product 05-embed >&2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
status=0
for data in data/eval/retrieval data/eval/similarity.tsv data/sample/eval_pairs.jsonl; do
  echo "== $data ($model)"
  .build/release/05-embed evaluate --model "$model" --data "$data" --json "$work/swift.json" > /dev/null 2>&1
  "$venv/bin/python" Scripts/compare-evaluation.py "$model" "$data" "$work/swift.json" || status=1
done
exit $status
