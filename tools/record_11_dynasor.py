"""Record notebook 11's real probe-based early exit: Qwen2.5-Coder-0.5B (llama.cpp) on GSM8K test problems,
one sampled trace per problem run to its end with a Dynasor probe every 32 tokens, into
data/dynasor/ (numbers and answer hashes only), which the notebook's smoke run reads and replays.
Resumable: problems already in the file are skipped, and the file is rewritten after each problem.
Usage: ``ITSLAB_DATA_DIR=../shared/data OMP_NUM_THREADS=1 python tools/record_11_dynasor.py [N]``."""

from __future__ import annotations

import platform
import sys
import time

import pandas as pd

from itslab.experiments import dynasor
from itslab.generators.llamacpp import LlamaCppGenerator
from itslab.tasks.loaders import load_benchmark

MODEL, N_PROBLEMS = "qwen2.5-coder-0.5b", 20
HYPER = dict(interval=32, max_tokens=256, temperature=0.6, top_p=0.95, probe_tokens=10, probe_stop=("}",))


def main(n: int = N_PROBLEMS) -> None:
    path = dynasor.default_path(MODEL)
    done, meta = dynasor.load(path) if path.is_file() else (pd.DataFrame(), {})
    t0, wall = time.time(), float(meta.get("wall_s", 0.0))
    gen = LlamaCppGenerator(MODEL, n_threads=1, max_batch=8)
    rows = [done] if len(done) else []
    seen = set(done["problem_id"]) if len(done) else set()
    for p in load_benchmark("gsm8k", "test", limit=n):
        if p.id in seen:
            continue
        t1 = time.time()
        rows.append(dynasor.record_traces(gen, [p], seed=0, **HYPER))
        frame = pd.concat(rows, ignore_index=True)
        meta = {
            "model": MODEL,
            "backend": "llamacpp",
            "benchmark": "gsm8k/test",
            "n_problems": len(frame),
            "complete": len(frame) >= n,
            "decoding": f"T={HYPER['temperature']}, top_p={HYPER['top_p']}; probes greedy",
            "interval": HYPER["interval"],
            "max_tokens": HYPER["max_tokens"],
            "probe_tokens": HYPER["probe_tokens"],
            "probe_stop": list(HYPER["probe_stop"]),
            "probe": "Dynasor's (itslab.strategies.probes.DYNASOR_PROBE)",
            "wall_s": round(wall + time.time() - t0, 1),
            "machine": platform.machine(),
            "recorded": time.strftime("%Y-%m-%d"),
        }
        dynasor.save(frame, path, meta)
        print(f"{p.id}: {time.time() - t1:.0f} s, {len(frame)}/{n}", flush=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else N_PROBLEMS)
