"""Notebook 13's real-model run: Qwen2.5-Coder-0.5B proposing and refining Countdown answers.

Each strategy gets the same `n` generator calls per problem on Countdown with 2 numbers
(`tasks.synthetic`, difficulty 1, any valid expression counts), the evaluator being the exact
partial-credit rule `verifiers.partial.CountdownDistance` (closeness of the expression's value to
the target, and its feedback in words: "… = 12, which is 3 away from 15. Try again."). A
refinement is `strategies.refinement.refine_prefix`: the answer, the feedback, "A corrected
solution:". Compared: repeated sampling (best-of-n under the same rule), one revision chain and
Meta-Reasoner; every search stops on a correct expression. Short on purpose: one call of
Qwen-0.5B costs ~10-20 s on 2 CPU cores, so the defaults (8 problems x 4 calls, 192 tokens) show
the mechanics on real text and say nothing resolved about which search is better. A pilot at
difficulty 2 (3 numbers, 320 tokens) scored 0 on all 16 samples of two problems: most were cut
off or boxed the target's value instead of an expression. `record` is resumable
problem by problem (the file is rewritten after each); it holds numbers only, never question or
completion text.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

MODEL = "qwen2.5-coder-0.5b"


def default_path(model: str = MODEL) -> Path:
    """data/refine/countdown-<model>.json in the checkout."""
    return Path(__file__).resolve().parents[2] / "data" / "refine" / f"countdown-{model}.json"


def strategies_at(n: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """The compared strategies at `n` calls: label -> (registered name, hyper-parameters)."""
    return {
        "repeated sampling": ("best_of_n", {"n": n}),
        "sequential revision": ("sequential_revision", {"n": n}),
        "meta_reasoner": ("meta_reasoner", {"n": n}),
    }


def record(
    path: str | Path | None = None,
    *,
    model: str = MODEL,
    n_problems: int = 8,
    n: int = 4,
    difficulty: int = 1,
    temperature: float = 0.7,
    max_tokens: int = 192,
    seed: int = 0,
    n_threads: int | None = None,
    generator: Any = None,
) -> pd.DataFrame:
    """Record (or resume) the run: one row per (problem, strategy) with ``correct``, ``best_score``,
    ``samples``, ``generated_tokens``, ``fresh_share`` and ``wall_s``. A file with other settings
    is refused rather than mixed; more problems than recorded extend it. `generator` (the caller's,
    left open) replaces loading `model`."""
    from itslab import Budget, strategies
    from itslab.generators.llamacpp import LlamaCppGenerator
    from itslab.rng import problem_rng
    from itslab.strategies.refinement import width_share
    from itslab.tasks.synthetic import make
    from itslab.verifiers.partial import CountdownDistance

    path = Path(path) if path is not None else default_path(model)
    # n_problems is not a setting: asking for more problems extends a recorded file
    settings = dict(model=model, n=n, difficulty=difficulty, temperature=temperature, max_tokens=max_tokens, seed=seed)
    rows: list[dict[str, Any]] = []
    if path.is_file():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved["settings"] != settings:
            raise ValueError(f"{path}: recorded with {saved['settings']}, not {settings}; remove it to record anew")
        rows = saved["rows"]
    done = {r["problem_id"] for r in rows}
    problems = [p for p in make("countdown", n_problems, difficulty=difficulty, seed=seed) if p.id not in done]
    if not problems:
        return pd.DataFrame(rows)
    gen = generator or LlamaCppGenerator(model, n_threads=n_threads, n_ctx=8192, max_batch=max(8, n))
    verifier = CountdownDistance()
    try:
        for p in problems:
            for label, (name, hyper) in strategies_at(n).items():
                t0 = time.perf_counter()
                r = strategies.get(name)(
                    p, gen, verifier, Budget(samples=n), problem_rng(seed, p.id, label),
                    **hyper, max_tokens=max_tokens, temperature=temperature,
                )  # fmt: skip
                rows.append(
                    {
                        "problem_id": p.id,
                        "strategy": label,
                        "correct": bool(r.correct),
                        "best_score": max((c.score or 0.0 for c in r.candidates), default=0.0),
                        "samples": r.usage.samples,
                        "generated_tokens": r.usage.generated_tokens,
                        "fresh_share": width_share(r),
                        "wall_s": round(time.perf_counter() - t0, 2),
                    }
                )
            _write(path, settings, rows)
    finally:
        if generator is None:
            gen.close()
    return pd.DataFrame(rows)


def _write(path: Path, settings: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Replace `path` atomically, so a stopped run leaves the last whole problem behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"settings": settings, "rows": rows}, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def load(path: str | Path | None = None) -> pd.DataFrame:
    """The recorded rows (empty when nothing is recorded yet)."""
    path = Path(path) if path is not None else default_path()
    if not path.is_file():
        return pd.DataFrame(columns=["problem_id", "strategy", "correct", "best_score", "samples"])
    return pd.DataFrame(json.loads(path.read_text(encoding="utf-8"))["rows"])


if __name__ == "__main__":  # python -m itslab.experiments.refine_real
    print(record().groupby("strategy")[["correct", "best_score", "samples", "generated_tokens", "wall_s"]].mean())
