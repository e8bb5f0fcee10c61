"""Paired comparisons of two strategies run on the same problems: accuracy gaps and token ratios.

Snell et al. 2024 ("Scaling LLM Test-Time Compute Optimally can be More Effective than Scaling
Model Parameters", arXiv:2408.03314, Fig. 3) compare beam search with best-of-N per difficulty
bin and budget; Wu et al. 2024 (REBASE, arXiv:2408.00724, Table 1) compare REBASE with sampling
at matched compute. Both are differences between strategies run on the *same* problems, so the
standard error of a gap is taken over per-problem differences (paired), which is much smaller
than the two unpaired SEs combined when both strategies find the same problems easy.

Input: an `itslab.experiments.run` frame (problem_id, strategy, budget, seed, correct, usage).

>>> import pandas as pd
>>> df = pd.DataFrame({"problem_id": ["a", "b", "a", "b"], "strategy": ["x", "x", "y", "y"],
...                    "budget": 4, "seed": 0, "correct": [True, True, False, True]})
>>> paired_gap(df, "x", "y")[["budget", "gap", "n_problems"]].to_dict("records")
[{'budget': 4, 'gap': 0.5, 'n_problems': 2}]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def _per_problem(df: pd.DataFrame, strategy: str, keys: list[str]) -> pd.Series:
    part = df[df["strategy"] == strategy]
    if part.empty:
        raise ValueError(f"paired_gap: no rows for strategy {strategy!r}; have {sorted(df['strategy'].unique())}")
    return part.assign(_c=part["correct"].astype(float)).groupby(keys + ["problem_id"])["_c"].mean()


def paired_gap(df: pd.DataFrame, a: str, b: str, by: Sequence[str] = ()) -> pd.DataFrame:
    """Accuracy of strategy `a` minus `b` per budget (and `by` columns), paired over problems.

    Per problem the seed-mean accuracy of each; ``gap`` is the mean over problems of the
    difference, ``se`` its standard error over problems, ``z`` = gap / se (0 when both agree on
    every problem), plus each side's accuracy. Problems run by only one of the two are dropped.
    """
    keys = [*by, "budget"]
    d = pd.concat({"a": _per_problem(df, a, keys), "b": _per_problem(df, b, keys)}, axis=1).dropna()
    d["diff"] = d["a"] - d["b"]
    g = d.groupby(level=list(range(len(keys))), sort=True)
    out = g["diff"].agg(gap="mean", sd="std", n_problems="count")
    out["se"] = (out.pop("sd") / np.sqrt(out["n_problems"])).fillna(0.0)
    out["z"] = np.where(out["se"] > 0, out["gap"] / out["se"].where(out["se"] > 0, 1.0), 0.0)
    out[f"accuracy {a}"], out[f"accuracy {b}"] = g["a"].mean(), g["b"].mean()
    return out.reset_index()


def cell_gap(df: pd.DataFrame, a: tuple[str, float], b: tuple[str, float]) -> dict[str, float]:
    """Accuracy of cell `a` = (strategy, budget) minus cell `b`, paired over the problems both ran.

    Cells may differ in budget too (coverage at 16 samples against pass@1). Returns ``gap``,
    ``se`` (over per-problem differences of seed-means), ``z`` (gap / se; ±inf when every problem
    differs by the same non-zero amount, 0 when all agree, NaN with fewer than two problems),
    ``n_problems`` and both accuracies ``a`` and ``b``.
    """
    cells = {}
    for key, (strategy, budget) in (("a", a), ("b", b)):
        part = df[(df["strategy"] == strategy) & (df["budget"] == budget)]
        if part.empty:
            raise ValueError(f"cell_gap: no rows for strategy {strategy!r} at budget {budget}")
        cells[key] = part.assign(_c=part["correct"].astype(float)).groupby("problem_id")["_c"].mean()
    d = pd.concat(cells, axis=1).dropna()
    diff = (d["a"] - d["b"]).to_numpy()
    n = len(diff)
    gap = float(diff.mean()) if n else float("nan")
    se = float(diff.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    if n < 2:
        z = float("nan")  # one problem says nothing about how a difference varies
    else:
        z = gap / se if se > 0 else (0.0 if gap == 0 else float(np.sign(gap) * np.inf))
    return {"gap": gap, "se": se, "z": z, "n_problems": n, "a": float(d["a"].mean()), "b": float(d["b"].mean())}


def curve(df: pd.DataFrame, strategy: str, cost: str = "generated_tokens") -> pd.DataFrame:
    """Accuracy and mean `cost` per budget of one strategy (seed-mean per problem, then problems)."""
    part = df[df["strategy"] == strategy].assign(_c=lambda x: x["correct"].astype(float))
    per = part.groupby(["budget", "problem_id"])[["_c", cost]].mean().groupby(level=0)
    return pd.DataFrame({"accuracy": per["_c"].mean(), cost: per[cost].mean()}).reset_index()


def cost_to_match(df: pd.DataFrame, strategy: str, baseline: str, cost: str = "generated_tokens") -> float:
    """How many times less `cost` `strategy` needs to reach `baseline`'s accuracy at its largest budget.

    The baseline's best accuracy (at its largest budget) is the target; `strategy`'s accuracy
    curve against log cost (running maximum) is interpolated linearly to the cost where it first
    reaches the target (REBASE's "7x less compute than sampling", Wu et al. 2024). Returns the
    baseline's cost divided by that cost: > 1 when `strategy` is cheaper; NaN if never reached.
    """
    base, mine = curve(df, baseline, cost), curve(df, strategy, cost)
    top = base.sort_values("budget").iloc[-1]
    x = np.log(mine[cost].to_numpy(float))
    y = np.maximum.accumulate(mine.sort_values(cost)["accuracy"].to_numpy(float))
    x = np.sort(x)
    hit = np.flatnonzero(y >= float(top["accuracy"]) - 1e-12)
    if len(hit) == 0:
        return float("nan")
    j = hit[0]
    if j == 0:
        at = x[0]
    else:
        frac = (float(top["accuracy"]) - y[j - 1]) / (y[j] - y[j - 1])
        at = x[j - 1] + frac * (x[j] - x[j - 1])
    return float(top[cost]) / float(np.exp(at))
