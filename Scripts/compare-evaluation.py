#!/usr/bin/env python3
"""Scores one model on one evaluation set with sentence-transformers' own evaluators and compares every metric
with the JSON that `05-embed evaluate --json` wrote for the same model and data.
usage: compare-evaluation.py MODEL_DIR DATA SWIFT_JSON     (exit 1 when any metric differs by more than 1e-4)
"""
import csv
import json
import os
import sys

from sentence_transformers import SentenceTransformer
try:
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator, InformationRetrievalEvaluator
except ImportError:  # sentence-transformers before 6
    from sentence_transformers.evaluation import EmbeddingSimilarityEvaluator, InformationRetrievalEvaluator

model_dir, data, swift_json = sys.argv[1:4]
swift = json.load(open(swift_json))["metrics"]
model = SentenceTransformer(model_dir, device="cpu", trust_remote_code=True)


def jsonl(path):
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


if os.path.isdir(data):
    corpus = {d["_id"]: ((d.get("title") or "") + " " + d["text"]).strip() for d in jsonl(f"{data}/corpus.jsonl")}
    queries = {q["_id"]: q["text"] for q in jsonl(f"{data}/queries.jsonl")}
    relevant = {}
    with open(f"{data}/qrels/test.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if float(row["score"]) > 0:
                relevant.setdefault(row["query-id"], set()).add(row["corpus-id"])
    evaluator = InformationRetrievalEvaluator(queries, corpus, relevant, name="", batch_size=32)
elif data.endswith(".tsv"):
    with open(data, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    evaluator = EmbeddingSimilarityEvaluator([r["sentence1"] for r in rows], [r["sentence2"] for r in rows],
                                             [float(r["score"]) for r in rows], name="")
else:
    pairs = [(p["anchor"], p["positive"]) for p in jsonl(data)]
    queries = {f"q{i}": a for i, (a, _) in enumerate(pairs)}
    corpus = {f"p{i}": p for i, (_, p) in enumerate(pairs)}
    evaluator = InformationRetrievalEvaluator(queries, corpus, {f"q{i}": {f"p{i}"} for i in range(len(pairs))},
                                              name="", batch_size=32)

python = {k.lstrip("_"): v for k, v in evaluator(model).items()}
worst = 0.0
for name in sorted(swift):
    if name not in python:
        print(f"  {name}: missing from sentence-transformers' results")
        worst = float("inf")
        continue
    diff = abs(swift[name] - python[name])
    worst = max(worst, diff)
    print(f"  {name:24s} swift {swift[name]:.6f}  sentence-transformers {python[name]:.6f}  |Δ| {diff:.1e}")
missing = sorted(k for k in python if k not in swift and ("cosine" in k))
if missing:
    print(f"  not reported by 05-embed: {', '.join(missing)}")
print(f"max |Δ| = {worst:.2e} ({'OK' if worst <= 1e-4 else 'MISMATCH'})")
sys.exit(0 if worst <= 1e-4 else 1)
