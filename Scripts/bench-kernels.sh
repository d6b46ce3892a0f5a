#!/usr/bin/env bash
# The README's BLAS-kernel table: `lodestone-bench --sgemm-only M,N,K` (the encoder's largest GEMM shape by default)
# under every OpenBLAS kernel this CPU can run, on 1 and 2 threads, best of ROUNDS runs that alternate the kernels
# so that load from other work falls on all of them alike. Prints the CPU and one markdown row per kernel.
# usage: Scripts/bench-kernels.sh [ROUNDS] [M,N,K]     (defaults 5 and 4096,3072,768)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
shape=${2:-4096,3072,768}
swift build -c release --product lodestone-bench >&2
bench=$(swift build -c release --show-bin-path)/lodestone-bench

kernels=("" Prescott Sandybridge Haswell Zen)
grep -qw avx512bw /proc/cpuinfo && kernels+=(SkylakeX)
declare -A best ran
for ((round = 1; round <= rounds; round++)); do
  for kernel in "${kernels[@]}"; do
    for threads in 1 2; do
      # Unset, this benchmark sees the kernel the programs would choose; set, exactly that kernel.
      line=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ${kernel:+OPENBLAS_CORETYPE=$kernel} \
             "$bench" --sgemm-only "$shape" --threads "$threads" 2>/dev/null | grep "cblas_sgemm")
      rate=$(sed -E 's/.*: ([0-9.]+) GFLOP.*/\1/' <<<"$line")
      key="${kernel:-unset}/$threads"
      ran[${kernel:-unset}]=$(sed -E 's/.*kernel ([A-Za-z0-9]+).*/\1/' <<<"$line")
      if [ -z "${best[$key]:-}" ] || awk -v a="$rate" -v b="${best[$key]}" 'BEGIN { exit !(a > b) }'; then best[$key]=$rate; fi
    done
  done
  echo "bench-kernels: round $round of $rounds done" >&2
done

family=$(sed -n 's/^cpu family[[:space:]]*: //p;' /proc/cpuinfo | head -1); model=$(sed -n 's/^model[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), family $family model $model ($(grep -oE 'avx512bw|avx2' /proc/cpuinfo | sort -u | tr '\n' ' '| sed 's/ $//')), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sgemm $shape, GFLOP/s, best of $rounds alternating rounds"
echo "| \`OPENBLAS_CORETYPE\` | kernel run | 1 thread | 2 threads |"
echo "| --- | --- | --- | --- |"
for kernel in "${kernels[@]}"; do
  name="unset (the programs' choice)"; [ -n "$kernel" ] && name="\`$kernel\`"
  echo "| $name | ${ran[${kernel:-unset}]} | ${best[${kernel:-unset}/1]} | ${best[${kernel:-unset}/2]} |"
done
