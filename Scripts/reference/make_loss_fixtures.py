"""Writes Tests/Fixtures/reference/losses/losses.json: loss values and gradients of sentence-transformers' own loss
classes on fixed embeddings, which the Swift `EmbeddingLoss` implementations must reproduce.

    python Scripts/reference/make_loss_fixtures.py --out Tests/Fixtures/reference/losses/losses.json

Each case: unit-length embeddings (columns of `anchors` rows: anchors, positives, then hard negatives), the
loss's settings, its value and its gradient with respect to those embeddings. The real classes run —
MultipleNegativesRankingLoss (symmetric: its directions ("query_to_doc", "doc_to_query") with per-direction
partitions, what MultipleNegativesSymmetricRankingLoss now is), MatryoshkaLoss around it, and GISTEmbedLoss
with a stand-in guide whose embeddings put some in-batch candidates above an anchor's own positive (the false
negatives GIST drops) — on a stand-in model whose forward returns the fixed embeddings, so nothing of the losses
is re-derived here. GIST cases also carry the guide's embeddings ("guide", "guide_dim").
The gradient is taken with respect to the unit embeddings: it includes the component along each embedding that
the model's final Normalize removes, which the Swift test projects out the same way the pooling backward does.
Deterministic: fixed seed, one thread, float32.
"""
import argparse
import contextlib
import json
import platform

import sentence_transformers
import torch
from torch import nn

try:  # sentence-transformers 6.x's module paths; older releases had them at the top level
    from sentence_transformers.sentence_transformer.losses import (GISTEmbedLoss, MatryoshkaLoss,
                                                                    MultipleNegativesRankingLoss)
except ImportError:
    from sentence_transformers.losses import GISTEmbedLoss, MatryoshkaLoss, MultipleNegativesRankingLoss
try:  # 6.3 may merge candidate columns into one forward; the stand-in model answers one column per call
    from sentence_transformers.base.losses import column_merging_disabled
except ImportError:
    column_merging_disabled = contextlib.nullcontext

ANCHORS, DIM, GUIDE_DIM = 5, 16, 12


class FixedEmbeddings(nn.Module):
    """A model whose forward returns column `features["column"]` of fixed embeddings, as a SentenceTransformer's
    forward returns `sentence_embedding`."""

    def __init__(self, columns):
        super().__init__()
        self.columns = columns

    def forward(self, features):
        return {"sentence_embedding": self.columns[features["column"]]}

    def _get_untruncated_embedding_dimension(self):
        return DIM

    def get_embedding_dimension(self):
        return DIM


def embeddings(columns, seed):
    """Unit rows; positives and negatives near their anchor so the scores spread over a useful range."""
    g = torch.Generator().manual_seed(seed)
    anchors = torch.randn(ANCHORS, DIM, generator=g)
    out = [anchors]
    for c in range(1, columns):
        out.append(anchors * (0.6 if c == 1 else 0.4) + torch.randn(ANCHORS, DIM, generator=g))
    return [nn.functional.normalize(x, dim=-1) for x in out]


def mnrl(model, scale, symmetric):
    if symmetric:
        return MultipleNegativesRankingLoss(model, scale=scale, directions=("query_to_doc", "doc_to_query"),
                                            partition_mode="per_direction")
    return MultipleNegativesRankingLoss(model, scale=scale)


def guide_embeddings(columns, seed):
    """The guide's view of the same rows: its own random space, except that positive 2 and negative 3 look like
    anchor 0 and anchor 4 like anchor 1 — candidates the guide rates above anchor 0's and 1's own positives."""
    g = torch.Generator().manual_seed(seed + 7)
    anchors = torch.randn(ANCHORS, GUIDE_DIM, generator=g)
    anchors[4] = anchors[1] + 0.05 * torch.randn(GUIDE_DIM, generator=g)
    out = [anchors]
    for c in range(1, columns):
        column = anchors * 0.7 + 0.7 * torch.randn(ANCHORS, GUIDE_DIM, generator=g)
        column[2 if c == 1 else 3] = anchors[0] + 0.05 * torch.randn(GUIDE_DIM, generator=g)
        out.append(column)
    return [nn.functional.normalize(x, dim=-1) for x in out]


