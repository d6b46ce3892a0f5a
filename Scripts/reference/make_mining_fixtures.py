"""Writes Tests/Fixtures/reference/mining/*.json: sentence-transformers' own `mine_hard_negatives` on a small set
of pairs, which `05-embed mine-hard-negatives` (HardNegativeMining) must reproduce row for row.

    python Scripts/reference/make_mining_fixtures.py --out Tests/Fixtures/reference/mining --minilm DIR

Two models: the repo's bert-tiny fixture (Tests/Fixtures/reference/bert-tiny, a random 16-dimension BERT that
sentence-transformers loads with mean pooling) and the real all-MiniLM-L6-v2 (Scripts/fetch-minilm.sh). The pairs
are made here: question/answer pairs over a few topics, with near-duplicate positives (one word changed, a case
variant), an anchor with two positives, a repeated row, an anchor that is another pair's positive and positives
shared by two anchors. Each case runs `mine_hard_negatives(..., output_format="n-tuple", sampling_strategy="top")`
with a few flag combinations (num_negatives, range_min/range_max, margins, max/min score, an extra corpus) and
stores its rows and how many (anchor, positive) rows it dropped for want of negatives.
Deterministic: fixed texts and seed, one thread.
"""
import argparse
import json
import os
import platform
import random

import datasets
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import mine_hard_negatives

TOPICS = {
    "tides": ["moon", "ocean", "shore", "wave", "gravity"],
    "bread": ["yeast", "flour", "oven", "dough", "crust"],
    "magnets": ["iron", "field", "compass", "pole", "electron"],
    "volcanoes": ["lava", "ash", "crater", "magma", "eruption"],
    "chess": ["knight", "pawn", "board", "opening", "queen"],
    "coffee": ["beans", "roast", "espresso", "grinder", "milk"],
    "birds": ["nest", "feathers", "wings", "migration", "song"],
    "trains": ["station", "rails", "ticket", "engine", "platform"],
}
QUESTIONS = ["how does the {t} relate to the {a}?", "why is the {a} important for {t}?",
             "what should i know about {t} and the {a}?"]
ANSWERS = ["the {a} shapes the {t}, and the {b} matters too.", "in short, {t} depends on the {a} and the {b}.",
           "most people link {t} to the {a}; the {b} plays a smaller part."]


def make_pairs():
    """About 55 (anchor, positive) rows with the awkward cases mining has to get right."""
    rng = random.Random(11)
    pairs = []
    for topic, words in TOPICS.items():
        for i in range(5):
            a, b = rng.sample(words, 2)
            pairs.append((QUESTIONS[i % 3].format(t=topic, a=a), ANSWERS[(i + len(topic)) % 3].format(t=topic, a=a, b=b)))
    # Near-duplicate positives: one word changed, and a case variant (the same tokens for an uncased model).
    for k in range(0, len(pairs), 4):
        anchor, positive = pairs[k]
        pairs.append(("tell me more: " + anchor, positive.replace("the ", "a ", 1)))
    pairs.append(("what is a tide?", pairs[0][1].upper()))
    # An anchor with two positives, a repeated row, a positive shared by two anchors, an anchor that is a positive.
    pairs.append((pairs[1][0], "a second answer about " + pairs[1][1]))
    pairs.append(pairs[2])
    pairs.append(("another question about " + pairs[5][0], pairs[5][1]))
    pairs.append((pairs[7][1], "an answer to an answer: " + pairs[7][0]))
    return pairs


CORPUS_EXTRA = ["the moon pulls the ocean and the tide follows.", "yeast eats sugar and the dough rises in the oven.",
                "a compass needle is a small magnet that points north.", "lava cools into basalt near the crater.",
                "the knight moves in an L shape on the board.", "espresso is coffee brewed under pressure.",
                "many birds fly south when migration begins.", "the train left the station on time."]

BERT_TINY_CASES = [
    ("top-3", {}),
    ("range", {"num_negatives": 4, "range_min": 2, "range_max": 15}),
    ("absolute-margin", {"absolute_margin": 0.002}),
    ("relative-margin-max-score", {"relative_margin": 0.002, "max_score": 0.995, "num_negatives": 2}),
    ("corpus-min-score", {"corpus": True, "min_score": 0.985, "num_negatives": 2, "range_max": 30}),
    ("few-candidates", {"num_negatives": 5, "range_max": 6, "max_score": 0.99}),
]
MINILM_CASES = [
    ("top-3", {}),
    ("nv-retriever", {"relative_margin": 0.05, "num_negatives": 3}),
    ("relative-margin", {"relative_margin": 0.2, "num_negatives": 4}),
    ("range-absolute-margin-max-score", {"range_min": 1, "range_max": 8, "absolute_margin": 0.15, "max_score": 0.6,
                                         "num_negatives": 3}),
    ("corpus-min-score", {"corpus": True, "num_negatives": 4, "min_score": 0.2}),
]


def run_case(model, pairs, flags):
    flags = dict(flags)
    corpus = CORPUS_EXTRA if flags.pop("corpus", False) else None
    dataset = datasets.Dataset.from_dict({"anchor": [a for a, _ in pairs], "positive": [p for _, p in pairs]})
    mined = mine_hard_negatives(dataset, model, corpus=corpus, output_format="n-tuple", sampling_strategy="top",
                                batch_size=16, use_faiss=False, verbose=False, **flags)
    columns = mined.column_names
    rows = [[row[c] for c in columns] for row in mined]
    possible = len(set(pairs))   # one row per anchor and distinct positive, before any is dropped
    return {"flags": flags, "corpus": corpus is not None, "rows": rows, "dropped": possible - len(rows)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="Tests/Fixtures/reference/mining")
    parser.add_argument("--minilm", required=True, help="all-MiniLM-L6-v2 directory (Scripts/fetch-minilm.sh)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    here = os.path.dirname(os.path.abspath(__file__))
    bert_tiny = os.path.normpath(os.path.join(here, "..", "..", "Tests", "Fixtures", "reference", "bert-tiny"))
    pairs = make_pairs()
    os.makedirs(args.out, exist_ok=True)
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "sentence-transformers": sentence_transformers.__version__, "datasets": datasets.__version__}
    for name, directory, cases in [("bert-tiny", bert_tiny, BERT_TINY_CASES),
                                   ("all-MiniLM-L6-v2", args.minilm, MINILM_CASES)]:
        model = SentenceTransformer(directory, device="cpu")
        out = {"model": name, "versions": versions, "pairs": [list(p) for p in pairs], "corpus": CORPUS_EXTRA,
               "cases": [dict(name=case, **run_case(model, pairs, flags)) for case, flags in cases]}
        path = os.path.join(args.out, f"{name}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(f"wrote {path}: " + ", ".join(f"{c['name']} {len(c['rows'])} rows, {c['dropped']} dropped" for c in out["cases"]))


if __name__ == "__main__":
    main()
