#!/usr/bin/env python3
"""Saves small model directories with the installed sentence-transformers (2.x or 6.x), one per pooling setup, and
checks them against 05-embed: every directory is loaded back in Python, its embeddings of a few texts (with a prompt
where it has one) are written next to it, and compare mode prints the max |difference| from 05-embed's.

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
    }
    for name, s in setups.items():
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
        modules = [word, pool] + ([models.Normalize()] if s["normalize"] else [])
        model = SentenceTransformer(modules=modules, device="cpu",
                                    prompts=s["prompts"], default_prompt_name=s.get("default"))
        path = os.path.join(out, f"st{major}-{name}")
        model.save(path)
        emb = model.encode(TEXTS, convert_to_numpy=True)
        np.save(os.path.join(path, "expected.npy"), emb.astype("float32"))
        with open(os.path.join(path, "texts.txt"), "w") as f:
            f.write("\n".join(TEXTS) + "\n")
        print(f"saved {path} (sentence-transformers {st.__version__}, embeddings {emb.shape})")


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
