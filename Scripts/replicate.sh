#!/usr/bin/env bash
# The main job: the whole Lodestone replication, offline, on the bundled sample (data/sample), in order:
#   01 manifests → object store   02 store → data_records.json   03 tiny MosaicBERT, random init
#   05 evaluation before training   04 training (short schedule, data/train-small.json)   05 evaluation after
# Evaluates, before and after training, as sentence-transformers' evaluators do: held-out anchor/positive pairs
# (data/sample/eval_pairs.jsonl: accuracy@1, MRR@10), a BEIR-layout retrieval set (data/eval/retrieval: nDCG@10)
# and scored pairs (data/eval/similarity.tsv: Spearman). Fails unless training clearly improved accuracy@1. Under 10 minutes on 2 cores once built (release).
# usage: Scripts/replicate.sh [RUN_DIR]        (default runs/replicate; a previous run there is replaced, any
#                                             other non-empty directory is refused)
#   env: TRAIN_CONFIG (default data/train-small.json), THREADS (default 2), MIN_GAIN (accuracy@1, default 0.10),
#        MATRYOSHKA=1 also trains with MatryoshkaLoss (dims 256,128,64) and compares both models at 64 dimensions,
#        PRECISION (default fp32; bf16 or auto: 04's and 05's GEMMs, see README "bf16 mixed precision")
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/replicate}
config=${TRAIN_CONFIG:-data/train-small.json}
threads=${THREADS:-2}
min_gain=${MIN_GAIN:-0.10}
precision=${PRECISION:-fp32}
export OPENBLAS_NUM_THREADS=$threads

# Replace only a run directory this script made (it holds the marker), never someone's other files.
if [ -e "$run" ] && [ -n "$(ls -A "$run" 2>/dev/null || echo not-a-dir)" ] && [ ! -f "$run/.replicate-run" ]; then
  echo "replicate: $run exists and is not a run directory of this script; refusing to replace it (give another RUN_DIR)" >&2
  exit 1
fi

echo "== build (release)"
swift build -c release 2>&1 | grep -E "error|warning: unre|Compiling|Build" | tail -3
bin=$(swift build -c release --show-bin-path)

rm -rf "$run"; mkdir -p "$run"; touch "$run/.replicate-run"

start=$(date +%s)
step() {  # step NAME COMMAND…: runs, logs to $run/NAME.log, prints the time it took
  local name=$1; shift
  local t0; t0=$(date +%s)
  echo "== $name: $*"
  if ! "$@" > >(tee "$run/$name.log") 2>&1; then echo "replicate: step $name failed (log: $run/$name.log)" >&2; exit 1; fi
  echo "   ($name: $(( $(date +%s) - t0 )) s)"
}

step 01-dataloading "$bin/01-dataloading" --manifests data/sample --store "$run/store"
step 02-data-records "$bin/02-data-records" --store "$run/store" --output "$run/data_records.json"
step 03-mosaic-model "$bin/03-mosaic-model" --init-random data/mosaic-small-config.json --tokenizer data/bert-base-uncased \
  --max-seq-length 128 --output "$run/model-init"
evaluate() {  # evaluate WHEN MODEL: the three evaluation sets, scores also as JSON in the run directory
  step "05-$1-pairs" "$bin/05-embed" evaluate --model "$2" --data data/sample/eval_pairs.jsonl --threads "$threads" --precision "$precision" --json "$run/eval-$1-pairs.json"
  step "05-$1-retrieval" "$bin/05-embed" evaluate --model "$2" --data data/eval/retrieval --threads "$threads" --precision "$precision" --json "$run/eval-$1-retrieval.json"
  step "05-$1-similarity" "$bin/05-embed" evaluate --model "$2" --data data/eval/similarity.tsv --threads "$threads" --precision "$precision" --json "$run/eval-$1-similarity.json"
}
evaluate before "$run/model-init"
step 04-training "$bin/04-training" --precision "$precision" --store "$run/store" --records "$run/data_records.json" --model "$run/model-init" \
  --output "$run/train" --config "$config" --threads "$threads" --eval data/eval/retrieval data/eval/similarity.tsv
evaluate after "$run/train/model"

metric() { grep -E "^$1:" "$run/$2.log" | awk '{print $2}'; }
b1=$(metric cosine_accuracy@1 05-before-pairs); a1=$(metric cosine_accuracy@1 05-after-pairs)
echo
echo "== held-out evaluation (pairs: data/sample/eval_pairs.jsonl, retrieval: data/eval/retrieval, similarity: data/eval/similarity.tsv)"
printf '%-16s %12s %12s %16s %18s\n' "" "accuracy@1" "MRR@10" "retrieval nDCG@10" "similarity Spearman"
for when in before after; do
  printf '%-16s %12s %12s %16s %18s\n' "$when training" "$(metric cosine_accuracy@1 05-$when-pairs)" \
    "$(metric cosine_mrr@10 05-$when-pairs)" "$(metric cosine_ndcg@10 05-$when-retrieval)" "$(metric spearman_cosine 05-$when-similarity)"
done
if [ "${MATRYOSHKA:-0}" = 1 ]; then
  # The Matryoshka path: the same schedule with MatryoshkaLoss, then both models scored on their first 64 dimensions.
  step 04-training-matryoshka "$bin/04-training" --store "$run/store" --records "$run/data_records.json" --model "$run/model-init" \
    --output "$run/train-matryoshka" --config "$config" --threads "$threads" --loss matryoshka --matryoshka-dims 256,128,64
  for which in train train-matryoshka; do
    for dim in 256 64; do
      step "05-$which-$dim-pairs" "$bin/05-embed" evaluate --model "$run/$which/model" --data data/sample/eval_pairs.jsonl --threads "$threads" --truncate-dim "$dim"
      step "05-$which-$dim-retrieval" "$bin/05-embed" evaluate --model "$run/$which/model" --data data/eval/retrieval --threads "$threads" --truncate-dim "$dim"
    done
  done
  echo
  echo "== Matryoshka: MNRL and MatryoshkaLoss(256,128,64) models at full width and on their first 64 dimensions"
  printf '%-34s %12s %12s %16s\n' "" "accuracy@1" "MRR@10" "retrieval nDCG@10"
  for which in train train-matryoshka; do
    for dim in 256 64; do
      printf '%-34s %12s %12s %16s\n' "$([ $which = train ] && echo MNRL || echo Matryoshka), $dim dims" "$(metric cosine_accuracy@1 05-$which-$dim-pairs)" \
        "$(metric cosine_mrr@10 05-$which-$dim-pairs)" "$(metric cosine_ndcg@10 05-$which-$dim-retrieval)"
    done
  done
fi
echo "train log: $run/train/train_logs.txt   loss: $run/train/loss.csv, $run/train/loss.svg   evaluation per epoch: $run/train/eval.csv   model: $run/train/model"
echo "total: $(( $(date +%s) - start )) s"
if awk -v b="$b1" -v a="$a1" -v g="$min_gain" 'BEGIN { exit !(a >= b + g) }'; then
  echo "replicate: OK (accuracy@1 rose by at least $min_gain)"
else
  echo "replicate: FAILED: accuracy@1 did not rise by $min_gain" >&2; exit 1
fi
