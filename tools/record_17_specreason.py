"""Record notebook 17's real-model run: speculative reasoning (SpecReason) with SmolLM2-135M drafting
and Qwen2.5-Coder-0.5B scoring each step 0-9 and writing the rejected ones, against each model alone,
greedy, on synthetic arithmetic, through llama.cpp, into data/speculative/ (one row per problem and
method, appended as it finishes: rerunning resumes). The notebook's smoke run reads the file.
``--lens`` records the early-exit readout instead: the logit lens of SmolLM2-135M (transformers)
over Python code, flags only, into data/speculative/lens-smollm2.npz.

    OMP_NUM_THREADS=1 .venv/bin/python tools/record_17_specreason.py [N] [--force]
    OMP_NUM_THREADS=1 .venv/bin/python tools/record_17_specreason.py --lens
"""

from __future__ import annotations

import sys
import time

from itslab.experiments import speculative as sp

N_PROBLEMS = 15
LENS_TEXTS, LENS_TOKENS = 8, 128


def main(n: int = N_PROBLEMS, force: bool = False) -> None:
    t0 = time.time()
    df = sp.record_real(n_problems=n, force=force)
    print(sp.summary(df).round(3).to_string())
    print(f"{len(df)} rows in {sp.real_file()} ({time.time() - t0:.0f} s this session)")


def lens() -> None:
    from itslab import models

    t0 = time.time()
    gen = models.load("smollm2-135m", num_threads=1)
    r = sp.run_lens(gen, LENS_TEXTS, LENS_TOKENS)
    meta = {"model": "smollm2-135m", "modules": list(sp.LENS_MODULES[:LENS_TEXTS]), "max_tokens": LENS_TOKENS,
            "python": sys.version.split()[0], "wall_s": round(time.time() - t0, 1)}  # fmt: skip
    print(f"wrote {sp.record_lens(r, **meta)}: {r.agree.shape[1]} positions, {meta['wall_s']} s")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--lens" in sys.argv[1:]:
        lens()
    else:
        main(int(args[0]) if args else N_PROBLEMS, force="--force" in sys.argv[1:])
