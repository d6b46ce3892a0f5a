"""Step 1's loss of a 04-training run, recomputed by sentence-transformers from the run's batch log
(04-training --log-batches FILE): the logged columns, tokenized by the model's own tokenizer, through the
sentence-transformers loss class that 04's loss flags name, with the initial model in eval mode (no dropout).

    python Scripts/reference/first_step_loss.py --model DIR --batches FILE --max-seq-length N [04's loss flags]

Takes 04-training's loss flags as they were given to it (--loss, --scale, --symmetric-loss, --matryoshka-dims,
--matryoshka-weights, --guide-model, --gist-temperature, --gist-margin, --gist-margin-strategy); another loss is one more entry in LOSSES (and its flags in `parse`). Prints the loss, a
tab, and what the batch was. Exits 2 on a bad log or a loss it does not know.
"""
import argparse
import json
import sys

import torch
from sentence_transformers import SentenceTransformer

try:  # sentence-transformers 6.x's module paths; older releases had them at the top level
    from sentence_transformers.sentence_transformer.losses import (GISTEmbedLoss, MatryoshkaLoss,
                                                                    MultipleNegativesRankingLoss)
except ImportError:
    from sentence_transformers.losses import GISTEmbedLoss, MatryoshkaLoss, MultipleNegativesRankingLoss


def ranking(model, args):
    """04's MNRL: plain, or symmetric (anchors → candidates and positives → anchors, averaged)."""
    if args.symmetric_loss:
        return MultipleNegativesRankingLoss(model, scale=args.scale, directions=("query_to_doc", "doc_to_query"),
                                            partition_mode="per_direction")
    return MultipleNegativesRankingLoss(model, scale=args.scale)


def matryoshka(model, args):
    dims = [int(d) for d in args.matryoshka_dims.split(",")]
    weights = [float(w) for w in args.matryoshka_weights.split(",")] if args.matryoshka_weights else None
    return MatryoshkaLoss(model, ranking(model, args), matryoshka_dims=dims, matryoshka_weights=weights)


def gist(model, args):
    """GISTEmbedLoss(model, guide) with 04's settings; the guide in eval mode, as it never trains."""
    guide = SentenceTransformer(args.guide_model, device="cpu", trust_remote_code=True)
    guide.eval()
    return GISTEmbedLoss(model, guide, temperature=args.gist_temperature, margin_strategy=args.gist_margin_strategy,
                         margin=args.gist_margin)


# 04-training's --loss NAME → the sentence-transformers loss it reimplements.
LOSSES = {
    "mnrl": ranking,
    "matryoshka": matryoshka,
    "gist": gist,
}


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="the model directory 04-training started from")
    p.add_argument("--batches", required=True, help="04-training's --log-batches FILE")
    p.add_argument("--max-seq-length", type=int, required=True, help="04-training's max_seq_length")
    p.add_argument("--step", type=int, default=1, help="the logged step (only step 1 has the initial weights)")
    p.add_argument("--loss", default="mnrl")
    p.add_argument("--scale", type=float, default=20.0)
    p.add_argument("--symmetric-loss", action="store_true")
    p.add_argument("--matryoshka-dims")
    p.add_argument("--matryoshka-weights")
    p.add_argument("--guide-model")
    p.add_argument("--gist-temperature", type=float, default=0.01)
    p.add_argument("--gist-margin", type=float, default=0.0)
    p.add_argument("--gist-margin-strategy", default="absolute")
    return p.parse_args(argv)


def fail(message):
    print(f"first_step_loss: {message}", file=sys.stderr)
    sys.exit(2)


def logged_batch(path, step):
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as e:
                fail(f"{path}:{number}: not a JSON line ({e})")
            if entry.get("step") == step:
                return entry
    fail(f"{path}: no line of step {step}")


def main(argv):
    args = parse(argv)
    if args.loss not in LOSSES:
        fail(f"--loss {args.loss}: not known here (known: {', '.join(LOSSES)})")
    torch.manual_seed(0)
    model = SentenceTransformer(args.model, device="cpu", trust_remote_code=True)
    # 04 cuts tokens at the smaller of its max_seq_length and the model's (the word cut is already in the log).
    model.max_seq_length = min(args.max_seq_length, model.max_seq_length or args.max_seq_length)
    model.eval()   # no dropout: the check's run trains with --dropout off
    loss = LOSSES[args.loss](model, args)
    batch = logged_batch(args.batches, args.step)
    features = [model.preprocess(column) for column in batch["columns"]]   # no prompt, as 04 trains
    with torch.no_grad():
        value = loss(features, labels=None)
    columns = batch["columns"]
    print(f"{value.item():.8f}\tstep {args.step}: {len(columns[0])} rows x {len(columns)} columns of {batch['file']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
