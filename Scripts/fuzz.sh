#!/usr/bin/env bash
# Fuzzes every parser of files that come from strangers (safetensors, the pickle machine and its zip, .npy, gzip JSON
# records, TSV manifests, evaluation files, tokenizer files, config.json) with libFuzzer and AddressSanitizer:
# builds the harnesses of Fuzz/ (`swift build --sanitize fuzzer --sanitize address`), runs all of them at once for
# N seconds each, each on a copy of its seed corpus (Fuzz/corpus, made by Fuzz/make-seeds.py; it never grows), and
# prints one line per harness: executions and findings. A finding (a crash, a Swift trap, an ASan report, a
# timeout) keeps its input under .build/fuzz/findings/<harness>/ and makes the exit status 1.
# usage: Scripts/fuzz.sh [--seconds N] [HARNESS…]     (default 60 seconds, every harness)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
harnesses=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || { echo "fuzz.sh: --seconds wants a number of seconds" >&2; exit 64; }
               seconds=$2; shift 2 ;;
    --help|-h) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
    *) harnesses+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: --seconds wants a whole number of seconds, not '$seconds'" >&2; exit 64; }
[ ${#harnesses[@]} -gt 0 ] || harnesses=($(ls Fuzz/Harnesses))
for name in "${harnesses[@]}"; do
  [ -d "Fuzz/Harnesses/$name" ] || { echo "fuzz.sh: no harness '$name' (have: $(ls Fuzz/Harnesses | tr '\n' ' '))" >&2; exit 64; }
done

echo "fuzz.sh: building ${#harnesses[@]} harnesses (debug, libFuzzer + AddressSanitizer)" >&2
(cd Fuzz && swift build --sanitize fuzzer --sanitize address >&2)
bin=$(cd Fuzz && swift build --sanitize fuzzer --sanitize address --show-bin-path)
work=.build/fuzz
rm -rf "$work/run"; mkdir -p "$work/run" "$work/findings"
# Leaks are not findings: Foundation and the Swift runtime keep caches for the life of the process.
export ASAN_OPTIONS=detect_leaks=0:${ASAN_OPTIONS:-}
export FUZZ_SCRATCH=$work/run

pids=()
for name in "${harnesses[@]}"; do
  mkdir -p "$work/run/$name/corpus" "$work/findings/$name"
  cp Fuzz/corpus/"$name"/* "$work/run/$name/corpus/"
  "$bin/fuzz-$name" "$work/run/$name/corpus" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$work/findings/$name/" > "$work/run/$name/log" 2>&1 &
  pids+=($!)
done

status=0
for i in "${!harnesses[@]}"; do
  name=${harnesses[$i]}
  rc=0; wait "${pids[$i]}" || rc=$?
  log=$work/run/$name/log
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  findings=$(find "$work/findings/$name" -type f | wc -l)
  if [ "$rc" != 0 ] && [ "$findings" = 0 ]; then findings=1; fi
  echo "fuzz $name: ${runs:-0} executions in ${seconds} s, $findings findings"
  if [ "$findings" != 0 ]; then
    status=1
    grep -m3 -E "ERROR|Fatal error|SUMMARY|deadly signal" "$log" | sed "s/^/  $name: /"
    echo "  $name: inputs kept in $work/findings/$name/, log in $log"
  fi
done
exit $status
