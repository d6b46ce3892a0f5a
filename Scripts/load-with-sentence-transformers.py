#!/usr/bin/env python3
"""Shows that Python sentence-transformers loads a classic-BERT model trained by this project, unchanged.

1. Fine-tunes all-MiniLM-L6-v2 (a classic BERT; fetched by Scripts/fetch-minilm.sh) for a few steps
   with `04-training` on the store of the main job (Scripts/replicate.sh must have run: runs/replicate/store).
2. Embeds sample sentences with `05-embed encode`.
3. Loads the trained directory with `SentenceTransformer(DIR)` — no conversion, no code of ours — embeds the
   same sentences and compares: max |difference| must be below 1e-4, and the model must have changed.

usage: python3 Scripts/load-with-sentence-transformers.py [--model TRAINED_DIR] [--run runs/replicate]
  --model: skip step 1 and check an existing trained classic-BERT directory.
Needs torch and sentence-transformers (a virtualenv: BENCH_VENV, default .venv-bench, is created if missing
and this script re-runs itself inside it).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SENTENCES = [
    "A man is playing a guitar on stage.",
    "Someone performs music with a guitar.",
    "how do i bake bread without an oven?",
    "The telescope showed a comet near the planet.",
]


def ensure_venv():
    try:
        import sentence_transformers  # noqa: F401
        import numpy  # noqa: F401
        return
    except ImportError:
        pass
    venv = os.path.join(ROOT, os.environ.get("BENCH_VENV", ".venv-bench"))
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([python, "-m", "pip", "install", "--quiet", "torch", "sentence-transformers", "numpy"])
    os.execv(python, [python] + sys.argv)


def run(cmd):
    print("+", " ".join(cmd), flush=True)
    subprocess.check_call(cmd, cwd=ROOT)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="an existing trained classic-BERT sentence-transformers directory")
    parser.add_argument("--run", default="runs/replicate", help="the main job's run directory (store, data_records.json)")
    args = parser.parse_args()
    ensure_venv()
    import numpy as np
    from sentence_transformers import SentenceTransformer

    bin_dir = subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, text=True).strip()
    work = tempfile.mkdtemp(prefix="st-load-")
    base = None
    model = args.model
    if model is None:
        # 1. Fine-tune all-MiniLM-L6-v2 for a few steps on the sample store.
        base = subprocess.check_output(["bash", os.path.join(ROOT, "Scripts/fetch-minilm.sh")], text=True).strip()
        store = os.path.join(args.run, "store")
        if not os.path.isdir(os.path.join(ROOT, store)):
            sys.exit(f"{store} not found: run Scripts/replicate.sh first (it builds the sample store)")
        out = os.path.join(work, "train")
        run([f"{bin_dir}/04-training", "--store", store, "--records", os.path.join(args.run, "data_records.json"),
             "--model", base, "--output", out, "--cycles", "1", "--chunks", "1", "--epochs", "1",
             "--steps-per-epoch", "6", "--batch-size", "8", "--max-seq-length", "64", "--lr", "1e-4",
             "--warmup-steps", "0"])
        model = os.path.join(out, "model")

    # 2. Embeddings from Swift.
    texts = os.path.join(work, "sentences.txt")
    with open(texts, "w") as f:
        f.write("\n".join(SENTENCES) + "\n")
    swift_out = os.path.join(work, "swift.npy")
    run([f"{bin_dir}/05-embed", "encode", "--model", model, "--input", texts, "--output", swift_out])
    swift = np.load(swift_out)

    # 3. The same directory through sentence-transformers, untouched.
    st = SentenceTransformer(model, device="cpu")
    print("loaded:", [type(m).__name__ for m in st], "max_seq_length", st.max_seq_length)
    python = st.encode(SENTENCES, convert_to_numpy=True, normalize_embeddings=False)
    diff = float(np.abs(python - swift).max())
    print(f"max |swift - sentence-transformers| = {diff:.2e} over {python.shape}")
    ok = diff < 1e-4
    if base is not None:
        before = SentenceTransformer(base, device="cpu").encode(SENTENCES, convert_to_numpy=True)
        change = float(np.abs(before - python).max())
        print(f"max |trained - all-MiniLM-L6-v2| = {change:.2e} (training changed the model)")
        ok = ok and change > 1e-5
    print("OK: sentence-transformers loads the trained model unchanged" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
