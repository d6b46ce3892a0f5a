#!/usr/bin/env python3
"""Saves small model directories with the installed sentence-transformers (2.x or 6.x), one per pooling setup, and
checks them against 05-embed: every directory is loaded back in Python, its embeddings of a few texts (with a prompt
where it has one) are written next to it, and compare mode prints the max |difference| from 05-embed's.

The "dense" setup (mean pooling, a Dense layer with Tanh, no Normalize) also gets the values sentence-transformers'
evaluators and cos_sim give on a tiny scored-pairs set and BEIR set (expected.json, pairs.tsv, beir/): a model whose
embeddings are not unit length is where cosine and dot product part.

usage: make-st-fixtures.py save OUT_DIR BASE_MODEL     (BASE_MODEL: a Hugging Face BERT directory)
       make-st-fixtures.py compare DIR SWIFT.npy       (prints max |Δ| for DIR's expected.npy)
"""
import json
import os
import sys

TEXTS = ["A man is playing a guitar.", "query: how do magnets work", "The quick brown fox jumps over the lazy dog."]


def save(out, base):
    import numpy as np
    import sentence_transformers as st
    from sentence_transformers import SentenceTransformer, models
    major = int(st.__version__.split(".")[0])
    setups = {
        "mean": dict(modes=["mean"], include_prompt=True, normalize=True, prompts=None),
        "cls-max": dict(modes=["cls", "max"], include_prompt=True, normalize=False, prompts=None),
        "mean-lasttoken-prompt": dict(modes=["mean", "lasttoken"], include_prompt=False, normalize=True,
                                 prompts={"query": "query: ", "document": ""}, default="query"),
        "meansqrt-weighted": dict(modes=["mean_sqrt_len_tokens", "weightedmean"], include_prompt=True, normalize=True, prompts=None),
        "dense": dict(modes=["mean"], include_prompt=True, normalize=False, prompts=None, dense=16),
    }
    for name, s in setups.items():
        if s.get("dense") and major < 6:
            continue   # the dense setup's metrics come from 6.x's evaluators (2.x's return one number, not a dict)
        word = models.Transformer(base)
        dim = word.get_word_embedding_dimension()
        if major >= 6:
            pool = models.Pooling(dim, pooling_mode=s["modes"][0] if len(s["modes"]) == 1 else s["modes"],
                                  include_prompt=s["include_prompt"])
        else:
            flags = {"cls": "pooling_mode_cls_token", "max": "pooling_mode_max_tokens", "mean": "pooling_mode_mean_tokens",
                     "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
                     "weightedmean": "pooling_mode_weightedmean_tokens", "lasttoken": "pooling_mode_lasttoken"}
            kwargs = {flag: (mode in s["modes"]) for mode, flag in flags.items()}
            pool = models.Pooling(dim, include_prompt=s["include_prompt"], **kwargs)
        modules = [word, pool]
        if s.get("dense"):
            import torch
            torch.manual_seed(7)
            modules.append(models.Dense(dim, s["dense"], activation_function=torch.nn.Tanh()))
            with torch.no_grad():   # a wide spread of norms, so that dot product and cosine rank differently
                modules[-1].linear.weight.mul_(torch.linspace(0.2, 6.0, s["dense"]).unsqueeze(1))
        modules += [models.Normalize()] if s["normalize"] else []
        model = SentenceTransformer(modules=modules, device="cpu",
                                    prompts=s["prompts"], default_prompt_name=s.get("default"))
        path = os.path.join(out, f"st{major}-{name}")
        model.save(path)
        emb = model.encode(TEXTS, convert_to_numpy=True)
        np.save(os.path.join(path, "expected.npy"), emb.astype("float32"))
        with open(os.path.join(path, "texts.txt"), "w") as f:
            f.write("\n".join(TEXTS) + "\n")
        if s.get("dense"):
            evaluate(model, path)
        print(f"saved {path} (sentence-transformers {st.__version__}, embeddings {emb.shape})")


PAIRS = [("A man is playing a guitar.", "A person plays an instrument.", 4.2),
         ("A woman is slicing an onion.", "Someone is cutting vegetables.", 3.9),
         ("The cat sleeps on the sofa.", "Stock markets fell sharply today.", 0.1),
         ("Children are playing football.", "Kids kick a ball in the park.", 4.5),
         ("How do magnets work?", "A recipe for banana bread.", 0.3),
         ("The train was late again.", "The railway service had delays.", 3.6)]
