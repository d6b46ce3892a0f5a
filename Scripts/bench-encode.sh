#!/usr/bin/env bash
# Benchmark: embed the same 2,000 sentences (8–60 words, generated deterministically) with all-MiniLM-L6-v2
# through 05-embed (release), Python sentence-transformers and ONNX Runtime (model exported with
# torch.onnx.export), all on 2 threads, in one run. Prints sentences/s for each, the ratios, the achieved
# GFLOP/s of 05-embed next to cblas_sgemm measured right after it (lodestone-bench --sgemm-only), and the max |Δ| between embeddings.
# Where the CPU has avx512_bf16, the bf16 pair follows: 05-embed --precision bf16 against sentence-transformers
# loaded in bf16 (model_kwargs torch_dtype=bfloat16), with the cosine of 05-embed's bf16 embeddings to its fp32 ones.
# usage: Scripts/bench-encode.sh            (env: BENCH_VENV=.venv-bench, BENCH_THREADS=2, BENCH_BATCH=32,
#                                             LODESTONE_MINILM=<model dir>, PIP_ARGS=<extra pip install args>,
#                                             BENCH_ONNX=0 to leave ONNX Runtime out, BENCH_BF16=0 the bf16 pair)
# Installs torch, sentence-transformers, onnx, onnxscript and onnxruntime from PyPI into $BENCH_VENV once.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${BENCH_THREADS:-2}
batch=${BENCH_BATCH:-32}
venv=${BENCH_VENV:-.venv-bench}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
onnx=${BENCH_ONNX:-1}
bf16=${BENCH_BF16:-1}
grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null || bf16=0
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads

model=${LODESTONE_MINILM:-$(bash Scripts/fetch-minilm.sh)}
echo "model: $model"

# 1. The sentences: 8–60 words drawn from the model's own vocabulary (whole words only), seed 2024.
python3 - "$model/vocab.txt" "$work/sentences.txt" <<'PY'
import random, sys
words = [w for w in open(sys.argv[1], encoding="utf-8").read().split("\n")[1996:12000] if w.isalpha()]
rng = random.Random(2024)
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for _ in range(2000):
        s = " ".join(rng.choice(words) for _ in range(rng.randint(8, 60)))
        f.write(s[0].upper() + s[1:] + ".\n")
PY

# 2. 05-embed, release build; then cblas_sgemm at an encoder-like shape (2048 tokens × hidden → intermediate)
#    from lodestone-bench, right after it on the same machine state.
swift build -c release --product 05-embed >&2
swift build -c release --product lodestone-bench >&2
swift_out=$(.build/release/05-embed --model "$model" --input "$work/sentences.txt" --output "$work/swift.npy" \
            --batch-size "$batch" --threads "$threads")
if [ "$bf16" != 0 ]; then
  swift_bf16=$(.build/release/05-embed --model "$model" --input "$work/sentences.txt" --output "$work/swift-bf16.npy" \
               --batch-size "$batch" --threads "$threads" --precision bf16)
  echo "$swift_bf16"
fi
shape=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]+"/config.json")); print("2048,%d,%d" % (c["intermediate_size"], c["hidden_size"]))' "$model")
swift_out="$swift_out
$(.build/release/lodestone-bench --threads "$threads" --sgemm-only "$shape")"
echo "$swift_out"
# The kernel OpenBLAS ran (lodestone-bench names it; 05-embed chose it the same way) and the CPU, for the result lines.
kernel=$(echo "$swift_out" | sed -n 's/^cblas_sgemm: .*OpenBLAS kernel \([^,]*\),.*/\1/p')
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)

# 3. Python: sentence-transformers and ONNX Runtime in a virtualenv from PyPI.
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet ${PIP_ARGS:-} torch sentence-transformers onnx onnxscript onnxruntime numpy
fi
"$venv/bin/python" - "$model" "$work" "$threads" "$batch" "$onnx" "$bf16" <<'PY'
import sys, time, numpy as np, torch
model_dir, work, threads, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
use_onnx, use_bf16 = sys.argv[5] != "0", sys.argv[6] != "0"
torch.set_num_threads(threads)
from sentence_transformers import SentenceTransformer
sentences = open(f"{work}/sentences.txt", encoding="utf-8").read().split("\n")[:-1]

def timed(st):
    st.encode(sentences[:64], batch_size=batch)  # warm-up
    t = time.perf_counter(); emb = st.encode(sentences, batch_size=batch, convert_to_numpy=True); s = time.perf_counter() - t
    return np.asarray(emb, dtype=np.float32), s
