#!/usr/bin/env bash
# Regenerates the repo's conformance fixtures, Tests/Fixtures/reference, from the PyTorch reference in
# Scripts/reference (llm.c's pattern: the reference writes what the tests check). Deterministic: rerun with the
# same library versions, it writes the same files. The tests themselves need no Python.
# usage: Scripts/make-fixtures.sh [OUT]     (default OUT: Tests/Fixtures/reference)
# env:   PYTHON=<a python with torch, transformers, sentence-transformers> skips the virtualenv;
#        FIXTURES_VENV (.build/fixtures-venv, installed from PyPI on first use, pinned to the versions the
#        committed fixtures were made with), PIP_ARGS=<extra pip install args>, LODESTONE_MINILM=<model dir>.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-Tests/Fixtures/reference}
python=${PYTHON:-}
if [ -z "$python" ]; then
  venv=${FIXTURES_VENV:-.build/fixtures-venv}
  if ! "$venv/bin/python" -c "import torch, transformers, sentence_transformers, safetensors, datasets" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet ${PIP_ARGS:-} "torch==2.15.0" "transformers==5.24.0" \
      "sentence-transformers==6.3.0" safetensors numpy datasets
  fi
  python=$venv/bin/python
fi
minilm=${LODESTONE_MINILM:-$(bash Scripts/fetch-minilm.sh)}
# One thread: the same summation order, so the same bytes, on every run.
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$python" Scripts/reference/make_fixtures.py --out "$out" --minilm "$minilm"
mkdir -p "$out/losses"
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$python" Scripts/reference/make_loss_fixtures.py --out "$out/losses/losses.json"
OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$python" Scripts/reference/make_mining_fixtures.py --out "$out/mining" --minilm "$minilm"
