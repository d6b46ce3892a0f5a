#!/usr/bin/env python3
"""Writes the fuzz harnesses' seed corpora into Fuzz/corpus/<harness>/: small well-formed examples of every file
format a harness parses (standard library only, deterministic), so that libFuzzer starts from inputs that reach deep
into each parser. Scripts/fuzz.sh runs each harness on a copy; the committed corpus does not grow.
usage: Fuzz/make-seeds.py [OUT_DIR]     (default Fuzz/corpus)"""
import collections, gzip, io, json, os, pickle, struct, sys, types, zipfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "Fuzz", "corpus")


def seed(harness, name, data):
    os.makedirs(os.path.join(out, harness), exist_ok=True)
    with open(os.path.join(out, harness, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# safetensors: 8-byte little-endian header length, JSON header, then the data.
def safetensors(tensors, metadata=None):
    header, blob = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + blob


seed("safetensors", "f32", safetensors({"w": ("F32", [2, 3], struct.pack("<6f", *range(6))),
                                         "b": ("F32", [3], struct.pack("<3f", 1, 2, 3))}, {"format": "pt"}))
seed("safetensors", "f16-bf16", safetensors({"h": ("F16", [2], struct.pack("<2H", 0x3C00, 0xC000)),
                                             "g": ("BF16", [1, 2], struct.pack("<2H", 0x3F80, 0x4000))}))


# pytorch_model.bin: a zip whose data.pkl (protocol 2) rebuilds tensors from storages by persistent id. The pickle
# names torch's globals; fake modules stand in for torch, which this script does not need.
torch = types.ModuleType("torch"); utils = types.ModuleType("torch._utils")
class FloatStorage: pass
class HalfStorage: pass
FloatStorage.__module__ = HalfStorage.__module__ = "torch"
def _rebuild_tensor_v2(*args): pass
_rebuild_tensor_v2.__module__ = "torch._utils"
torch.FloatStorage, torch.HalfStorage, utils._rebuild_tensor_v2 = FloatStorage, HalfStorage, _rebuild_tensor_v2
sys.modules["torch"], sys.modules["torch._utils"] = torch, utils


class Storage:
    def __init__(self, kind, key, count): self.kind, self.key, self.count = kind, key, count


class Tensor:
    def __init__(self, storage, shape, stride): self.storage, self.shape, self.stride = storage, shape, stride
    def __reduce__(self):
        return (_rebuild_tensor_v2, (self.storage, 0, self.shape, self.stride, False, collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        return ("storage", obj.kind, obj.key, "cpu", obj.count) if isinstance(obj, Storage) else None


def state_dict_pickle():
    a, b = Storage(FloatStorage, "0", 6), Storage(HalfStorage, "1", 2)
    state = collections.OrderedDict([("layer.weight", Tensor(a, (2, 3), (3, 1))), ("layer.bias", Tensor(b, (2,), (1,))),
                                     ("shared", Tensor(a, (3,), (1,)))])
    buffer = io.BytesIO()
    TorchPickler(buffer, protocol=2).dump(state)
    return buffer.getvalue()


pkl = state_dict_pickle()
seed("pickle", "state-dict.pkl", pkl)
zipped = io.BytesIO()
with zipfile.ZipFile(zipped, "w", zipfile.ZIP_STORED) as z:
    z.writestr("archive/data.pkl", pkl)
    z.writestr("archive/byteorder", "little")
    z.writestr("archive/data/0", struct.pack("<6f", *range(6)))
    z.writestr("archive/data/1", struct.pack("<2H", 0x3C00, 0x4000))
    z.writestr("archive/version", "3\n")
seed("torchzip", "pytorch_model.bin", zipped.getvalue())


# .npy version 1.0 and 2.0, float32 [rows, dim], and a header with double-quoted keys.
def npy(rows, dim, major=1, quote="'"):
    q = quote
    header = "{" + f"{q}descr{q}: {q}<f4{q}, {q}fortran_order{q}: False, {q}shape{q}: ({rows}, {dim}), " + "}"
    size_bytes = 2 if major == 1 else 4
    pad = (-(10 + (size_bytes - 2) + len(header) + 1)) % 64
    header = (header + " " * pad + "\n").encode()
    length = struct.pack("<H", len(header)) if major == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + length + header + struct.pack(f"<{rows * dim}f", *range(rows * dim))


seed("npy", "v1", npy(3, 4)); seed("npy", "v2", npy(2, 2, major=2)); seed("npy", "dquote", npy(1, 3, quote='"'))


# Training records: one line of each of the eight formats, as lines and as a gzip stream.
records = [json.dumps(x) for x in [
    ["what is a magnet", "a material that attracts iron"],
    ["anchor", "positive", "negative one", "negative two"],
    {"texts": ["title of a question", "its body \u00e9 \\ \"quoted\""], "guid": None},
    {"set": ["one paraphrase", "another paraphrase", "a third"]},
    {"query": "q", "pos": ["p1", "p2"]},
    {"query": "q", "pos": ["p"], "neg": ["n1", "n2"]},
    {"title": "t", "body": "b", "subreddit": "r"},
    {"context": "c", "response": "r"}]]
seed("records", "lines.jsonl", "\n".join(records) + "\n\n")
seed("records", "lines.json.gz", gzip.compress(("\n".join(records) + "\n").encode(), mtime=0))


# 01's manifests, as the repo ships them (first rows).
for name in ["GoogleSheets_datasets.tsv", "HuggingFace_datasets.tsv", "HuggingFace_repos.tsv"]:
    with open(os.path.join(root, "data", name), encoding="utf-8") as f:
        seed("manifests", name, "".join(f.readlines()[:4]))


# Evaluation sets: scored pairs (TSV, JSONL) and a BEIR directory as three parts joined by 0x00 bytes.
seed("evaluation", "pairs.tsv", "sentence1\tsentence2\tscore\nA man plays.\tA person plays.\t4.2\nCats.\tStocks.\t0.1\n")
seed("evaluation", "pairs.jsonl", '{"sentence1": "a", "sentence2": "b", "score": 0.5}\n{"sentence1": "c", "sentence2": "d", "score": 1}\n')
corpus = '{"_id": "d1", "title": "", "text": "Magnets attract iron."}\n{"_id": "d2", "title": "Bread", "text": "Bake it."}\n'
queries = '{"_id": "q1", "text": "how do magnets work"}\n'
qrels = "query-id\tcorpus-id\tscore\nq1\td1\t1\n"
seed("evaluation", "beir", "\0".join([corpus, queries, qrels]))


# Tokenizer files: vocab.txt or tokenizer.json, then 0x00 and a text to encode.
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "magnet", "##s", "work", "how", "do", ",", ".", "é", "##ing"]
text = "How do MAGNETS work, [SEP] the magneting é 日本 naïve."
seed("tokenizer", "vocab", "\n".join(vocab) + "\n\0" + text)
seed("tokenizer", "vocab-crlf", "\r\n".join(vocab) + "\r\n\0" + text)
tokenizer_json = {"version": "1.0", "added_tokens": [{"id": 0, "content": "[PAD]", "special": True}],
                  "normalizer": {"type": "BertNormalizer", "lowercase": True, "strip_accents": None},
                  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                            "vocab": {t: i for i, t in enumerate(vocab)}}}
seed("tokenizer", "tokenizer.json", json.dumps(tokenizer_json) + "\0" + text)


# config.json of the repo's fixture models (BERT and MosaicBERT).
for model in ["bert-tiny", "mosaic-tiny"]:
    with open(os.path.join(root, "Tests", "Fixtures", "reference", model, "config.json"), encoding="utf-8") as f:
        seed("config", model, f.read())
print(f"seeds written under {out}")
