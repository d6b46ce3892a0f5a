#!/usr/bin/env bash
# Scripts/bench-train.sh — training throughput (forward, MNRL backward, clip, AdamW) of the Swift encoder
# against a PyTorch implementation of the same model and step (Scripts/bench_train_torch.py), both on the
# same number of threads, in one run. Prints pairs/s for both, the ratio, and the achieved GFLOP/s
# (6 × non-embedding parameters × tokens / time) next to cblas_sgemm (torch.mm) GFLOP/s measured in the same process.
# The CPU-time ratio (process user+system seconds over the timed steps) is printed too: on a machine shared
# with other jobs, wall-clock ratios swing with the load while CPU time tracks the work each side does.
# Where the CPU has avx512_bf16 the Swift step runs again with --precision bf16 (GEMM inputs in bf16, fp32 sums)
# right after the fp32 one, and a line gives the bf16/fp32 step ratio (BF16=0 skips it); PyTorch then runs under
# torch.autocast("cpu", dtype=torch.bfloat16) too, and a line gives our bf16 step against it.
# Each model runs once per dropout setting (DROPOUTS: "off", or "H,A" = hidden H, attention A; the original
# trains with hidden 0.1, attention 0), and the Swift step's cost of dropout over "off" is printed last.
#
# Usage: Scripts/bench-train.sh            (MosaicBERT-base: 16 pairs × 128 tokens; small: 32 pairs × 64 tokens)
# Env:   THREADS (2), STEPS_BASE (3), STEPS_SMALL (5), MODELS ("base small"), DROPOUTS ("off 0.1,0 0.1,0.1"),
#        TORCH (1; 0 runs the Swift side only),
#        LODESTONE_BENCH_VENV (.build/bench-venv; torch is installed there from PyPI, or a local CPU wheel
#        found through pip's find-links).
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
STEPS_BASE=${STEPS_BASE:-3}
STEPS_SMALL=${STEPS_SMALL:-5}
MODELS=${MODELS:-"base small"}
DROPOUTS=${DROPOUTS:-"off 0.1,0 0.1,0.1"}
TORCH=${TORCH:-1}
BF16=${BF16:-1}
grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null || BF16=0
VENV=${LODESTONE_BENCH_VENV:-.build/bench-venv}
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS

# 1. PyTorch in a virtualenv (CPU build preferred when a local wheel is offered; otherwise PyPI's torch).
if [ "$TORCH" != 0 ] && ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  python3 -m venv "$VENV"
  cpu_wheel=$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -1 || true)
  "$VENV/bin/pip" install -q numpy ${cpu_wheel:-torch}
fi

# 2. The Swift benchmark, optimised build.
swift build -c release --product lodestone-bench >/dev/null
BENCH=$(swift build -c release --show-bin-path)/lodestone-bench

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "bench-train: threads=$THREADS, $(nproc) cores, $cpu, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for model in $MODELS; do
  if [ "$model" = base ]; then batch=16 seq=128 steps=$STEPS_BASE; else batch=32 seq=64 steps=$STEPS_SMALL; fi
  off_seconds= off_cpu=
  costs=()
  for dropout in $DROPOUTS; do
    if [ "$dropout" = off ]; then hidden=0 attention=0; else hidden=${dropout%,*} attention=${dropout#*,}; fi
    swift_line=$("$BENCH" --model "$model" --batch $batch --seq $seq --steps "$steps" --threads "$THREADS" --dropout "$hidden" --attention-dropout "$attention")
    echo "$swift_line"
    if [ "$BF16" != 0 ]; then
      bf16_line=$("$BENCH" --model "$model" --batch $batch --seq $seq --steps "$steps" --threads "$THREADS" --dropout "$hidden" --attention-dropout "$attention" --precision bf16)
      echo "$bf16_line"
      printf '%s (dropout %s): swift bf16 step %.3f s vs fp32 %.3f s: %.2fx wall, %.2fx CPU time (target >= 1.6x; loss %s vs %s; OpenBLAS kernel %s, precision bf16 vs fp32, %s)\n' \
        "$model" "$dropout" "$(python3 -c "print($(field seconds "$bf16_line")/$steps)")" "$(python3 -c "print($(field seconds "$swift_line")/$steps)")" \
        "$(python3 -c "print($(field seconds "$swift_line")/$(field seconds "$bf16_line"))")" \
        "$(python3 -c "print($(field cpu_seconds "$swift_line")/$(field cpu_seconds "$bf16_line"))")" \
        "$(field loss "$bf16_line")" "$(field loss "$swift_line")" "$(field kernel "$swift_line")" "$cpu"
    fi
    s=$(field pairs_per_s "$swift_line"); sc=$(field cpu_seconds "$swift_line"); ss=$(field seconds "$swift_line")
    if [ "$dropout" = off ]; then off_seconds=$ss off_cpu=$sc
    elif [ -n "$off_seconds" ]; then
      costs+=("$(python3 -c "print(f'$model dropout hidden $hidden, attention $attention: swift step {$ss/$steps:.3f} s vs {$off_seconds/$steps:.3f} s off: {100*($ss/$off_seconds-1):+.1f}% wall, {100*($sc/$off_cpu-1):+.1f}% CPU time (OpenBLAS kernel $(field kernel "$swift_line"), precision fp32, $cpu)')")")
    fi
    [ "$TORCH" = 0 ] && continue
    torch_line=$("$VENV/bin/python" Scripts/bench_train_torch.py --model "$model" --batch $batch --seq $seq --steps "$steps" --threads "$THREADS" --dropout "$hidden" --attention-dropout "$attention")
    echo "$torch_line"
    if [ "$BF16" != 0 ]; then   # PyTorch's own mixed precision, against our bf16 step
      autocast_line=$("$VENV/bin/python" Scripts/bench_train_torch.py --model "$model" --batch $batch --seq $seq --steps "$steps" --threads "$THREADS" --dropout "$hidden" --attention-dropout "$attention" --autocast-bf16)
      echo "$autocast_line"
      printf '%s (dropout %s): swift bf16 %.3f pairs/s | pytorch bf16 autocast %.3f pairs/s | ratio %.2fx wall, %.2fx CPU time (target >= 1.5x; OpenBLAS kernel %s, precision bf16, %s)\n' \
        "$model" "$dropout" "$(field pairs_per_s "$bf16_line")" "$(field pairs_per_s "$autocast_line")" \
        "$(python3 -c "print($(field pairs_per_s "$bf16_line")/$(field pairs_per_s "$autocast_line"))")" \
        "$(python3 -c "print($(field cpu_seconds "$autocast_line")/$(field cpu_seconds "$bf16_line"))")" "$(field kernel "$swift_line")" "$cpu"
    fi
    t=$(field pairs_per_s "$torch_line"); tc=$(field cpu_seconds "$torch_line")
    printf '%s (dropout %s): swift %.3f pairs/s (%s GFLOP/s, cblas_sgemm %s GFLOP/s, OpenBLAS kernel %s) | pytorch %.3f pairs/s (%s GFLOP/s, torch.mm %s GFLOP/s) | ratio swift/pytorch %.2fx wall, %.2fx CPU time | precision fp32 | %s\n' \
      "$model" "$dropout" "$s" "$(field gflops "$swift_line")" "$(field sgemm_gflops "$swift_line")" "$(field kernel "$swift_line")" \
      "$t" "$(field gflops "$torch_line")" "$(field mm_gflops "$torch_line")" "$(python3 -c "print($s/$t)")" "$(python3 -c "print($tc/$sc)")" "$cpu"
  done
  for line in "${costs[@]}"; do echo "$line"; done
done
