"""MosaicBERT's encoder in plain PyTorch: the reference the Swift MosaicBERT is checked against.

Written for the fixture generator from the architecture as published (mosaicml/mosaic-bert-base): no position
embeddings; attention biased by ALiBi, -slope_h * |i - j|; post-LayerNorm layers; a gated-GELU feed-forward
whose `gated_layers` (no bias) produce [gate | value]. Padding is handled as the upstream unpadded kernels do:
padded keys take no part in attention and padded positions come out as zeros.

Parameter names are the checkpoints' (`bert.embeddings.*`, `bert.encoder.layer.N.*`).
"""
import math

import torch
from torch import nn


def alibi_slopes(heads):
    """ALiBi's per-head slopes: 2^(-8k/n) for n heads when n is a power of two; otherwise those of the largest
    power of two below n, followed by the odd-indexed slopes of twice that power, to make up n."""

    def geometric(n):
        return [2.0 ** (-8.0 * (k + 1) / n) for k in range(n)]

    below = 2 ** int(math.floor(math.log2(heads)))
    if below == heads:
        return geometric(heads)
    return geometric(below) + geometric(2 * below)[0::2][: heads - below]


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"], padding_idx=c.get("pad_token_id", 0))
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, input_ids):
        types = torch.zeros_like(input_ids)
        return self.LayerNorm(self.word_embeddings(input_ids) + self.token_type_embeddings(types))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads = c["num_attention_heads"]
        self.Wqkv = nn.Linear(c["hidden_size"], 3 * c["hidden_size"])

    def forward(self, x, bias):
        b, n, h = x.shape
        d = h // self.heads
        q, k, v = self.Wqkv(x).split(h, dim=-1)
        q, k, v = (t.reshape(b, n, self.heads, d) for t in (q, k, v))
        scores = torch.einsum("bihd,bjhd->bhij", q, k) / math.sqrt(d) + bias
        return torch.einsum("bhij,bjhd->bihd", scores.softmax(dim=-1), v).reshape(b, n, h)


class Projection(nn.Module):
    """dense, then LayerNorm of (result + residual): the attention block's output."""

    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
        self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, attended, residual):
        return self.LayerNorm(self.dense(attended) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = Projection(c)

    def forward(self, x, bias):
        return self.output(self.self(x, bias), x)


class GatedMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.inner = c["intermediate_size"]
        self.gated_layers = nn.Linear(c["hidden_size"], 2 * self.inner, bias=False)
        self.wo = nn.Linear(self.inner, c["hidden_size"])
        self.layernorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x):
        gate, value = self.gated_layers(x).split(self.inner, dim=-1)
        return self.layernorm(self.wo(nn.functional.gelu(gate) * value) + x)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.mlp = GatedMLP(c)

    def forward(self, x, bias):
        return self.mlp(self.attention(x, bias))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))


class Stack(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)


class MosaicBert(nn.Module):
    """forward(input_ids, attention_mask) -> last hidden states [batch, length, hidden], zero where padded."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.bert = Stack(config)

    def forward(self, input_ids, attention_mask):
        x = self.bert.embeddings(input_ids)
        n = input_ids.shape[1]
        heads = self.config["num_attention_heads"]
        slopes = torch.tensor(alibi_slopes(heads), dtype=x.dtype)
        position = torch.arange(n)
        distance = (position[None, :] - position[:, None]).abs().to(x.dtype)
        bias = -slopes[:, None, None] * distance  # [heads, n, n], for any n (ALiBi needs no table)
        keep = attention_mask.bool()[:, None, None, :]
        bias = torch.where(keep, bias[None], torch.tensor(float("-inf"), dtype=x.dtype))
        for layer in self.bert.encoder.layer:
            x = layer(x, bias)
        return x * attention_mask[..., None].to(x.dtype)
