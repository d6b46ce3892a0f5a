#!/usr/bin/env python3
"""Python's half of Scripts/check-python.sh (run it inside the benchmark virtualenv).

  texts VOCAB OUT.txt
      Writes the texts to embed: short sentences of different lengths and one text of exactly 3,000 tokens
      ([CLS] and [SEP] included; whole words of VOCAB, one token each), one text per line.
  compare --texts T.txt --model NAME DIR SWIFT.npy [--model …] [--original FIXTURE_DIR]
      For every model: SentenceTransformer(DIR, trust_remote_code=True) embeds the texts all in one padded
      batch and one at a time; both are compared with 05-embed's SWIFT.npy. MosaicBERT directories are also
      loaded with AutoModel.from_pretrained(DIR, trust_remote_code=True), which must find every weight.
      --original: the fixture's upstream MosaicBERT checkpoint (BertForMaskedLM: `bert.` names and an MLM
      head) loaded into our modules (taken from the first MosaicBERT --model) must give the fixture's
      reference token embeddings.
      Prints the max |difference| per model; exits 1 if any exceeds --tolerance (default 1e-5).
"""
import argparse
import json
import os
import random
import shutil
import sys
import tempfile

SHORT_TEXTS = [
    "A man is playing a guitar on stage.",
    "Someone performs music with a guitar.",
    "how do i bake bread without an oven?",
    "The telescope showed a comet near the planet, and the astronomers stayed up all night to watch it cross "
    "the sky while the city slept below them.",
    "Zürich",
]
LONG_TEXT_TOKENS = 3000


def write_texts(vocab_path, out_path):
    vocab = open(vocab_path, encoding="utf-8").read().split("\n")
    # Lower-case alphabetic whole words: each is one token, so the long text's length is exact.
    words = [w for w in vocab[1996:12000] if w.isalpha() and w.islower()]
    rng = random.Random(3000)
    # Random words, then one word repeated: the two halves differ systematically, so an attention error at
    # long distances (ALiBi past alibi_starting_size) survives the mean pooling; over random words alone it
    # averages out (a table clamped at 512 moves this text's embedding by 2e-4, a random text's by 9e-6).
    half = (LONG_TEXT_TOKENS - 2) // 2
    long_text = " ".join([rng.choice(words) for _ in range(half)] + ["mountain"] * (LONG_TEXT_TOKENS - 2 - half))
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(SHORT_TEXTS + [long_text]) + "\n")


def is_mosaic(directory):
    config = json.load(open(os.path.join(directory, "config.json")))
    return "alibi_starting_size" in config


def check_model(name, directory, swift_npy, texts, tolerance):
    import numpy as np
    from sentence_transformers import SentenceTransformer

    swift = np.load(swift_npy)
    model = SentenceTransformer(directory, device="cpu", trust_remote_code=True)
    lengths = [len(model.tokenizer(t, truncation=True, max_length=model.max_seq_length)["input_ids"]) for t in texts]
    batched = model.encode(texts, batch_size=len(texts), convert_to_numpy=True)
    alone = np.stack([model.encode([t], convert_to_numpy=True)[0] for t in texts])
    batched_diff = float(np.abs(batched - swift).max())
    alone_diff = float(np.abs(alone - swift).max())
    kind = "MosaicBERT" if is_mosaic(directory) else "BERT"
    ok = batched.shape == swift.shape and max(batched_diff, alone_diff) <= tolerance
    notes = []
    if kind == "MosaicBERT":
        from transformers import AutoModel

        _, info = AutoModel.from_pretrained(directory, trust_remote_code=True, output_loading_info=True)
        missing, unexpected = sorted(info["missing_keys"]), sorted(info["unexpected_keys"])
        if missing or unexpected:
            ok = False
            notes.append(f"AutoModel: missing {missing}, unexpected {unexpected}")
        notes.append(f"model class {type(model[0].auto_model).__name__}")
    print(f"{name} ({kind}, max_seq_length {model.max_seq_length}, longest text {max(lengths)} tokens): "
          f"max |05-embed - sentence-transformers| = {batched_diff:.2e} batched, {alone_diff:.2e} one at a time"
          f" [{'ok' if ok else 'MISMATCH'}]" + "".join(f"; {n}" for n in notes), flush=True)
    return ok


def check_original(fixture, modules_from, tolerance):
    """The upstream checkpoint (pytorch_model.bin, `bert.*` + `cls.*`) through our modules."""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()  # its load report lists the MLM head, which we count below
    work = tempfile.mkdtemp(prefix="check-python-original-")
    try:
        for f in ["pytorch_model.bin", "vocab.txt", "tokenizer_config.json"]:
            shutil.copy(os.path.join(fixture, f), work)
        for f in os.listdir(modules_from):
            if f.endswith(".py"):
                shutil.copy(os.path.join(modules_from, f), work)
        config = json.load(open(os.path.join(fixture, "config.json")))
        config["auto_map"] = json.load(open(os.path.join(modules_from, "config.json")))["auto_map"]
        json.dump(config, open(os.path.join(work, "config.json"), "w"))
        model, info = AutoModel.from_pretrained(work, trust_remote_code=True, output_loading_info=True)
        tokenizer = AutoTokenizer.from_pretrained(work)
        case = json.load(open(os.path.join(fixture, "case.json")))
        expected = load_file(os.path.join(fixture, "expected.safetensors"))
        diff = 0.0
        for c, column in enumerate(case["columns"]):
            batch = tokenizer(column, padding=True, truncation=True, max_length=case["max_seq_length"], return_tensors="pt")
            with torch.no_grad():
                out = model(**batch).last_hidden_state
            diff = max(diff, float((out - expected[f"column{c}.token_embeddings"]).abs().max()))
        unexpected_heads = all(k.startswith("cls.") for k in info["unexpected_keys"])
        ok = not info["missing_keys"] and unexpected_heads and diff <= tolerance
        print(f"original checkpoint ({fixture}/pytorch_model.bin, alibi_starting_size {config['alibi_starting_size']}): "
              f"missing {sorted(info['missing_keys'])}, {len(info['unexpected_keys'])} MLM-head tensors ignored; "
              f"max |ours - reference token embeddings| = {diff:.2e} [{'ok' if ok else 'MISMATCH'}]", flush=True)
        return ok
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    texts = commands.add_parser("texts")
    texts.add_argument("vocab")
    texts.add_argument("output")
    compare = commands.add_parser("compare")
    compare.add_argument("--texts", required=True)
    compare.add_argument("--model", nargs=3, action="append", default=[], metavar=("NAME", "DIR", "SWIFT_NPY"))
    compare.add_argument("--original", help="fixture directory with an upstream MosaicBERT checkpoint")
    compare.add_argument("--tolerance", type=float, default=1e-5)
    compare.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.command == "texts":
        write_texts(args.vocab, args.output)
        return
    import torch

    torch.set_num_threads(args.threads)
    sentences = open(args.texts, encoding="utf-8").read().split("\n")[:-1]
    ok = True
    for name, directory, npy in args.model:
        ok = check_model(name, directory, npy, sentences, args.tolerance) and ok
    if args.original:
        mosaic = [d for _, d, _ in args.model if is_mosaic(d)]
        if not mosaic:
            sys.exit("--original needs a MosaicBERT --model to take the Python modules from")
        ok = check_original(args.original, mosaic[0], args.tolerance) and ok
    print("check-python: OK" if ok else f"check-python: FAILED (tolerance {args.tolerance:g})", flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
