#!/usr/bin/env bash
# Python loads the models this project writes, unchanged: SentenceTransformer(DIR, trust_remote_code=True)
# embeds as 05-embed does, for
#   (a) a freshly initialised MosaicBERT from 03 (ALiBi table 512, max_seq_length 4096, so the 3,000-token
#       text runs past the table),
#   (b) the model trained by the main job (runs/replicate/train/model; when absent, 04 trains one for a few
#       steps on data/sample, starting from (a)),
#   (c) a classic BERT (all-MiniLM-L6-v2, which stock transformers loads),
# on short texts and a 3,000-token one, batched (padded) and one at a time; and the fixtures' upstream
# MosaicBERT checkpoint loads into our modules and gives the reference outputs.
# Prints the max |difference| per model; exits 1 if any exceeds TOLERANCE (1e-5).
# usage: Scripts/check-python.sh     (env: BENCH_VENV=.venv-bench, MAIN_MODEL=runs/replicate/train/model,
#                                     LODESTONE_MINILM=<model dir>, LODESTONE_FIXTURES=Tests/Fixtures/reference,
#                                     THREADS=2, TOLERANCE=1e-5, PIP_ARGS=<extra pip install args>)
# Installs torch, sentence-transformers and numpy from PyPI into $BENCH_VENV once (shared with the benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${BENCH_VENV:-.venv-bench}
threads=${THREADS:-2}
main_model=${MAIN_MODEL:-runs/replicate/train/model}
fixtures=${LODESTONE_FIXTURES:-Tests/Fixtures/reference}
script=check-python
source Scripts/check-common.sh

"$python" Scripts/check-python.py texts data/bert-base-uncased/vocab.txt "$work/texts.txt"

echo "== (a) MosaicBERT, random init"
quiet "$work/03.log" "$bin/03-mosaic-model" --init-random data/mosaic-small-config.json \
  --tokenizer data/bert-base-uncased --max-seq-length 4096 --alibi-starting-size 512 --output "$work/mosaic-init"

echo "== (b) MosaicBERT, trained"
if [ -d "$main_model" ]; then
  trained=$main_model
  echo "the main job's model: $trained"
else
  echo "$main_model not found (Scripts/replicate.sh makes it): training one for 4 steps on data/sample instead"
  quiet "$work/01.log" "$bin/01-dataloading" --manifests data/sample --store "$work/store"
  quiet "$work/02.log" "$bin/02-data-records" --store "$work/store" --output "$work/data_records.json"
  quiet "$work/04.log" "$bin/04-training" --store "$work/store" --records "$work/data_records.json" \
    --model "$work/mosaic-init" --output "$work/train" --cycles 1 --chunks 1 --epochs 1 --steps-per-epoch 4 \
    --batch-size 8 --max-seq-length 64 --lr 1e-4 --warmup-steps 0 --threads "$threads"
  trained=$work/train/model
fi

echo "== (c) classic BERT"
minilm=${LODESTONE_MINILM:-$(bash Scripts/fetch-minilm.sh)}
echo "$minilm"

models=()
for entry in "mosaic-init=$work/mosaic-init" "mosaic-trained=$trained" "minilm=$minilm"; do
  name=${entry%%=*} dir=${entry#*=}
  quiet "$work/05-$name.log" "$bin/05-embed" encode --model "$dir" --input "$work/texts.txt" \
    --output "$work/$name.npy" --threads "$threads"
  models+=(--model "$name" "$dir" "$work/$name.npy")
done

echo "== sentence-transformers vs 05-embed"
"$python" Scripts/check-python.py compare --texts "$work/texts.txt" "${models[@]}" \
  --original "$fixtures/mosaic-tiny" --tolerance "${TOLERANCE:-1e-5}" --threads "$threads"
