#!/usr/bin/env bash
# Model directories as sentence-transformers 2.x and 6.x save them (every pooling setup 05-embed reads), checked
# against 05-embed, and small copies of their JSON files kept in Tests/ModelTests/Fixtures/ so that the tests need
# no Python (and, for the Dense setup, its weights, evaluation sets and sentence-transformers' metric values on them,
# so the tests check 05-embed's cosine metrics against Python's). Sentence-transformers 6.x runs from the benchmark virtualenv; 2.7 (with transformers 4.41) is
# installed beside it into .build/st2-packages, sharing its torch.
# usage: Scripts/make-st-fixtures.sh      (env: BENCH_VENV=.venv-bench; base model: Tests/Fixtures/reference/bert-tiny)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${BENCH_VENV:-.venv-bench}
base=${BASE_MODEL:-Tests/Fixtures/reference/bert-tiny}
if ! "$venv/bin/python" -c "import sentence_transformers" 2>/dev/null; then
  python3 -m venv "$venv"; "$venv/bin/pip" install --quiet ${PIP_ARGS:-} torch sentence-transformers numpy
fi
st2=.build/st2-packages
if [ ! -d "$st2/PIL" ]; then
  "$venv/bin/pip" install --quiet --no-deps --target "$st2" "sentence-transformers==2.7.0" "transformers==4.41.2" \
    "tokenizers==0.19.1" "huggingface-hub==0.23.4" requests urllib3 idna charset-normalizer certifi pillow
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$venv/bin/python" Scripts/make-st-fixtures.py save "$work" "$base"
PYTHONPATH="$st2" "$venv/bin/python" Scripts/make-st-fixtures.py save "$work" "$base"

swift build --product 05-embed >&2
bin=$(swift build --show-bin-path)
status=0
for dir in "$work"/st*; do
  "$bin/05-embed" --model "$dir" --input "$dir/texts.txt" --output "$work/swift.npy" > /dev/null 2>&1 || { echo "$(basename "$dir"): 05-embed failed"; status=1; continue; }
  "$venv/bin/python" Scripts/make-st-fixtures.py compare "$dir" "$work/swift.npy" || status=1
  keep=Tests/ModelTests/Fixtures/$(basename "$dir")
  rm -rf "$keep"; mkdir -p "$keep"
  for f in modules.json sentence_bert_config.json config_sentence_transformers.json tokenizer_config.json; do
    if [ -f "$dir/$f" ]; then cp "$dir/$f" "$keep/"; fi
  done
  for sub in "$dir"/*/; do
    name=$(basename "$sub")
    if [ -f "$sub/config.json" ]; then mkdir -p "$keep/$name"; cp "$sub/config.json" "$keep/$name/"; fi
    # A Dense module's weights are small (in × out floats): kept, as the module cannot be read without them.
    for w in model.safetensors pytorch_model.bin; do
      if [ -f "$sub/$w" ] && [[ "$name" == *Dense* ]]; then cp "$sub/$w" "$keep/$name/"; fi
    done
  done
  # The dense setup's evaluation sets and sentence-transformers' values on them.
  for f in expected.json pairs.tsv; do if [ -f "$dir/$f" ]; then cp "$dir/$f" "$keep/"; fi; done
  if [ -d "$dir/beir" ]; then cp -r "$dir/beir" "$keep/"; fi
done
echo "JSON copies in Tests/ModelTests/Fixtures/"
exit $status
