"""Record notebook 14's real-model run: budget forcing on Qwen2.5-Coder-0.5B (llama.cpp, greedy) over
GSM8K test problems, the end of thinking being the model's ``####`` answer marker: two "Wait"s with
the answer probed before each, and thinking caps of 32 and 96 tokens
(`itslab.experiments.budget_forcing_real.CONFIGS`). Resumable: rows already in the record are kept
and only missing (problem, config) units run; the file is rewritten after every unit. Numbers only,
no question text, into data/budget_forcing/.
Usage: ``ITSLAB_DATA_DIR=../shared/data OMP_NUM_THREADS=1 python tools/record_14_budget_forcing.py [N]``."""

from __future__ import annotations

import platform
import sys
import time

from itslab.experiments import budget_forcing_real as bfr
from itslab.generators.llamacpp import LlamaCppGenerator
from itslab.tasks.loaders import load_benchmark

MODEL, N_PROBLEMS = "qwen2.5-coder-0.5b", 20


def main(n: int = N_PROBLEMS) -> None:
    t0 = time.time()
    path = bfr.default_path(MODEL)
    rows, wall = [], 0.0
    if path.is_file():
        old, meta = bfr.load_record(path)
        rows, wall = old.to_dict("records"), float(meta.get("wall_s", 0.0))
    done = {(r["problem_id"], r["config"]) for r in rows}
    problems = load_benchmark("gsm8k", "test", limit=n)
    units = [(p, c) for p in problems for c in bfr.CONFIGS if (p.id, c) not in done]
    gen = LlamaCppGenerator(MODEL, n_threads=1, max_batch=8)

    def meta() -> dict:
        return {
            "model": MODEL,
            "backend": "llamacpp",
            "benchmark": "gsm8k/test",
            "n_problems": n,
            "decoding": "greedy",
            "configs": {
                k: {a: list(v) if isinstance(v, tuple) else v for a, v in h.items()} for k, h in bfr.CONFIGS.items()
            },
            "wall_s": round(wall + time.time() - t0, 1),
            "machine": platform.machine(),
            "recorded": time.strftime("%Y-%m-%d"),
        }

    def save(row: dict) -> None:
        rows.append(row)
        bfr.write(rows, path, meta())
        print(f"{len(rows)}/{len(problems) * len(bfr.CONFIGS)} {row['config']:18s} {row['correct']}", flush=True)

    bfr.run_units(gen, units, n_workers=8, on_row=save)
    order = {p.id: i for i, p in enumerate(problems)}
    rows.sort(key=lambda r: (list(bfr.CONFIGS).index(r["config"]), order.get(r["problem_id"], len(order))))
    bfr.write(rows, path, meta())
    df, _ = bfr.load_record(path)
    print(bfr.summary(df).round(3).to_string())
    print(bfr.by_wait(df).round(3).to_string())
    print(f"wrote {path} in {meta()['wall_s']} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N_PROBLEMS)