def gist(model, guide, spec):
    """GISTEmbedLoss as its constructor builds it, without the constructor's tokenizer checks, which a stand-in
    model cannot pass (the loss's forward never reaches a tokenizer when the guide need not re-tokenize)."""
    loss = GISTEmbedLoss.__new__(GISTEmbedLoss)
    nn.Module.__init__(loss)
    loss.model, loss.guide, loss.temperature = model, guide, spec["temperature"]
    loss.similarity_fct = nn.CosineSimilarity(dim=-1)
    loss.must_retokenize = False
    loss.margin_strategy, loss.margin = spec["margin_strategy"], spec["margin"]
    loss.contrast_anchors, loss.contrast_positives = spec["contrast_anchors"], spec["contrast_positives"]
    loss.gather_across_devices = False
    loss.cross_entropy_loss = nn.CrossEntropyLoss()
    return loss


def case(name, columns, seed, spec):
    values = [x.clone().requires_grad_() for x in embeddings(columns, seed)]
    model = FixedEmbeddings(values)
    extra = {}
    if "gist" in spec:
        guide_values = guide_embeddings(columns, seed)
        loss_fn = gist(model, FixedEmbeddings(guide_values), spec["gist"])
        extra = {"guide_dim": GUIDE_DIM, "guide": [float(f"{float(v):.9g}") for t in guide_values for v in t.reshape(-1)]}
        with column_merging_disabled():
            loss = loss_fn([{"column": c} for c in range(columns)], None)
        return finish(name, spec, columns, values, loss, extra)
    inner = mnrl(model, spec["scale"], spec["symmetric"])
    loss_fn = inner
    if "dims" in spec:
        loss_fn = MatryoshkaLoss(model, inner, spec["dims"], matryoshka_weights=spec.get("weights"))
    with column_merging_disabled():
        loss = loss_fn([{"column": c} for c in range(columns)], None)
    return finish(name, spec, columns, values, loss, extra)


def finish(name, spec, columns, values, loss, extra):
    loss.backward()
    flat = lambda tensors: [float(f"{float(v):.9g}") for t in tensors for v in t.reshape(-1)]  # float32 exactly
    return {"name": name, "loss": spec, "anchors": ANCHORS, "columns": columns, "dim": DIM,
            "embeddings": flat([v.detach() for v in values]), "value": float(loss.item()),
            "gradient": flat([v.grad for v in values]), **extra}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="the JSON file to (re)write")
    out = parser.parse_args().out
    torch.set_num_threads(1)
    specs = [
        ("mnrl", {"scale": 20.0, "symmetric": False}),
        ("mnrl-symmetric", {"scale": 20.0, "symmetric": True}),
        ("matryoshka", {"scale": 20.0, "symmetric": False, "dims": [16, 8, 4]}),
        ("matryoshka-weighted", {"scale": 20.0, "symmetric": False, "dims": [16, 8, 4], "weights": [1.0, 0.5, 0.25]}),
        # Any order, as sentence-transformers takes it (it sorts largest first, weights alongside).
        ("matryoshka-unordered", {"scale": 20.0, "symmetric": False, "dims": [4, 16, 8], "weights": [0.3, 1.0, 2.0]}),
        ("matryoshka-symmetric", {"scale": 10.0, "symmetric": True, "dims": [16, 8, 4], "weights": [1.0, 0.5, 0.25]}),
        # GISTEmbedLoss: its defaults, margins of both kinds, and each contrast off.
        ("gist", {"gist": {"temperature": 0.01, "margin_strategy": "absolute", "margin": 0.0,
                           "contrast_anchors": True, "contrast_positives": True}}),
        ("gist-absolute-margin", {"gist": {"temperature": 0.05, "margin_strategy": "absolute", "margin": 0.1,
                                           "contrast_anchors": True, "contrast_positives": True}}),
        ("gist-relative-margin", {"gist": {"temperature": 0.02, "margin_strategy": "relative", "margin": 0.2,
                                           "contrast_anchors": True, "contrast_positives": False}}),
        ("gist-no-anchor-contrast", {"gist": {"temperature": 0.05, "margin_strategy": "absolute", "margin": 0.0,
                                              "contrast_anchors": False, "contrast_positives": True}}),
    ]
    cases = []
    for columns in (2, 3):
        for i, (name, spec) in enumerate(specs):
            cases.append(case(f"{name}, {columns} columns", columns, 100 * columns + i, spec))
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "sentence-transformers": sentence_transformers.__version__}
    with open(out, "w", encoding="utf-8") as f:   # one case per line: small, and diffs name the case
        f.write('{"versions": ' + json.dumps(versions) + ',\n "cases": [\n')
        f.write(",\n".join(json.dumps(c) for c in cases))
        f.write("\n]}\n")
    for c in cases:
        print(f"{c['name']}: loss {c['value']:.6f}")


if __name__ == "__main__":
    main()
