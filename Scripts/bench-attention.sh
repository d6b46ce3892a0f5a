#!/usr/bin/env bash
# Benchmark: attention forward + backward alone (12 heads of 64, ALiBi, one sequence of L tokens, 2 threads)
# at L = 512, 2048, 4096: lodestone-bench --attention-only (the tiled kernels), cblas_sgemm in the same process
# (C[L,L] = A[L,64]·B[L,64]ᵀ on all threads), and PyTorch's scaled_dot_product_attention with the ALiBi bias as
# a float mask. GFLOP/s count the matmuls only: 4·L²·d·heads forward + 8·L²·d·heads backward, for both.
# Targets (issue 9, at L = 2048): ours ≥ 70 % of cblas_sgemm and ≥ 1.5× torch.
# TILES="Q,K …" (e.g. "64,128 128,128 128,256 256,256") first sweeps our kernels over those tile sizes (queries ×
# keys per tile) at each length and prints GFLOP/s per tile, alternating with cblas_sgemm as always.
# usage: Scripts/bench-attention.sh   (env: BENCH_VENV=.venv-bench, BENCH_THREADS=2, BENCH_LENGTHS="512 2048 4096",
#                                      TILES="", PIP_ARGS=<extra pip install args>)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${BENCH_THREADS:-${THREADS:-2}}
lengths=${BENCH_LENGTHS:-512 2048 4096}
venv=${BENCH_VENV:-.venv-bench}
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads

swift build -c release --product lodestone-bench >&2
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet ${PIP_ARGS:-} torch sentence-transformers numpy
fi
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), threads $threads"
for L in $lengths; do
  for tile in ${TILES:-}; do
    line=$(.build/release/lodestone-bench --threads "$threads" --attention-only "$L" --attention-tiles "$tile")
    echo "sweep L=$L tiles=$(sed -n 's/.* tiles=\([^ ]*\).*/\1/p' <<<"$line"): $(sed -n 's/.* gflops=\([^ ]*\).*/\1/p' <<<"$line") GFLOP/s, cblas_sgemm $(sed -n 's/.* sgemm_gflops=\([^ ]*\).*/\1/p' <<<"$line") [OpenBLAS kernel $(sed -n 's/.* kernel=\([^ ]*\).*/\1/p' <<<"$line"), precision fp32]"
  done
  ours=$(.build/release/lodestone-bench --threads "$threads" --attention-only "$L")
  torch=$("$venv/bin/python" Scripts/bench-attention.py "$threads" "$L")
  echo "$ours" >&2; echo "$torch" >&2
  python3 - "$L" "$ours" "$torch" "$(lscpu | sed -n 's/^Model name: *//p' | head -1)" <<'PY'
import sys
def field(line, name): return float(line.split(f"{name}=")[1].split()[0])
L, ours, torch, cpu = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
g, s, t = field(ours, "gflops"), field(ours, "sgemm_gflops"), field(torch, "gflops")
kernel = ours.split("kernel=")[1].split()[0] if "kernel=" in ours else "?"
print(f"L={L}: ours {g:.1f} GFLOP/s, cblas_sgemm {s:.1f} ({100 * g / s:.0f} %, target >= 70 %), "
      f"torch sdpa {t:.1f} ({g / t:.2f}x, target >= 1.5x) [{cpu}, OpenBLAS kernel {kernel}, precision fp32]")
PY
done
