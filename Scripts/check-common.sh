# Sourced by the scripts that check 05/04 against Python (check-python.sh, check-first-step.sh), after they set
# `venv`, `threads` and `script` (the script's name, for messages): the venv with torch and sentence-transformers
# (installed from PyPI once, shared with the benchmarks) as $python, the release binaries as $bin, a scratch $work
# removed on exit, and `quiet LOG COMMAND…`, which runs a command keeping its output in LOG, shown only on failure.
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet ${PIP_ARGS:-} torch sentence-transformers numpy
fi
python=$venv/bin/python

echo "== build (release)"
swift build -c release 2>&1 | grep -E "error|Compiling|Build" | tail -3
bin=$(swift build -c release --show-bin-path)
quiet() {
  local log=$1; shift
  if ! "$@" >"$log" 2>&1; then cat "$log" >&2; echo "$script: failed: $*" >&2; exit 1; fi
}
