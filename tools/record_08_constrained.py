"""Record notebook 08's real-model comparison (SMC steering vs best-of-N vs rejection sampling, a
lipogram on SmolLM2-135M through llama.cpp) at its full-mode sizes into data/constrained/, which the
notebook's smoke run reads. Usage: ``OMP_NUM_THREADS=1 python tools/record_08_constrained.py``."""

from __future__ import annotations

import platform
import time

from itslab.experiments import constrained
from itslab.generators.llamacpp import LlamaCppGenerator


def main() -> None:
    t0 = time.time()
    gen = LlamaCppGenerator("smollm2-135m", n_threads=1)
    df = constrained.compare(gen, constrained.PROMPTS, **constrained.FULL)
    meta = {
        "model": "smollm2-135m",
        "backend": "llamacpp",
        "prompts": list(constrained.PROMPTS),
        **{k: list(v) if isinstance(v, tuple) else v for k, v in constrained.FULL.items()},
        "wall_s": round(time.time() - t0, 1),
        "machine": platform.machine(),
        "recorded": time.strftime("%Y-%m-%d"),
    }
    path = constrained.record(df, constrained.default_path(), meta)
    print(constrained.summary(df).round(3).to_string())
    print(f"wrote {path} in {meta['wall_s']} s")


if __name__ == "__main__":
    main()
