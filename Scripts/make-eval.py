#!/usr/bin/env python3
"""Generates data/eval/: small evaluation sets in the layouts sentence-transformers' evaluators read, from the
same topic templates as the training sample (Scripts/make-sample.py), with seeds of their own so that no text is
shared with training by construction of the generator state.

Writes, deterministically:
  data/eval/retrieval/corpus.jsonl      {"_id", "title", "text"}: 240 documents
  data/eval/retrieval/queries.jsonl     {"_id", "text"}: 60 questions
  data/eval/retrieval/qrels/test.tsv    query-id, corpus-id, score: 2 = the answer written for the question,
                                        1 = another text on the same topic and key word (graded relevance)
  data/eval/similarity.tsv              sentence1, sentence2, score (0-5): 5 same topic and key word,
                                        2 same topic, 0 another topic
usage: python3 Scripts/make-eval.py [OUT_DIR]   (default data/eval next to this script's parent)
"""
import importlib.util
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("make_sample", os.path.join(here, "make-sample.py"))
sample = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sample)


def retrieval(out):
    g = sample.Generator(9001)
    corpus, queries, qrels = [], [], []
    for q in range(60):
        topic, w = g.pick()
        qid = f"q{q:03d}"
        queries.append({"_id": qid, "text": g.question(w)})
        answer = {"_id": f"d{len(corpus):04d}", "title": "", "text": g.answer(w)}
        corpus.append(answer)
        qrels.append((qid, answer["_id"], 2))
        related = {"_id": f"d{len(corpus):04d}", "title": topic, "text": g.paraphrase(w)}
        corpus.append(related)
        qrels.append((qid, related["_id"], 1))
    while len(corpus) < 240:   # distractors: statements on random topics, relevant to no query
        _, w = g.pick()
        corpus.append({"_id": f"d{len(corpus):04d}", "title": "", "text": g.statement(w)})
    order = list(range(len(corpus)))
    g.rng.shuffle(order)
    os.makedirs(os.path.join(out, "retrieval", "qrels"), exist_ok=True)
    with open(os.path.join(out, "retrieval", "corpus.jsonl"), "w") as f:
        for i in order:
            f.write(json.dumps(corpus[i]) + "\n")
    with open(os.path.join(out, "retrieval", "queries.jsonl"), "w") as f:
        for q in queries:
            f.write(json.dumps(q) + "\n")
    with open(os.path.join(out, "retrieval", "qrels", "test.tsv"), "w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, did, score in qrels:
            f.write(f"{qid}\t{did}\t{score}\n")
    return len(queries), len(corpus)


def similarity(out):
    g = sample.Generator(9002)
    rows = []
    for i in range(240):
        topic, w = g.pick()
        kind = i % 3
        if kind == 0:
            rows.append((g.question(w), g.answer(w), 5.0))
        elif kind == 1:
            _, other = g.pick(topic)
            rows.append((g.question(w), g.answer(other), 2.0))
        else:
            _, other = g.pick(g.other_topic(topic))
            rows.append((g.question(w), g.answer(other), 0.0))
    with open(os.path.join(out, "similarity.tsv"), "w") as f:
        f.write("sentence1\tsentence2\tscore\n")
        for a, b, s in rows:
            f.write(f"{a}\t{b}\t{s}\n")
    return len(rows)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(here), "data", "eval")
    nq, nd = retrieval(out)
    ns = similarity(out)
    print(f"make-eval: retrieval {nq} queries / {nd} documents, similarity {ns} pairs in {out}")


if __name__ == "__main__":
    main()
