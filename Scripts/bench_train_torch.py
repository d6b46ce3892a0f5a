"""PyTorch reference for Scripts/bench-train.sh: the same MosaicBERT training step as lodestone-bench
(random init, word + token-type embeddings, fused Wqkv, ALiBi, post-LN, gated-GELU FFN, mean pooling,
L2 normalization, MultipleNegativesRankingLoss scale 20, clip_grad_norm_ 1.0, AdamW with the no-decay rule),
written the way upstream bert_layers.py computes attention in PyTorch, with its dropout sites (--dropout P: after
the embeddings' LayerNorm, after the attention output dense, after the gated activation; --attention-dropout Q on
the attention probabilities). Prints one line in lodestone-bench's format."""
import argparse, math, resource, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def alibi_slopes(n):
    def pow2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        return [start * start ** i for i in range(n)]
    if math.log2(n).is_integer():
        return pow2(n)
    c = 2 ** math.floor(math.log2(n))
    return pow2(c) + alibi_slopes(2 * c)[0::2][: n - c]


class Layer(nn.Module):
    def __init__(self, h, a, i, p_hidden=0.0, p_attention=0.0):
        super().__init__()
        self.a, self.i = a, i
        self.drop_hidden, self.drop_attention = nn.Dropout(p_hidden), nn.Dropout(p_attention)
        self.Wqkv = nn.Linear(h, 3 * h)
        self.dense = nn.Linear(h, h)
        self.ln1 = nn.LayerNorm(h, eps=1e-12)
        self.gated_layers = nn.Linear(h, 2 * i, bias=False)
        self.wo = nn.Linear(i, h)
        self.layernorm = nn.LayerNorm(h, eps=1e-12)

    def forward(self, x, bias):
        b, l, h = x.shape
        d = h // self.a
        qkv = self.Wqkv(x).view(b, l, 3, self.a, d)
        q = qkv[:, :, 0].permute(0, 2, 1, 3)
        k = qkv[:, :, 1].permute(0, 2, 3, 1)
        v = qkv[:, :, 2].permute(0, 2, 1, 3)
        p = self.drop_attention((torch.matmul(q, k) / math.sqrt(d) + bias).softmax(-1))
        att = torch.matmul(p, v).permute(0, 2, 1, 3).reshape(b, l, h)
        x = self.ln1(self.drop_hidden(self.dense(att)) + x)
        g = self.gated_layers(x)
        return self.layernorm(self.wo(self.drop_hidden(F.gelu(g[..., : self.i]) * g[..., self.i :])) + x)


class Encoder(nn.Module):
    def __init__(self, h, layers, a, i, vocab=30528, p_hidden=0.0, p_attention=0.0):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, h)
        self.token_type_embeddings = nn.Embedding(2, h)
        self.LayerNorm = nn.LayerNorm(h, eps=1e-12)
        self.dropout = nn.Dropout(p_hidden)
        self.layer = nn.ModuleList([Layer(h, a, i, p_hidden, p_attention) for _ in range(layers)])
        self.slopes = torch.tensor(alibi_slopes(a))
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, ids):
        l = ids.shape[1]
        pos = torch.arange(l)
        bias = -self.slopes[:, None, None] * (pos[None, :] - pos[:, None]).abs()[None]
        x = self.dropout(self.LayerNorm(self.word_embeddings(ids) + self.token_type_embeddings.weight[0]))
        for layer in self.layer:
            x = layer(x, bias[None])
        return F.normalize(x.mean(dim=1), dim=-1)  # every text is full length: mean over all tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="base")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--attention-dropout", type=float, default=None)
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    ap.add_argument("--autocast-bf16", action="store_true",
                    help="forward and loss under torch.autocast('cpu', dtype=torch.bfloat16): bf16 matmuls with fp32 "
                         "master weights and AdamW, PyTorch's CPU mixed precision")
    args = ap.parse_args()
    p_attention = args.dropout if args.attention_dropout is None else args.attention_dropout
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    h, layers, a, i = (256, 4, 4, 1024) if args.model == "small" else (768, 12, 12, 3072)
    model = Encoder(h, layers, a, i, p_hidden=args.dropout, p_attention=p_attention)
    model.train()
    tokens = 2 * args.batch * args.seq

    m, n, k = tokens, i, h  # torch.mm at the step's largest shape, as lodestone-bench measures cblas_sgemm
    A, B = torch.full((m, k), 0.01), torch.full((n, k), 0.02)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter(); torch.mm(A, B.t()); best = min(best, time.perf_counter() - t0)
    mm_gflops = 2 * m * n * k / best / 1e9

    no_decay = ["bias", "LayerNorm.bias", "LayerNorm.weight"]
    named = list(model.named_parameters())
    groups = [{"params": [p for nm, p in named if not any(s in nm for s in no_decay)], "weight_decay": 0.01},
              {"params": [p for nm, p in named if any(s in nm for s in no_decay)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=1e-5, eps=1e-6)

    def column():
        ids = torch.randint(1000, 30000, (args.batch, args.seq))
        ids[:, 0], ids[:, -1] = 101, 102
        return ids
    anchors, positives = column(), column()
    labels = torch.arange(args.batch)

    def step():
        opt.zero_grad(set_to_none=False)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast_bf16):
            emb = model(torch.cat([anchors, positives]))
            scores = 20.0 * emb[: args.batch] @ emb[args.batch :].t()
            loss = F.cross_entropy(scores.float(), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    seconds = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    total = sum(p.numel() for p in model.parameters())
    non_embedding = total - model.word_embeddings.weight.numel() - model.token_type_embeddings.weight.numel()
    flops = 6 * non_embedding * tokens * args.steps
    print(f"pytorch model={args.model} params={total} non_embedding={non_embedding} batch={args.batch} seq={args.seq} "
          f"steps={args.steps} seconds={seconds:.3f} pairs_per_s={args.batch * args.steps / seconds:.3f} "
          f"gflops={flops / seconds / 1e9:.1f} mm_gflops={mm_gflops:.1f} loss={loss:.4f} threads={torch.get_num_threads()} "
          f"cpu_seconds={cpu:.3f} dropout={args.dropout:g},{p_attention:g} torch={torch.__version__} "
          f"tokens_per_s={tokens * args.steps / seconds:.1f} peak_rss_mb={r1.ru_maxrss * 1024 / 1e6:.0f} "
          f"precision={'bf16-autocast' if args.autocast_bf16 else 'fp32'}")


if __name__ == "__main__":
    main()
