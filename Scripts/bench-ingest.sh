#!/usr/bin/env bash
# Benchmark of 01-dataloading's transfer path: a 2 GiB file served over loopback, pulled
#   (a) by `curl -o` into a file (the baseline), and
#   (b) by 01-dataloading (release build, default flags) into a local store (streamed, written, renamed),
# each three times (alternating; the machine is shared, so the best run of each is kept). Prints both rates, their ratio and the Swift process's peak RSS.
# For reference it also times the durable variants: `curl -o` + sync, and 01-dataloading --fsync
# (both bound by the disk's write speed rather than by the transfer path).
# Targets: ratio >= 0.9, peak RSS < 100 MB (and independent of the file's size).
# usage: Scripts/bench-ingest.sh [size in MiB, default 2048]
set -euo pipefail
cd "$(dirname "$0")/.."
mib=${1:-2048}
swift build -c release --product 01-dataloading >/dev/null
exe=$(swift build -c release --show-bin-path)/01-dataloading

work=$(mktemp -d /tmp/lodestone-bench.XXXXXX)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; exec 3>&- 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/root" "$work/manifests"
head -c "$((mib * 1024 * 1024))" /dev/urandom > "$work/root/big.bin"
bytes=$(stat -c %s "$work/root/big.bin")

# The loopback server (sendfile fast path); it serves until its stdin closes.
mkfifo "$work/ctl"
python3 Tests/StorageTests/Servers/fault_server.py --root "$work/root" < "$work/ctl" > "$work/server.json" &
server_pid=$!
exec 3>"$work/ctl"
for _ in $(seq 100); do [ -s "$work/server.json" ] && break; sleep 0.1; done
port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$work/server.json")
url="http://127.0.0.1:$port/files/big.bin"
printf 'Name\tDescription\tSize (#Pairs)\tPerformance\tDownload link\tSource\nbench\t%s MiB of random bytes\t\t\t%s\t\n' "$mib" "$url" \
  > "$work/manifests/GoogleSheets_datasets.tsv"

now() { date +%s.%N; }
declare -A best=([curl]=0 [curl_sync]=0 [swift]=0 [swift_fsync]=0)
rss_kb=0
keep() { best[$1]=$(python3 -c "print(max(${best[$1]}, $bytes / ($3 - $2)))"); }
swift_run() {  # $1: name in best[], then extra flags
  local name=$1; shift
  rm -rf "$work/store"; sync
  local t0; t0=$(now)
  /usr/bin/time -f '%M' -o "$work/rss" "$exe" --manifests "$work/manifests" --store "$work/store" "$@" >/dev/null 2>"$work/swift.log" \
    || { cat "$work/swift.log"; exit 1; }
  keep "$name" "$t0" "$(now)"
  local stored; stored=$(stat -c %s "$work/store/data/bench.json.gz")
  [ "$stored" = "$bytes" ] || { echo "bench: stored $stored bytes, expected $bytes"; exit 1; }
  local r; r=$(cat "$work/rss"); [ "$r" -gt "$rss_kb" ] && rss_kb=$r
  return 0
}
for round in 1 2 3; do
  rm -f "$work/curl.out"; sync
  t0=$(now); curl -sS -o "$work/curl.out" "$url"; keep curl "$t0" "$(now)"
  swift_run swift
  rm -f "$work/curl.out"; sync
  t0=$(now); curl -sS -o "$work/curl.out" "$url"; sync "$work/curl.out"; keep curl_sync "$t0" "$(now)"
  swift_run swift_fsync --fsync
done
rm -f "$work/curl.out"
python3 - "${best[curl]}" "${best[swift]}" "${best[curl_sync]}" "${best[swift_fsync]}" "$rss_kb" "$bytes" <<'PY'
import sys
curl, swift, curl_sync, swift_fsync = map(float, sys.argv[1:5])
rss_kb, size = int(sys.argv[5]), int(sys.argv[6])
print(f"bench-ingest: {size / 2**30:.2f} GiB over loopback, best of 3 runs each (whole process for Swift: start, plan, transfer, commit)")
print(f"curl -o file:                            {curl / 1e6:8.1f} MB/s")
print(f"01-dataloading → local store:            {swift / 1e6:8.1f} MB/s")
print(f"ratio 01-dataloading / curl: {swift / curl:.2f}   (target >= 0.90)")
print(f"durable, for reference: curl -o + sync {curl_sync / 1e6:.1f} MB/s, 01-dataloading --fsync {swift_fsync / 1e6:.1f} MB/s, ratio {swift_fsync / curl_sync:.2f}")
print(f"peak RSS of 01-dataloading: {rss_kb / 1024:.1f} MB   (target < 100 MB)")
PY
