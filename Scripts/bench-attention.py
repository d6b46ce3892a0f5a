# PyTorch's scaled_dot_product_attention (CPU) forward + backward with the ALiBi bias as a float mask, the
# baseline of Scripts/bench-attention.sh. Same shape and FLOP count as `lodestone-bench --attention-only L`:
# 12 heads of 64, one sequence, 12·L²·d·heads matmul FLOPs (4 forward, 8 backward).
# usage: python bench-attention.py THREADS L [L ...]   prints "torch L=<L> seconds=<s> gflops=<g>" per length
import math, sys, time
import torch

threads, lengths = int(sys.argv[1]), [int(a) for a in sys.argv[2:]]
torch.set_num_threads(threads)
heads, d = 12, 64


def alibi_slopes(n):
    # As Lodestone's alibiSlopes(heads:): geometric for a power of two, else the closest lower power of two's
    # slopes and every other slope of the next power of two.
    def power_of_two(m):
        start = 2 ** (-(2 ** -(math.log2(m) - 3)))
        return [start * start ** i for i in range(m)]
    if (n & (n - 1)) == 0:
        return power_of_two(n)
    closest = 1 << (n.bit_length() - 1)
    return power_of_two(closest) + alibi_slopes(2 * closest)[0::2][: n - closest]


for L in lengths:
    g = torch.Generator().manual_seed(L)
    q, k, v = (torch.randn(1, heads, L, d, generator=g).requires_grad_() for _ in range(3))
    dout = torch.randn(1, heads, L, d, generator=g)
    pos = torch.arange(L)
    distance = (pos[None, :] - pos[:, None]).abs().float()
    bias = (-torch.tensor(alibi_slopes(heads))[:, None, None] * distance)[None]  # [1, heads, L, L]

    def step():
        q.grad = k.grad = v.grad = None
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        out.backward(dout)

    flops = 12.0 * L * L * d * heads
    step()  # warm-up
    runs = max(3, min(20, int(2e10 / flops)))
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t)
    print(f"torch L={L} seconds={best:.4f} gflops={flops / best / 1e9:.1f}", flush=True)
