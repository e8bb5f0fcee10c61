"""SMC steering against best-of-N and rejection sampling at the same generated-token budget, on a
real model (Lew et al. 2023, arXiv:2306.03081; Grand et al. 2025, DisCIPL, arXiv:2504.07081).

`compare` runs the three strategies of `itslab.strategies.constrained_smc` /
`constrained_baselines` on plain-text prompts with one constraint potential and reports, per run,
whether the returned text satisfies the constraint and a quality proxy: the model's mean token
log-probability of that text (rescored at T = 1 with `token_logprobs`, so every method is judged by
the same yardstick). At a budget of B generated tokens and texts of at most `max_tokens`, best-of-N
draws B / max_tokens samples, rejection sampling stops at the first success, and SMC runs as many
particles (each writes at most `max_tokens`, so the worst case is the same B).
`record` / `load_record` keep a run's rows in a JSON file (``data/constrained/``), so a smoke run
reads what a full run measured.

>>> rate_se(pd.Series([1.0, 0.0, 1.0, 1.0]))
(0.75, 0.25)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from itslab.budget import Budget
from itslab.rng import problem_rng
from itslab.tasks.constraints import satisfies
from itslab.types import Problem

METHODS: tuple[str, ...] = ("constrained_smc", "constrained_best_of_n", "rejection_sampling")
# notebook 08's real-model comparison: a lipogram (no letter e) on SmolLM2-135M through llama.cpp
PROMPTS: tuple[str, ...] = ("Once upon a time", "The weather today is", "My favourite food is", "At the park, a small")
FULL: dict[str, Any] = dict(constraint="lipogram:e", budgets=(32, 64, 128), seeds=tuple(range(6)), max_tokens=16,
                            chunk_tokens=2, temperature=1.0)  # fmt: skip


BACKENDS: tuple[str, ...] = ("llamacpp", "hf")


def default_path(model: str = "smollm2-135m", constraint: str = "lipogram:e", backend: str = "llamacpp") -> Path:
    """``data/constrained/<model>[-<backend>]-<constraint>.json`` of the checkout (committed, read by
    smoke runs); llama.cpp, the first engine recorded, keeps the name without a backend."""
    if backend not in BACKENDS:
        raise ValueError(f"constrained.default_path: backend must be one of {BACKENDS}, got {backend!r}")
    engine = "" if backend == "llamacpp" else f"-{backend}"
    name = f"{model}{engine}-{constraint.replace(':', '-')}.json"
    return Path(__file__).resolve().parents[2] / "data" / "constrained" / name


def recorded_runs(folder: Path | None = None) -> dict[str, tuple[pd.DataFrame, dict[str, Any]]]:
    """Every record under `folder` (default ``data/constrained/``), keyed ``<model>/<backend>``."""
    folder = default_path().parent if folder is None else Path(folder)
    out = {}
    for path in sorted(folder.glob("*.json")):
        df, meta = load_record(path)
        out[f"{meta['model']}/{meta['backend']}"] = (df, meta)
    return out


def gaps_by_run(runs: dict[str, tuple[pd.DataFrame, dict[str, Any]]]) -> pd.DataFrame:
    """Per record: SMC's paired satisfaction gap to each baseline (± SE), the three rates at the
    largest budget, and the prompt tokens the engine's prefix cache served (None where not recorded);
    the table notebook 08 prints beside its claims."""
    rows = []
    for key, (df, meta) in runs.items():
        top = int(df["budget"].max())
        rates = df[df["budget"] == top].groupby("method")["satisfied"].mean()
        row: dict[str, Any] = {"run": key, "runs": len(df) // len(METHODS), "wall_s": meta.get("wall_s")}
        for base, label in (("constrained_best_of_n", "bon"), ("rejection_sampling", "rejection")):
            gap, se = paired_rate_gap(df, "constrained_smc", base)
            row[f"smc-{label}"], row[f"smc-{label} se"] = gap, se
        row.update({f"{m} @{top}": float(rates.get(m, math.nan)) for m in METHODS})
        row["prefix tokens from cache"] = meta.get("prefix_tokens_served_from_cache")
        rows.append(row)
    return pd.DataFrame(rows)


def _run_one(method: str, gen: Any, prob: Problem, budget: int, seed: int, chunk_tokens: int, **kw: Any) -> Any:
    from itslab import strategies

    if method == "constrained_smc":  # as many particles as best-of-N has samples: the same worst case
        kw.update(n_particles=max(1, budget // kw["max_tokens"]), chunk_tokens=chunk_tokens)
    rng = problem_rng(seed, prob.id, "constrained")  # the same stream for every method: paired runs
    return strategies.get(method)(prob, gen, None, Budget(generated_tokens=budget), rng, **kw)


def mean_logprob(gen: Any, prompt: str, text: str | None) -> float:
    """The model's mean token log-probability of `text` after `prompt` (NaN for no or empty text)."""
    if not text:
        return math.nan
    lp = gen.token_logprobs(prompt, text)
    return float(np.mean(lp)) if lp else math.nan


