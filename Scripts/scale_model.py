#!/usr/bin/env python3
"""Projected data-parallel training throughput across machines (Scripts/bench-scale.sh prints it).

One step of the global batch on N machines: each machine computes its share of the pairs (at least one pair;
a machine with none still waits), then the flat gradient is summed by a ring all-reduce, whose every link
carries 2(N-1)/N x the gradient's bytes, plus 2(N-1) message latencies. `overlap` is the share of that transfer
hidden behind backward (gradient buckets sent while later layers still compute); 0 assumes none.

Call `project(...)` with measured numbers, or run this file:
  Scripts/scale_model.py --seconds-per-pair 1.2 --gradient-bytes 548e6 [--step-overhead 0.3] [--global-batch 16]
                         [--overlap 0]
Python standard library only.
"""
import argparse
import math
from dataclasses import dataclass

# The original's schedule: 2 cycles x 50 chunks x 2 epochs x 10,000 steps x 16 pairs.
SCHEDULE_PAIRS = 2 * 50 * 2 * 10_000 * 16
MACHINES = (1, 2, 8, 32, 128)
LINKS_GBITS = (1, 10, 100)


@dataclass
class Projection:
    machines: int
    link_gbits: float
    global_batch: int
    compute_seconds: float   # per step, the busiest machine's share
    comm_seconds: float      # per step, the all-reduce not hidden behind compute
    pairs_per_second: float
    efficiency: float        # pairs/s over N x one machine's pairs/s
    schedule_days: float     # the original schedule's pairs at this rate


def ring_allreduce_seconds(gradient_bytes, machines, link_bytes_per_second, latency_seconds=50e-6):
    """Seconds for a ring all-reduce of `gradient_bytes` over `machines` on links of the given speed."""
    if machines <= 1:
        return 0.0
    steps = 2 * (machines - 1)
    return steps / machines * gradient_bytes / link_bytes_per_second + steps * latency_seconds


def project(seconds_per_pair, gradient_bytes, machines, link_gbits, global_batch=16, overlap=0.0,
            latency_seconds=50e-6, schedule_pairs=SCHEDULE_PAIRS, step_overhead_seconds=0.0):
    """One row of the table: `seconds_per_pair` is one machine's measured compute time per pair (forward, loss
    and backward of the full global batch, divided by its pairs); `step_overhead_seconds` is the part of a step
    every machine repeats whatever N (clipping, AdamW over all parameters)."""
    pairs_per_machine = math.ceil(global_batch / machines)
    compute = seconds_per_pair * pairs_per_machine + step_overhead_seconds
    comm = (1 - overlap) * ring_allreduce_seconds(gradient_bytes, machines, link_gbits * 1e9 / 8, latency_seconds)
    pairs_per_second = global_batch / (compute + comm)
    single_machine = global_batch / (seconds_per_pair * global_batch + step_overhead_seconds)
    efficiency = pairs_per_second / (machines * single_machine)
    days = schedule_pairs / pairs_per_second / 86_400
    return Projection(machines, link_gbits, global_batch, compute, comm, pairs_per_second, efficiency, days)


def print_table(seconds_per_pair, gradient_bytes, global_batch=16, overlap=0.0, machines=MACHINES, links=LINKS_GBITS,
                title=None, step_overhead_seconds=0.0):
    print(title or (f"scale-model: {seconds_per_pair:.3f} s/pair on one machine, gradient {gradient_bytes / 1e6:.1f} MB, "
                    f"+ {step_overhead_seconds:.3f} s/step, global batch {global_batch} pairs, all-reduce overlap {overlap:.0%}, "
                    f"schedule {SCHEDULE_PAIRS:,} pairs"))
    print(f"  {'link':>10} {'N':>4} {'pairs/s':>9} {'efficiency':>10} {'comm share':>10} {'schedule days':>13}")
    for link in links:
        for n in machines:
            p = project(seconds_per_pair, gradient_bytes, n, link, global_batch, overlap,
                        step_overhead_seconds=step_overhead_seconds)
            share = p.comm_seconds / (p.compute_seconds + p.comm_seconds)
            print(f"  {link:>6g} Gb/s {n:>4} {p.pairs_per_second:>9.2f} {p.efficiency:>10.0%} {share:>10.0%} "
                  f"{p.schedule_days:>13.1f}")
    idle = [n for n in machines if n > global_batch]
    if idle:
        print(f"  (N > {global_batch}: a global batch of {global_batch} pairs leaves machines without a pair; "
              "compute cannot shrink below one pair per machine)")


def main():
    ap = argparse.ArgumentParser(description="Projected pairs/s, scaling efficiency and schedule days on N machines.")
    ap.add_argument("--seconds-per-pair", type=float, required=True, help="one machine's measured compute time per pair")
    ap.add_argument("--gradient-bytes", type=float, required=True, help="bytes of the flat gradient (4 x parameters)")
    ap.add_argument("--global-batch", type=int, default=16, help="pairs per optimiser step across all machines")
    ap.add_argument("--step-overhead", type=float, default=0.0,
                    help="seconds per step every machine repeats whatever N (clipping, AdamW)")
    ap.add_argument("--overlap", type=float, default=0.0, help="share of the all-reduce hidden behind backward, 0..1")
    ap.add_argument("--label", default="", help="printed before the table (e.g. the model)")
    args = ap.parse_args()
    if (args.seconds_per_pair <= 0 or args.gradient_bytes <= 0 or args.global_batch <= 0 or args.step_overhead < 0
            or not 0 <= args.overlap <= 1):
        ap.error("--seconds-per-pair, --gradient-bytes and --global-batch must be positive, --step-overhead >= 0, "
                 "--overlap in 0..1")
    if args.label:
        print(args.label)
    print_table(args.seconds_per_pair, args.gradient_bytes, args.global_batch, args.overlap,
                step_overhead_seconds=args.step_overhead)


if __name__ == "__main__":
    main()
