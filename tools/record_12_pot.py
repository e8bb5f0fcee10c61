"""Record notebook 12's real-model comparison: Qwen2.5-Coder-0.5B (llama.cpp) answers GSM8K test
problems by chain-of-thought and by a Python program run in the sandbox, greedy, into
data/program_of_thought/ (answers and correctness only), which the notebook's smoke run reads.
Usage: ``ITSLAB_DATA_DIR=../shared/data OMP_NUM_THREADS=1 python tools/record_12_pot.py [N]``."""

from __future__ import annotations

import platform
import sys
import time

from itslab.experiments import program_of_thought as pot
from itslab.generators.llamacpp import LlamaCppGenerator
from itslab.tasks.loaders import load_benchmark

MODEL, N_PROBLEMS, MAX_TOKENS = "qwen2.5-coder-0.5b", 40, 320


def main(n: int = N_PROBLEMS) -> None:
    t0 = time.time()
    gen = LlamaCppGenerator(MODEL, n_threads=1, max_batch=8)
    problems = load_benchmark("gsm8k", "test", limit=n)
    df = pot.compare(gen, problems, max_tokens=MAX_TOKENS)
    meta = {
        "model": MODEL,
        "backend": "llamacpp",
        "benchmark": "gsm8k/test",
        "n_problems": n,
        "decoding": "greedy",
        "max_tokens": MAX_TOKENS,
        "wall_s": round(time.time() - t0, 1),
        "machine": platform.machine(),
        "recorded": time.strftime("%Y-%m-%d"),
    }
    path = pot.record(df, pot.default_path(MODEL), meta)
    print(pot.summary(df).round(3).to_string())
    print(f"wrote {path} in {meta['wall_s']} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N_PROBLEMS)
