"""Record notebook 07's real-model step search: weighted best-of-N against PRM beam search on
Qwen2.5-Coder-0.5B (llama.cpp) with the exact rule-based step verifier as PRM, or (``--prm-auc``) its
noisy copy of that step AUC.

    .venv/bin/python tools/record_step_search.py [--problems 8] [--out data/step_search/arith-qwen05-beam.csv]
    .venv/bin/python tools/record_step_search.py --prm-auc 0.75 --out data/step_search/arith-qwen05-beam-auc0.75.csv

Notebook 07 reads the file; its full mode reruns this with the same settings.
"""

from __future__ import annotations

import argparse

from itslab.experiments.step_search import real_file, record_real

REAL_FILE = str(real_file())

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=8)
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prm-auc", type=float, default=None, help="a noisy PRM of this step AUC (default: exact)")
    ap.add_argument("--out", default=REAL_FILE)
    a = ap.parse_args()
    df = record_real(a.out, n_problems=a.problems, n=a.n, n_threads=a.threads, prm_auc=a.prm_auc, force=True)
    print(df.groupby("strategy")[["correct", "generated_tokens"]].mean())
