"""Record notebook 15's real-model run: Qwen2.5-Coder-0.5B (llama.cpp) answers GSM8K after its own chains
of thought (bank gsm8k-qwen05-t0.8) are cut at 0, 1/4, 1/2 and 3/4 of their tokens, m = 2 answers of at
most 6 tokens per cut, into data/fractured/ (answers, correctness, token counts; no text). Resumable:
problems already recorded are skipped; it stops after the problem that passes the time limit.
Usage: ``ITSLAB_DATA_DIR=../shared/data OMP_NUM_THREADS=1 python tools/record_15_fractured.py [N] [MINUTES]``."""

from __future__ import annotations

import platform
import sys
import time

from itslab.experiments import fractured_real as fr
from itslab.generators.llamacpp import LlamaCppGenerator
from itslab.tasks.loaders import load_benchmark

N_PROBLEMS, N_TRAJECTORIES, M, MINUTES = 30, 4, 2, 15.0


def main(n: int = N_PROBLEMS, minutes: float = MINUTES) -> None:
    t0 = time.time()
    frame = fr.bank_frame(fr.BANK)
    gen = LlamaCppGenerator(fr.MODEL, n_threads=1, max_batch=16, n_ctx=8192)
    problems = load_benchmark("gsm8k", "test", limit=n)
    meta = {
        "model": fr.MODEL,
        "backend": "llamacpp",
        "bank": fr.BANK,
        "benchmark": "gsm8k/test",
        "trajectories_per_problem": N_TRAJECTORIES,
        "answers_per_cut": M,
        "fractions": list(fr.FRACTIONS),
        "answer_prompt": fr.ANSWER_PROMPT,
        "max_answer_tokens": fr.MAX_TOKENS,
        "temperature": 0.8,
        "machine": platform.machine(),
        "recorded": time.strftime("%Y-%m-%d"),
    }
    path = fr.record(
        fr.default_path(), gen, problems, frame, n_trajectories=N_TRAJECTORIES, m=M, meta=meta, max_seconds=60 * minutes
    )
    trajs, answers, meta = fr.load_record(path)
    print(fr.anytime_table(trajs, answers).round(3).to_string())
    print(f"{meta['n_problems']} problems in {path}; this run {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N_PROBLEMS, float(sys.argv[2]) if len(sys.argv) > 2 else MINUTES)
