"""Writes Tests/Fixtures/reference/losses/losses.json: loss values and gradients of sentence-transformers' own loss
classes on fixed embeddings, which the Swift `EmbeddingLoss` implementations must reproduce.

    python Scripts/reference/make_loss_fixtures.py --out Tests/Fixtures/reference/losses/losses.json

Each case: unit-length embeddings (columns of `anchors` rows: anchors, positives, then hard negatives), the
loss's settings, its value and its gradient with respect to those embeddings. The real classes run —
MultipleNegativesRankingLoss (symmetric: its directions ("query_to_doc", "doc_to_query") with per-direction
partitions, what MultipleNegativesSymmetricRankingLoss now is) and MatryoshkaLoss around it — on a stand-in
model whose forward returns the fixed embeddings, so nothing of the losses is re-derived here.
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
    from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss
except ImportError:
    from sentence_transformers.losses import MatryoshkaLoss, MultipleNegativesRankingLoss
try:  # 6.3 may merge candidate columns into one forward; the stand-in model answers one column per call
    from sentence_transformers.base.losses import column_merging_disabled
except ImportError:
    column_merging_disabled = contextlib.nullcontext

ANCHORS, DIM = 5, 16


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


def case(name, columns, seed, spec):
    values = [x.clone().requires_grad_() for x in embeddings(columns, seed)]
    model = FixedEmbeddings(values)
    inner = mnrl(model, spec["scale"], spec["symmetric"])
    loss_fn = inner
    if "dims" in spec:
        loss_fn = MatryoshkaLoss(model, inner, spec["dims"], matryoshka_weights=spec.get("weights"))
    with column_merging_disabled():
        loss = loss_fn([{"column": c} for c in range(columns)], None)
    loss.backward()
    flat = lambda tensors: [float(f"{float(v):.9g}") for t in tensors for v in t.reshape(-1)]  # float32 exactly
    return {"name": name, "loss": spec, "anchors": ANCHORS, "columns": columns, "dim": DIM,
            "embeddings": flat([v.detach() for v in values]), "value": float(loss.item()),
            "gradient": flat([v.grad for v in values])}


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
