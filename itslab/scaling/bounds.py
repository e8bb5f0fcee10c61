"""Bounds of repeated sampling per task: worst-of-k, average, majority and a perfect verifier.

Balachandran et al. 2025 ("Inference-Time Scaling for Complex Tasks: Where We Stand and What Lies
Ahead", arXiv:2504.00294) run each model n times per question and aggregate the runs four ways:
**worst-of-n** (right only if every run is), **average** (pass@1), **majority vote** and
**best-of-n** with a perfect verifier (right if any run is; pass@n). The spread between them
bounds what better training or verifiers could still gain on a task. Here each aggregator is an
exact expectation over random size-k subsets of a pool of n samples per problem: worst-of-k is
C(c, k) / C(n, k), best-of-k is pass@k (Chen et al. 2021), majority is maj@k (`voting`).
Per problem worst ≤ average ≤ best and worst ≤ majority ≤ best (k unanimous right answers win
the vote; a vote is won by some sample).

>>> import numpy as np
>>> ok = np.array([[True, True, False, False]]); ans = np.array([["1", "1", "2", "3"]], dtype=object)
>>> m = aggregator_matrix(ok, ans, [1, 2, 4])
>>> [m[a][0].round(3).tolist() for a in AGGREGATORS]
[[0.5, 0.167, 0.0], [0.5, 0.5, 0.5], [0.5, 0.5, 1.0], [0.5, 0.833, 1.0]]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from itslab.scaling.estimators import counts_from_flags, pass_at_k_matrix
from itslab.scaling.voting import majority_at_k_matrix

AGGREGATORS = ("worst", "average", "majority", "oracle")
GAPS = (("oracle", "average"), ("oracle", "majority"), ("majority", "average"))


def aggregator_matrix(
    correct: np.ndarray,
    answers: np.ndarray,
    ks: Sequence[int] | np.ndarray,
    *,
    rng: np.random.Generator | None = None,
    n_mc: int = 500,
) -> dict[str, np.ndarray]:
    """Per-problem expected accuracy [problems, len(ks)] of each of Balachandran et al.'s aggregators.

    `correct` and `answers` are [problems, n] (answers grouped by the one equivalence rule of
    `voting`); `rng` drives maj@k's Monte Carlo where exact enumeration is infeasible.
    """
    correct = np.asarray(correct).astype(bool)
    n, c = counts_from_flags(correct)
    ks = np.asarray(ks, dtype=np.int64)
    worst = 1.0 - pass_at_k_matrix(n, n - c, ks.tolist())  # all k right = no wrong one drawn
    return {
        "worst": worst + 0.0,
        "average": np.repeat((c / n)[:, None], len(ks), axis=1),
        "majority": majority_at_k_matrix(answers, correct, ks, rng=rng, n_mc=n_mc)[0],
        "oracle": pass_at_k_matrix(n, c, ks.tolist()),
    }


def aggregator_bounds(
    correct: np.ndarray,
    answers: np.ndarray,
    ks: Sequence[int] | np.ndarray,
    *,
    rng: np.random.Generator | None = None,
    n_mc: int = 500,
) -> pd.DataFrame:
    """Tidy bounds: one row per (k, aggregator) with ``value`` (mean over problems), ``se`` (over problems)."""
    m = aggregator_matrix(correct, answers, ks, rng=rng, n_mc=n_mc)
    rows = []
    for name in AGGREGATORS:
        v = m[name]
        se = v.std(axis=0, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.full(v.shape[1], np.nan)
        rows += [
            {"k": int(k), "aggregator": name, "value": float(x), "se": float(s), "n_problems": len(v)}
            for k, x, s in zip(ks, v.mean(axis=0), se)
        ]
    return pd.DataFrame(rows)


def bound_gaps(
    correct: np.ndarray,
    answers: np.ndarray,
    k: int,
    *,
    rng: np.random.Generator | None = None,
    n_mc: int = 500,
) -> pd.DataFrame:
    """Paired gaps at `k` (oracle − average, oracle − majority, majority − average): ``gap``, ``se``
    over problems (each problem meets every aggregator), and the share of the oracle's headroom
    over the average that majority voting closes (``majority_share``, on every row)."""
    m = {a: v[:, 0] for a, v in aggregator_matrix(correct, answers, [k], rng=rng, n_mc=n_mc).items()}
    head = m["oracle"].mean() - m["average"].mean()
    share = (m["majority"].mean() - m["average"].mean()) / head if head > 0 else float("nan")
    rows = []
    for a, b in GAPS:
        d = m[a] - m[b]
        se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
        rows.append({"k": int(k), "gap": f"{a} - {b}", "value": float(d.mean()), "se": se, "majority_share": share})
    return pd.DataFrame(rows)


def gain_by_difficulty(
    correct: np.ndarray,
    answers: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    n_levels: int = 3,
    n_mc: int = 500,
) -> pd.DataFrame:
    """Majority's gain over the average (maj@k − pass@1) per difficulty level, cross-fitted.

    The sample columns are split at random in two halves: levels come from pass@1 on the first
    (quantile levels, 1 = easiest; `difficulty.fit_difficulty`), gains from the second, so a
    problem's level is not selected on the very samples that measure its gain (`k` ≤ n/2).
    One row per level (``gain``, ``se`` over its problems), plus ``easiest - hardest``.
    """
    from itslab.scaling.difficulty import fit_difficulty, split_columns

    correct = np.asarray(correct).astype(bool)
    n = correct.shape[1]
    if not 1 <= k <= n // 2:
        raise ValueError(f"gain_by_difficulty: k={k} must lie in 1..n/2={n // 2} (half the samples measure it)")
    probe, rest = split_columns(n, n // 2, rng)
    stat = correct[:, probe].mean(axis=1)
    level = fit_difficulty(stat, n_levels).level(stat)
    m = aggregator_matrix(correct[:, rest], np.asarray(answers)[:, rest], [k], rng=rng, n_mc=n_mc)
    gain = m["majority"][:, 0] - m["average"][:, 0]
    levels = [gain[level == lv] for lv in range(1, n_levels + 1)]
    mean = [float(g.mean()) if len(g) else float("nan") for g in levels]
    se = [float(g.std(ddof=1) / np.sqrt(len(g))) if len(g) > 1 else float("nan") for g in levels]
    out = pd.DataFrame({"level": [str(lv) for lv in range(1, n_levels + 1)], "gain": mean, "se": se,
                        "n": [len(g) for g in levels]})  # fmt: skip
    last = {"level": "easiest - hardest", "gain": mean[0] - mean[-1], "se": float(np.hypot(se[0], se[-1])),
            "n": len(levels[0]) + len(levels[-1])}  # fmt: skip
    return pd.concat([out, pd.DataFrame([last])], ignore_index=True)
