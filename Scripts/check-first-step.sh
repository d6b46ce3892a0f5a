#!/usr/bin/env bash
# 04-training's first step against sentence-transformers: on all-MiniLM-L6-v2 and the bundled sample
# (data/sample, loaded by 01 and counted by 02), 04 trains one step without dropout and logs its batch
# (--log-batches); Scripts/reference/first_step_loss.py then computes the loss of that batch with
# sentence-transformers' own loss class and the same initial model in eval mode. Step 1's loss in loss.csv
# must equal it: the sampler's batch, the tokenizer, the encoder and the loss together, for each loss below
# (MNRL, MatryoshkaLoss around it, symmetric MNRL, GISTEmbedLoss guided by the model itself and by the repo's
# tiny BERT, whose other vocabulary makes sentence-transformers re-tokenize the batch for it).
# Prints both numbers and |diff| per loss; exits 1 if any |diff| exceeds TOLERANCE.
# usage: Scripts/check-first-step.sh   (env: BENCH_VENV=.venv-bench, LODESTONE_MINILM=<model dir>, THREADS=2,
#                                        TOLERANCE=2e-4, BATCH_SIZE=16, MAX_SEQ_LENGTH=128, SEED=42)
# Installs torch and sentence-transformers from PyPI into $BENCH_VENV once (shared with the benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${BENCH_VENV:-.venv-bench}
threads=${THREADS:-2}
tolerance=${TOLERANCE:-2e-4}
batch=${BATCH_SIZE:-16} max_seq_length=${MAX_SEQ_LENGTH:-128} seed=${SEED:-42}
script=check-first-step
source Scripts/check-common.sh

minilm=${LODESTONE_MINILM:-$(bash Scripts/fetch-minilm.sh)}
echo "== model: $minilm; data: data/sample"
quiet "$work/01.log" "$bin/01-dataloading" --manifests data/sample --store "$work/store"
quiet "$work/02.log" "$bin/02-data-records" --store "$work/store" --output "$work/data_records.json"

failed=0
check() {  # check NAME [04-training's loss flags…]: one logged step, then sentence-transformers on its batch
  local name=$1; shift
  quiet "$work/04-$name.log" "$bin/04-training" --store "$work/store" --records "$work/data_records.json" \
    --model "$minilm" --output "$work/$name" --log-batches "$work/$name.jsonl" --dropout off --threads "$threads" \
    --cycles 1 --chunks 1 --epochs 1 --steps-per-epoch 1 --warmup-steps 0 --batch-size "$batch" \
    --max-seq-length "$max_seq_length" --seed "$seed" "$@"
  local ours reference what
  ours=$(awk -F, 'NR == 2 { print $5 }' "$work/$name/loss.csv")
  IFS=$'\t' read -r reference what < <("$python" Scripts/reference/first_step_loss.py --model "$minilm" \
    --batches "$work/$name.jsonl" --max-seq-length "$max_seq_length" "$@" 2>"$work/st-$name.log") \
    || { cat "$work/st-$name.log" >&2; echo "check-first-step: $name: sentence-transformers failed" >&2; exit 1; }
  if ! awk -v a="$ours" -v b="$reference" -v t="$tolerance" -v n="$name" -v w="$what" 'BEGIN {
      d = a - b; if (d < 0) d = -d
      printf "%-11s 04-training %-10s sentence-transformers %-12s |diff| %.2e  (%s)\n", n, a, b, d, w
      exit !(d <= t) }'; then
    failed=1
  fi
}

echo "== step 1's loss: 04-training (loss.csv) vs sentence-transformers on the logged batch"
check mnrl
check matryoshka --loss matryoshka --matryoshka-dims 384,256,128,64
check symmetric --symmetric-loss
check gist --loss gist --guide-model "$minilm"
check gist-tiny --loss gist --guide-model Tests/Fixtures/reference/bert-tiny --gist-margin-strategy relative --gist-margin 0.001
# Another loss is one more line here and one entry in first_step_loss.py's LOSSES.

if [ "$failed" = 0 ]; then echo "check-first-step: OK (every |diff| <= $tolerance)"
else echo "check-first-step: FAILED: |diff| above $tolerance" >&2; exit 1; fi