st = SentenceTransformer(model_dir, device="cpu")
st_emb, st_s = timed(st)
print(f"sentence-transformers: {len(sentences) / st_s:.1f} sentences/s ({st_s:.2f} s)")
st_bf16_rate = 0.0
if use_bf16:
    st16 = SentenceTransformer(model_dir, device="cpu", model_kwargs={"torch_dtype": torch.bfloat16})
    st16_emb, st16_s = timed(st16)
    st_bf16_rate = len(sentences) / st16_s
    swift32, swift16 = np.load(f"{work}/swift.npy"), np.load(f"{work}/swift-bf16.npy")
    cos = lambda a, b: (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print(f"sentence-transformers bf16: {st_bf16_rate:.1f} sentences/s ({st16_s:.2f} s); "
          f"min cosine 05-embed bf16 vs fp32: {cos(swift16, swift32).min():.5f}, vs sentence-transformers fp32: "
          f"{cos(swift16, st_emb).min():.5f}; sentence-transformers bf16 vs fp32: {cos(st16_emb, st_emb).min():.5f}")
if not use_onnx:
    open(f"{work}/python.txt", "w").write(f"{len(sentences) / st_s} 0 {st_bf16_rate}\n")
    sys.exit(0)
import onnxruntime as ort

# ONNX: export the transformer; pool and normalize in numpy; length-sorted batches like the others.
hf, tok = st[0].auto_model.eval(), st.tokenizer
sample = tok(["hello world"], return_tensors="pt")
names = ["input_ids", "attention_mask", "token_type_ids"]
axes = {n: {0: "batch", 1: "seq"} for n in names} | {"last_hidden_state": {0: "batch", 1: "seq"}}
args = tuple(sample[n] for n in names)
try:   # the TorchScript exporter where this torch still has it, else the dynamo exporter
    torch.onnx.export(hf, args, f"{work}/model.onnx", input_names=names, output_names=["last_hidden_state"],
                      dynamic_axes=axes, opset_version=17, dynamo=False)
except Exception as error:
    print(f"(TorchScript ONNX export unavailable: {type(error).__name__}; using dynamo=True)")
    torch.onnx.export(hf, args, f"{work}/model.onnx", input_names=names, output_names=["last_hidden_state"],
                      dynamic_axes=axes, opset_version=18, dynamo=True)
options = ort.SessionOptions(); options.intra_op_num_threads = threads; options.inter_op_num_threads = 1
session = ort.InferenceSession(f"{work}/model.onnx", options, providers=["CPUExecutionProvider"])
def ort_encode(texts):
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = np.zeros((len(texts), hf.config.hidden_size), dtype=np.float32)
    for s in range(0, len(order), batch):
        rows = order[s:s + batch]
        enc = tok([texts[i] for i in rows], padding=True, truncation=True, max_length=st.max_seq_length, return_tensors="np")
        h = session.run(None, {n: enc[n].astype(np.int64) for n in names})[0]
        m = enc["attention_mask"][..., None].astype(np.float32)
        e = (h * m).sum(1) / m.sum(1)
        out[rows] = e / np.linalg.norm(e, axis=1, keepdims=True)
    return out
ort_encode(sentences[:64])
t = time.perf_counter(); ort_emb = ort_encode(sentences); ort_s = time.perf_counter() - t
print(f"onnxruntime: {len(sentences) / ort_s:.1f} sentences/s ({ort_s:.2f} s)")
swift_emb = np.load(f"{work}/swift.npy")
print(f"max |05-embed - sentence-transformers|: {np.abs(swift_emb - st_emb).max():.2e}; "
      f"max |onnxruntime - sentence-transformers|: {np.abs(ort_emb - st_emb).max():.2e}")
open(f"{work}/python.txt", "w").write(f"{len(sentences) / st_s} {len(sentences) / ort_s} {st_bf16_rate}\n")
PY

# 4. Ratios.
rate() { sed -n 's/.*: \([0-9.]*\) sentences\/s.*/\1/p' <<<"$1" | head -1; }
swift_rate=$(rate "$swift_out")
bf16_rate=$(if [ "$bf16" != 0 ]; then rate "$swift_bf16"; else echo 0; fi)
read -r st_rate ort_rate st_bf16_rate < "$work/python.txt"
python3 - "$swift_rate" "$st_rate" "$ort_rate" "$bf16_rate" "$st_bf16_rate" "OpenBLAS kernel $kernel, $threads threads, $cpu" <<'PY'
import sys
s, st, o, b, stb = map(float, sys.argv[1:6])
where = sys.argv[6]
print(f"05-embed / sentence-transformers: {s / st:.2f}x (target >= 1.3x) [precision fp32, {where}]")
if o > 0: print(f"05-embed / onnxruntime: {s / o:.2f}x (target > 1x) [precision fp32, {where}]")
if b > 0:
    print(f"05-embed bf16 / sentence-transformers bf16: {b / stb:.2f}x (target >= 1.5x; {b:.1f} vs {stb:.1f} sentences/s) [precision bf16, {where}]")
    print(f"05-embed bf16 / 05-embed fp32: {b / s:.2f}x [precision bf16 vs fp32, {where}]")
PY