def compare(
    gen: Any,
    prompts: Sequence[str],
    constraint: str,
    *,
    budgets: Sequence[int],
    seeds: Sequence[int],
    max_tokens: int = 16,
    chunk_tokens: int = 2,
    temperature: float = 1.0,
    methods: Sequence[str] = METHODS,
) -> pd.DataFrame:
    """One row per (prompt, seed, budget, method): satisfied, generated tokens, the text, its mean logprob."""
    rows = []
    for i, prompt in enumerate(prompts):
        prob = Problem(id=f"constrained/{i}", prompt=prompt)
        for seed in seeds:
            for budget in budgets:
                for method in methods:
                    r = _run_one(
                        method, gen, prob, int(budget), int(seed), chunk_tokens,
                        constraint=constraint, max_tokens=max_tokens, temperature=temperature,
                    )  # fmt: skip
                    ok = r.answer is not None and satisfies(constraint, r.answer)
                    rows.append(
                        {
                            "prompt": prompt,
                            "seed": int(seed),
                            "budget": int(budget),
                            "method": method,
                            "satisfied": float(ok),
                            "generated_tokens": int(r.usage.generated_tokens),
                            "text": r.answer if ok else None,
                            "mean_logprob": mean_logprob(gen, prompt, r.answer) if ok else math.nan,
                        }
                    )
    return pd.DataFrame(rows)


def rate_se(x: pd.Series) -> tuple[float, float]:
    """Mean and its SE (NaNs dropped); SE is NaN below two values."""
    x = x.dropna().astype(float)
    se = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else math.nan
    return float(x.mean()) if len(x) else math.nan, se


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Satisfaction rate ± SE, mean log-probability of the satisfying texts ± SE, mean generated tokens."""
    out = []
    for (method, budget), g in df.groupby(["method", "budget"], sort=True):
        rate, rate_err = rate_se(g["satisfied"])
        lp, lp_err = rate_se(g["mean_logprob"])
        out.append(
            {
                "method": method,
                "budget": budget,
                "satisfied": rate,
                "se": rate_err,
                "mean_logprob": lp,
                "logprob_se": lp_err,
                "n_satisfied": int(g["satisfied"].sum()),
                "runs": len(g),
                "generated_tokens": float(g["generated_tokens"].mean()),
            }
        )
    return pd.DataFrame(out)


def paired_rate_gap(df: pd.DataFrame, a: str, b: str, budget: int | None = None) -> tuple[float, float]:
    """Satisfaction rate of `a` minus `b` over the same (prompt, seed, budget) runs, with its paired SE."""
    d = df if budget is None else df[df["budget"] == budget]
    key = ["prompt", "seed", "budget"]
    wide = d.pivot_table(index=key, columns="method", values="satisfied")
    return rate_se(wide[a] - wide[b])


def record(df: pd.DataFrame, path: Path, meta: dict[str, Any]) -> Path:
    """Write the rows and what produced them (`meta`: model, constraint, sizes, wall time) as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "rows": json.loads(df.to_json(orient="records"))}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load_record(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows and the meta written by `record`."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    df = pd.DataFrame(raw["rows"])
    df["mean_logprob"] = pd.to_numeric(df["mean_logprob"], errors="coerce")
    return df, raw["meta"]


__all__ = [
    "BACKENDS",
    "FULL",
    "METHODS",
    "PROMPTS",
    "compare",
    "default_path",
    "gaps_by_run",
    "load_record",
    "mean_logprob",
    "paired_rate_gap",
    "rate_se",
    "record",
    "recorded_runs",
    "summary",
]
