#!/usr/bin/env bash
# Scripts/bench-long.sh — training at the original's lengths and sizes in bounded memory (issue: cached MNRL,
# tiled attention, streaming sampler). In one run, on THREADS threads, prints each figure next to its baseline:
#   1. attention forward + backward alone (12 heads × 64, ALiBi) at L = 512, 2048, 4096 against cblas_sgemm in the
#      same process and PyTorch's scaled_dot_product_attention (Scripts/bench-attention.sh);
#   2. MosaicBERT-base with the original's defaults, 16 pairs × 2048 tokens: peak RSS within BUDGET (target ≤ 6 GB),
#      tokens/s, GFLOP/s counting attention against cblas_sgemm (target ≥ 65 %);
#   3. 256 pairs × 512 tokens: peak RSS (target ≤ 6 GB). A whole step of it is ~2·10¹⁴ FLOPs (half an hour on two
#      cores), so by default the step stops after its first passes with activations — by then every buffer of the
#      step is allocated (embedding pass, step buffers, the largest pass); FULL=1 runs the whole step;
#   4. PyTorch's plain step (no caching) at 2048 tokens: one pair measures its memory per pair, then the largest batch
#      that fits TORCH_MEMORY runs; per-token throughput ratio;
#   5. the streaming sampler at the original's 1.49 billion records (Scripts/bench-sampler.sh).
# Env: THREADS (2), BUDGET (5.5G: binary units, 5.9 GB), TORCH_MEMORY (16G), STEPS (1), FULL (0),
#      SKIP ("": any of attention torch sampler), LODESTONE_BENCH_VENV (.build/bench-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
BUDGET=${BUDGET:-5.5G}
TORCH_MEMORY=${TORCH_MEMORY:-16G}
STEPS=${STEPS:-1}
FULL=${FULL:-0}
SKIP=${SKIP:-}
VENV=${LODESTONE_BENCH_VENV:-.build/bench-venv}
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
skipped() { [[ " $SKIP " == *" $1 "* ]]; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
calc() { python3 -c "print($1)"; }

swift build -c release --product lodestone-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/lodestone-bench
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "bench-long: threads=$THREADS, $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Attention alone.
if ! skipped attention && [ -f Scripts/bench-attention.sh ]; then
  echo "== attention forward + backward (12 heads, head size 64, ALiBi)"
  THREADS=$THREADS bash Scripts/bench-attention.sh
fi

# 2. The original's defaults: 16 pairs, every text 2048 tokens, MosaicBERT-base.
echo "== MosaicBERT-base, 16 pairs × 2048 tokens, --memory-budget $BUDGET, $STEPS step(s)"
line=$("$BENCH" --model base --batch 16 --seq 2048 --steps "$STEPS" --warmup 0 --threads "$THREADS" --memory-budget "$BUDGET" 2>/dev/null)
echo "$line"
rss=$(field peak_rss_mb "$line"); gf=$(field gflops_with_attention "$line"); sg=$(field sgemm_gflops "$line")
swift_tps=$(field tokens_per_s "$line")
printf 'peak RSS %s MB (target <= 6000 MB: %s); %s tokens/s; %s GFLOP/s counting attention = %.0f %% of cblas_sgemm %s GFLOP/s (target >= 65 %%); %s passes with activations after %s embedding pass(es), %s GFLOP/s executed; OpenBLAS kernel %s, precision fp32, %s\n' \
  "$rss" "$([ "$rss" -le 6000 ] && echo met || echo missed)" "$swift_tps" "$gf" "$(calc "100*$gf/$sg")" "$sg" \
  "$(field passes "$line")" "$(field embedding_passes "$line")" "$(field executed_gflops "$line")" "$(field kernel "$line")" "$cpu"

# 3. A batch of 256 pairs × 512 tokens.
echo "== MosaicBERT-base, 256 pairs × 512 tokens, --memory-budget $BUDGET"
if [ "$FULL" = 1 ]; then
  line=$("$BENCH" --model base --batch 256 --seq 512 --steps 1 --warmup 0 --threads "$THREADS" --memory-budget "$BUDGET" 2>/dev/null)
else
  line=$("$BENCH" --model base --batch 256 --seq 512 --steps 1 --warmup 0 --threads "$THREADS" --memory-budget "$BUDGET" --memory-passes 2 2>/dev/null)
fi
echo "$line"
rss=$(field peak_rss_mb "$line")
stopped=""
[ "$FULL" = 1 ] || stopped="; the step stopped after $(field passes_run "$line") of its $(field passes_total "$line") passes with activations (FULL=1 runs it all)"
printf 'peak RSS %s MB (target <= 6000 MB: %s)%s; OpenBLAS kernel %s, precision fp32, %s\n' "$rss" "$([ "$rss" -le 6000 ] && echo met || echo missed)" "$stopped" "$(field kernel "$line")" "$cpu"

# 4. PyTorch's plain step at 2048 tokens, at the largest batch that fits TORCH_MEMORY.
if ! skipped torch; then
  if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    python3 -m venv "$VENV"
    cpu_wheel=$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -1 || true)
    "$VENV/bin/pip" install -q numpy ${cpu_wheel:-torch}
  fi
  echo "== PyTorch plain step (no caching), MosaicBERT-base, 2048 tokens"
  one=$("$VENV/bin/python" Scripts/bench_train_torch.py --model base --batch 1 --seq 2048 --steps 1 --warmup 0 --threads "$THREADS")
  echo "$one"
  budget_mb=$(python3 - "$TORCH_MEMORY" <<'PY'
import re, sys
m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?)(I?B)?\s*", sys.argv[1].upper())
print(int(float(m[1]) * 1024 ** "_KMGT".index(m[2] or "_") / 1e6) if m else 16000)
PY
)
  per_pair=$(field peak_rss_mb "$one")
  batch=$(calc "max(1, min(16, int($budget_mb / $per_pair)))")
  if [ "$batch" -gt 1 ]; then
    torch_line=$("$VENV/bin/python" Scripts/bench_train_torch.py --model base --batch "$batch" --seq 2048 --steps 1 --warmup 0 --threads "$THREADS")
    echo "$torch_line"
  else
    torch_line=$one
  fi
  torch_tps=$(field tokens_per_s "$torch_line")
  printf 'PyTorch plain step: %s pair(s) × 2048 fit %s (1 pair peaks at %s MB): %s tokens/s, peak RSS %s MB | swift cached MNRL, 16 pairs in %s: %s tokens/s | ratio swift/pytorch %.2fx per token | precision fp32, %s\n' \
    "$batch" "$TORCH_MEMORY" "$per_pair" "$torch_tps" "$(field peak_rss_mb "$torch_line")" "$BUDGET" "$swift_tps" "$(calc "$swift_tps/$torch_tps")" "$cpu"
fi

# 5. The streaming sampler.
if ! skipped sampler && [ -f Scripts/bench-sampler.sh ]; then
  echo "== streaming sampler"
  bash Scripts/bench-sampler.sh
fi
