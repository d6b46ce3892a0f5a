#!/usr/bin/env bash
# Benchmark on texts of real, mixed lengths (what unpadded batches buy): queries of 5–30 words against passages of
# 40–400 (a log-normal mix, median about 90 words, as MS MARCO passages and the Stack Exchange and Reddit sets of
# the original's data run), all-MiniLM-L6-v2, the same threads on both sides, alternating ours and theirs:
#   (a) fine-tuning with MNRL, batch 64: 04-training against sentence-transformers' SentenceTransformerTrainer
#       (the fit loop of sentence-transformers 3+), the same pairs, STEPS steps each;
#   (b) encoding 5,000 such texts: 05-embed against SentenceTransformer.encode (which sorts by length).
# Prints the length mix, then per side tokens/s (real tokens, [CLS]/[SEP] included) and, for sentence-transformers,
# the share of the tokens it computed that were padding; then the ratios (targets: (a) ≥ 3×, (b) ≥ 2×), with the
# CPU model, the OpenBLAS kernel and the precision (fp32).
# usage: Scripts/bench-real-lengths.sh   (env: BENCH_VENV=.venv-bench, BENCH_THREADS=2, STEPS=8, ROUNDS=2,
#                                          TEXTS=5000, LODESTONE_MINILM=<model dir>, PIP_ARGS=<extra pip args>)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${BENCH_THREADS:-2} steps=${STEPS:-8} rounds=${ROUNDS:-2} texts=${TEXTS:-5000}
venv=${BENCH_VENV:-.venv-bench}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet ${PIP_ARGS:-} torch sentence-transformers datasets accelerate numpy
fi
python=$venv/bin/python
model=${LODESTONE_MINILM:-$(bash Scripts/fetch-minilm.sh)}
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)

# 1. The pairs and the texts to encode, words from the model's vocabulary (seed 2026); the mix in tokens.
"$python" - "$model" "$work" "$texts" <<'PY'
import gzip, json, math, random, sys
from transformers import AutoTokenizer
model, work, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
words = [w for w in open(f"{model}/vocab.txt", encoding="utf-8").read().split("\n")[1996:12000] if w.isalpha()]
rng = random.Random(2026)
def text(n):
    s = " ".join(rng.choice(words) for _ in range(n))
    return s[0].upper() + s[1:] + "."
def passage_words():
    return max(40, min(400, int(math.exp(rng.gauss(math.log(90), 0.6)))))
pairs = [(text(rng.randint(5, 30)), text(passage_words())) for _ in range(2000)]
import os
os.makedirs(f"{work}/store/data", exist_ok=True)
with gzip.open(f"{work}/store/data/pairs.json.gz", "wt", encoding="utf-8") as f:
    for q, p in pairs:
        f.write(json.dumps([q, p]) + "\n")
json.dump(pairs, open(f"{work}/pairs.json", "w"))
encode = [text(rng.randint(5, 30)) if i % 2 == 0 else text(passage_words()) for i in range(count)]
open(f"{work}/texts.txt", "w", encoding="utf-8").write("\n".join(encode) + "\n")
tok = AutoTokenizer.from_pretrained(model)
def tokens(ts): return sorted(len(x) for x in tok(ts, truncation=True, max_length=256)["input_ids"])
def mix(name, ls):
    q = lambda p: ls[min(len(ls) - 1, int(p * len(ls)))]
    print(f"mix: {name}: {len(ls)} texts, tokens min {ls[0]}, median {q(0.5)}, p90 {q(0.9)}, max {ls[-1]} (cut at 256), mean {sum(ls)/len(ls):.1f}")
mix("queries", tokens([q for q, _ in pairs])); mix("passages", tokens([p for _, p in pairs])); mix("encode", tokens(encode))
PY

# 2. Ours: release build, the store counted by 02.
swift build -c release --product 02-data-records >&2
swift build -c release --product 04-training >&2
swift build -c release --product 05-embed >&2
swift build -c release --product lodestone-bench >&2
bin=$(swift build -c release --show-bin-path)
"$bin/02-data-records" --store "$work/store" --output "$work/data_records.json" >/dev/null 2>&1
kernel=$("$bin/lodestone-bench" --threads "$threads" --sgemm-only 64,64,64 | sed -n 's/^cblas_sgemm: .*OpenBLAS kernel \([^,]*\),.*/\1/p')

ours_train() {  # wall seconds of the whole 04 process: start-up, the steps, the model and checkpoint written at the end
  rm -rf "$work/run"
  local t0 t1; t0=$(date +%s.%N)
  "$bin/04-training" --store "$work/store" --records "$work/data_records.json" --model "$model" --output "$work/run" \
    --batch-size 64 --cycles 1 --chunks 1 --epochs 1 --steps-per-epoch "$steps" --warmup-steps 0 --lr 2e-5 \
    --threads "$threads" --log-batches "$work/batches.jsonl" >"$work/04.log" 2>&1 || { cat "$work/04.log" >&2; exit 1; }
  t1=$(date +%s.%N); python3 -c "print($t1 - $t0)"
}
ours_encode() {
  local t0 t1; t0=$(date +%s.%N)
  "$bin/05-embed" --model "$model" --input "$work/texts.txt" --output "$work/ours.npy" --threads "$threads" --batch-size 32 >/dev/null 2>&1
  t1=$(date +%s.%N); python3 -c "print($t1 - $t0)"
}

