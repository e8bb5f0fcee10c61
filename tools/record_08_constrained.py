"""Record notebook 08's real-model comparison (SMC steering vs best-of-N vs rejection sampling, a
lipogram) at its full-mode sizes into data/constrained/, which the notebook reads.

Usage: ``python tools/record_08_constrained.py [--model NAME] [--backend llamacpp|hf] [--threads N]``.
Defaults: SmolLM2-135M through llama.cpp on one thread (the run the notebook's claims started
from). ``--backend hf`` runs the same strategies through the transformers engine, whose radix
prefix cache serves each particle's prefix (the meta records how many prompt tokens it served).
"""

from __future__ import annotations

import argparse
import platform
import time
from typing import Any

from itslab.experiments import constrained


def _generator(model: str, backend: str, threads: int) -> Any:
    if backend == "llamacpp":
        from itslab.generators.llamacpp import LlamaCppGenerator

        return LlamaCppGenerator(model, n_threads=threads)
    from itslab import models

    return models.load(model, num_threads=threads)


def _cache_served(gen: Any) -> int | None:
    """Prompt tokens the engine's prefix cache served instead of reading them again."""
    if hasattr(gen, "prefix_cache"):
        return int(gen.prefix_cache.stats().hit_tokens)
    slots = getattr(gen, "slots", None)
    return None if slots is None else int(slots.served)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m", help="a model registry name (default smollm2-135m)")
    ap.add_argument("--backend", default="llamacpp", choices=constrained.BACKENDS)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads of the engine (default 1)")
    args = ap.parse_args(argv)
    path = constrained.default_path(args.model, constrained.FULL["constraint"], args.backend)
    t0 = time.time()
    gen = _generator(args.model, args.backend, args.threads)
    df = constrained.compare(gen, constrained.PROMPTS, **constrained.FULL)
    meta = {
        "model": args.model,
        "backend": args.backend,
        "prompts": list(constrained.PROMPTS),
        **{k: list(v) if isinstance(v, tuple) else v for k, v in constrained.FULL.items()},
        "threads": args.threads,
        "prefix_tokens_served_from_cache": _cache_served(gen),
        "wall_s": round(time.time() - t0, 1),
        "machine": platform.machine(),
        "recorded": time.strftime("%Y-%m-%d"),
    }
    constrained.record(df, path, meta)
    print(constrained.summary(df).round(3).to_string())
    print(f"wrote {path} in {meta['wall_s']} s")


if __name__ == "__main__":
    main()