CORPUS = {"d1": "Magnets attract iron because of aligned electron spins.", "d2": "Bake the bread for forty minutes.",
          "d3": "Football is played by two teams of eleven.", "d4": "Electric motors use magnetic fields.",
          "d5": "Onions make people cry when sliced.", "d6": "Trains run on rails between stations.",
          "d7": "The guitar has six strings.", "d8": "Stock prices change every day."}
QUERIES = {"q1": "how do magnets work", "q2": "baking bread", "q3": "soccer teams", "q4": "railway travel",
           "q5": "musical instruments"}
QRELS = {"q1": {"d1", "d4"}, "q2": {"d2"}, "q3": {"d3"}, "q4": {"d6"}, "q5": {"d7"}}


def evaluate(model, path):
    """expected.json: sentence-transformers' EmbeddingSimilarityEvaluator and InformationRetrievalEvaluator
    (cosine) on pairs.tsv and beir/, and cos_sim's top hits of each query, for 05-embed to match."""
    from sentence_transformers import util
    from sentence_transformers.evaluation import EmbeddingSimilarityEvaluator, InformationRetrievalEvaluator
    with open(os.path.join(path, "pairs.tsv"), "w") as f:
        f.write("sentence1\tsentence2\tscore\n")
        for a, b, score in PAIRS:
            f.write(f"{a}\t{b}\t{score}\n")
    beir = os.path.join(path, "beir")
    os.makedirs(os.path.join(beir, "qrels"), exist_ok=True)
    with open(os.path.join(beir, "corpus.jsonl"), "w") as f:
        for cid, text in CORPUS.items():
            f.write(json.dumps({"_id": cid, "title": "", "text": text}) + "\n")
    with open(os.path.join(beir, "queries.jsonl"), "w") as f:
        for qid, text in QUERIES.items():
            f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with open(os.path.join(beir, "qrels", "test.tsv"), "w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, docs in QRELS.items():
            for cid in sorted(docs):
                f.write(f"{qid}\t{cid}\t1\n")
    similarity = EmbeddingSimilarityEvaluator([p[0] for p in PAIRS], [p[1] for p in PAIRS], [p[2] for p in PAIRS])(model)
    retrieval = InformationRetrievalEvaluator(QUERIES, CORPUS, QRELS, score_functions={"cosine": util.cos_sim})(model)
    q = model.encode(list(QUERIES.values()), convert_to_tensor=True)
    c = model.encode(list(CORPUS.values()), convert_to_tensor=True)
    cos, dot = util.cos_sim(q, c), q @ c.T
    hits = [[[int(i), float(cos[r, i])] for i in cos[r].argsort(descending=True)[:3]] for r in range(len(QUERIES))]
    if all(cos[r].argmax() == dot[r].argmax() for r in range(len(QUERIES))):
        raise SystemExit("dense fixture: dot product and cosine agree on every query; it would test nothing")
    pick = lambda d, names: {n: float(v) for k, v in d.items() for n in names if k.endswith(n)}
    expected = {"texts": TEXTS, "embeddings": model.encode(TEXTS).tolist(),
                "similarity": pick(similarity, ["pearson_cosine", "spearman_cosine"]),
                "retrieval": pick(retrieval, [f"cosine_{m}" for m in ["accuracy@1", "accuracy@3", "precision@1", "recall@3",
                                                                       "mrr@10", "ndcg@10", "map@100"]]),
                "search_top3": hits}
    with open(os.path.join(path, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


def compare(path, swift_npy):
    import numpy as np
    expected = np.load(os.path.join(path, "expected.npy"))
    got = np.load(swift_npy)
    diff = float(np.abs(expected - got).max()) if expected.shape == got.shape else float("inf")
    print(f"{os.path.basename(path)}: shape {got.shape}, max |Δ| vs sentence-transformers = {diff:.2e}")
    return diff


if __name__ == "__main__":
    if sys.argv[1] == "save":
        save(sys.argv[2], sys.argv[3])
    else:
        sys.exit(0 if compare(sys.argv[2], sys.argv[3]) <= 1e-5 else 1)