# 3. Theirs, alternating with ours; each side's best round counts (the machine may be shared). Ours is timed as
#    whole processes (model loading and the final save included), theirs from the loaded model: the ratios are
#    conservative for us.
theirs() {  # theirs train|encode → seconds, padding share
  "$python" - "$1" "$model" "$work" "$threads" "$steps" <<'PY'
import json, os, random, sys, tempfile, time
import torch
what, model_dir, work, threads, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
from sentence_transformers import SentenceTransformer
st = SentenceTransformer(model_dir, device="cpu")
tok = st.tokenizer
def lengths(ts): return [len(x) for x in tok(ts, truncation=True, max_length=st.max_seq_length)["input_ids"]]
def padding(batches):   # share of computed tokens that were padding: each batch is padded to its longest text
    real = sum(sum(b) for b in batches); computed = sum(len(b) * max(b) for b in batches)
    return 1 - real / computed
if what == "encode":
    texts = open(f"{work}/texts.txt", encoding="utf-8").read().split("\n")[:-1]
    st.encode(texts[:64], batch_size=32)
    t = time.perf_counter(); st.encode(texts, batch_size=32); s = time.perf_counter() - t
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))   # sentence-transformers' own length sort
    ls = lengths(texts)
    share = padding([[ls[i] for i in order[k:k + 32]] for k in range(0, len(order), 32)])
else:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    pairs = json.load(open(f"{work}/pairs.json"))
    data = Dataset.from_dict({"anchor": [q for q, _ in pairs], "positive": [p for _, p in pairs]})
    args = SentenceTransformerTrainingArguments(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=64,
                                                max_steps=steps, learning_rate=2e-5, warmup_steps=0, save_strategy="no",
                                                report_to="none", logging_steps=10_000, dataloader_num_workers=0,
                                                disable_tqdm=True, use_cpu=True, seed=2026)
    trainer = SentenceTransformerTrainer(model=st, args=args, train_dataset=data, loss=MultipleNegativesRankingLoss(st))
    t = time.perf_counter(); trainer.train(); s = time.perf_counter() - t
    rng = random.Random(0); order = list(range(len(pairs))); rng.shuffle(order)   # batches as a random sampler draws them
    q, p = lengths([x for x, _ in pairs]), lengths([y for _, y in pairs])
    batches = [order[k:k + 64] for k in range(0, 64 * steps, 64)]
    share = padding([[q[i] for i in b] for b in batches] + [[p[i] for i in b] for b in batches])
print(f"{s:.3f} {share:.4f}")
PY
}

tokens_of() {  # real tokens of the trained batches (from 04's batch log) or of the encoded texts
  "$python" - "$1" "$model" "$work" <<'PY'
import json, sys
from transformers import AutoTokenizer
what, model, work = sys.argv[1:4]
tok = AutoTokenizer.from_pretrained(model)
if what == "train":
    texts = [t for line in open(f"{work}/batches.jsonl") for column in json.loads(line)["columns"] for t in column]
else:
    texts = open(f"{work}/texts.txt", encoding="utf-8").read().split("\n")[:-1]
print(sum(len(x) for x in tok(texts, truncation=True, max_length=256)["input_ids"]))
PY
}

best() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }

ours_t=(); theirs_t=(); theirs_pad=0; ours_e=(); theirs_e=(); theirs_epad=0
for round in $(seq "$rounds"); do
  ours_t+=("$(ours_train)")
  read -r s pad < <(theirs train 2>"$work/st.log" | tail -1); theirs_t+=("$s"); theirs_pad=$pad
  ours_e+=("$(ours_encode)")
  read -r s pad < <(theirs encode 2>"$work/st.log" | tail -1); theirs_e+=("$s"); theirs_epad=$pad
  echo "round $round: train ours ${ours_t[-1]} s, theirs ${theirs_t[-1]} s; encode ours ${ours_e[-1]} s, theirs ${theirs_e[-1]} s" >&2
done
train_tokens=$(tokens_of train); encode_tokens=$(tokens_of encode)
python3 - "$(best "${ours_t[@]}")" "$(best "${theirs_t[@]}")" "$theirs_pad" "$(best "${ours_e[@]}")" "$(best "${theirs_e[@]}")" \
  "$theirs_epad" "$train_tokens" "$encode_tokens" "$steps" "$texts" "$cpu" "$kernel" "$threads" <<'PY'
import sys
ot, tt, tpad, oe, te, epad, ttok, etok, steps, texts, cpu, kernel, threads = sys.argv[1:]
ot, tt, tpad, oe, te, epad, ttok, etok = map(float, (ot, tt, tpad, oe, te, epad, ttok, etok))
tag = f"({cpu}, OpenBLAS kernel {kernel}, fp32, {threads} threads)"
print(f"(a) fine-tune, MNRL, batch 64, {steps} steps: 04-training {ttok / ot:.0f} tokens/s ({ot:.1f} s) | "
      f"sentence-transformers {ttok / tt:.0f} tokens/s ({tt:.1f} s, {100 * tpad:.1f}% of its tokens padding) | "
      f"ratio {tt / ot:.2f}x (target 3x) {tag}")
print(f"(b) encode {texts} texts: 05-embed {etok / oe:.0f} tokens/s ({oe:.1f} s) | "
      f"sentence-transformers {etok / te:.0f} tokens/s ({te:.1f} s, {100 * epad:.1f}% of its tokens padding) | "
      f"ratio {te / oe:.2f}x (target 2x) {tag}")
PY
