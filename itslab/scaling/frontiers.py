"""Compute-optimal strategy selection and cost/accuracy Pareto frontiers over experiment frames.

Input schema (what `itslab.experiments.run` yields): one row per
problem × strategy × hyper × budget × seed, with columns

    problem_id (str), strategy (str), hyper (str: the hyper-parameters, serialised), budget
    (number: the nominal budget the strategy was given), seed (int), correct (bool), answer,
    Usage columns: samples, prompt_tokens, cached_tokens, generated_tokens, verifier_calls,
    verifier_tokens, generator_flops, verifier_flops, wall_time, price, total_tokens, flops,
    and meta columns such as difficulty (any numeric difficulty; higher = harder by convention).

Accuracies average seeds within a problem first, then problems, so a standard error is across
problems. `compute_optimal` is the "compute-optimal scaling" of Snell et al. 2024 ("Scaling LLM
Test-Time Compute Optimally can be More Effective than Scaling Model Parameters"): per difficulty
bin and budget, the best (strategy, hyper), and the budget the optimum needs to match a
baseline's accuracy (their "4× less compute than best-of-N"). `pareto_frontier` marks the
configurations no other beats on both cost (any Usage axis) and accuracy.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from itslab.scaling.intervals import wilson_interval

CONFIG = ("strategy", "hyper", "budget")


def _require(df: pd.DataFrame, cols: Sequence[str], where: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"{where}: frame lacks column(s) {missing}; has {list(df.columns)}")


def difficulty_bins(
    df: pd.DataFrame, *, column: str = "difficulty", n_bins: int = 5, problem: str = "problem_id"
) -> pd.Series:
    """Per-row difficulty bin 1..n_bins from per-problem quantiles of `column` (Snell et al. 2024 §3).

    Bin 1 holds the lowest values of `column`. When `column` has at most `n_bins` distinct values
    (e.g. MATH levels) the bins are those values' ranks.
    """
    _require(df, [column, problem], "difficulty_bins")
    per_problem = df.groupby(problem, sort=False)[column].first()
    if per_problem.nunique() <= n_bins:
        ranks = per_problem.rank(method="dense").astype(int)
    else:
        ranks = pd.qcut(per_problem.rank(method="first"), n_bins, labels=False).astype(int) + 1
    return df[problem].map(ranks).rename("difficulty_bin")


def _with_bins(df: pd.DataFrame, by: str | None, n_bins: int) -> tuple[pd.DataFrame, str]:
    if by is None:
        return df.assign(_bin="all"), "_bin"
    if by not in df.columns:
        if by == "difficulty_bin" and "difficulty" in df.columns:
            return df.assign(difficulty_bin=difficulty_bins(df, n_bins=n_bins)), by
        raise ValueError(f"compute_optimal: no column {by!r} (and no 'difficulty' column to bin)")
    return df, by


def config_accuracy(
    df: pd.DataFrame,
    *,
    group: Sequence[str] = CONFIG,
    correct: str = "correct",
    cost: Sequence[str] = (),
    problem: str = "problem_id",
) -> pd.DataFrame:
    """Accuracy per configuration: ``accuracy`` (mean over problems of the seed-mean), ``se``
    across problems, ``n_problems``, the 95% Wilson interval ``ci_low``/``ci_high`` (honest at 0
    and 1), and the mean of each `cost` column per problem.

    The one accuracy table of itslab: reports, `experiments.accuracy_table` and plots use it.
    """
    group = list(group)
    _require(df, group + [correct, problem] + list(cost), "config_accuracy")
    per_problem = (
        df.assign(_c=df[correct].astype(float))
        .groupby(group + [problem], observed=True, sort=True)[["_c", *cost]]
        .mean()
    )
    g = per_problem.groupby(level=list(range(len(group))), observed=True)
    out = g["_c"].agg(accuracy="mean", sd="std", n_problems="count")
    out["se"] = (out.pop("sd") / np.sqrt(out["n_problems"])).fillna(0.0)
    out["ci_low"], out["ci_high"] = wilson_interval(out["accuracy"].to_numpy(), out["n_problems"].to_numpy())
    for col in cost:
        out[col] = g[col].mean()
    return out.reset_index()


def _budget_to_match(budgets: np.ndarray, envelope: np.ndarray, target: float) -> float:
    """Smallest budget where the (running-max) optimal accuracy reaches `target`, log-interpolated."""
    hit = np.flatnonzero(envelope >= target - 1e-12)
    if len(hit) == 0 or not np.isfinite(target):
        return float("nan")
    j = hit[0]
    if j == 0:
        return float(budgets[0])
    lo, hi = np.log(budgets[j - 1]), np.log(budgets[j])
    frac = (target - envelope[j - 1]) / (envelope[j] - envelope[j - 1])
    return float(np.exp(lo + frac * (hi - lo)))


def compute_optimal(
    df: pd.DataFrame,
    by: str | None = "difficulty_bin",
    *,
    baseline: str | Mapping[str, str] | None = None,
    correct: str = "correct",
    budget: str = "budget",
    cost: Sequence[str] = (),
    n_bins: int = 5,
) -> pd.DataFrame:
    """Per bin and budget, the best (strategy, hyper) and the budget it needs to match a baseline.

    Returns one row per (bin, budget): the bin column, ``budget``, ``strategy``, ``hyper``,
    ``accuracy``, ``se``, ``n_problems``, means of `cost` columns; with a `baseline` (a strategy
    name, or ``{"strategy": ..., "hyper": ...}``; without a hyper the baseline's best hyper at each
    budget), also ``baseline_accuracy``, ``budget_to_match`` (the smallest budget, interpolated
    in log-budget on the running maximum of the optimal curve, reaching the baseline's accuracy
    at this budget; NaN if never reached) and ``efficiency`` = budget / budget_to_match.
    Ties in accuracy go to the first configuration in sorted (strategy, hyper) order.
    """
    df, bin_col = _with_bins(df, by, n_bins)
    _require(df, ["strategy", "hyper", budget, correct, "problem_id"], "compute_optimal")
    acc = config_accuracy(df, group=[bin_col, "strategy", "hyper", budget], correct=correct, cost=cost)
    best = acc.loc[acc.groupby([bin_col, budget], sort=True)["accuracy"].idxmax()].reset_index(drop=True)
    if budget != "budget":
        best = best.rename(columns={budget: "budget"})
        acc = acc.rename(columns={budget: "budget"})
    if baseline is None:
        return best
    spec = {"strategy": baseline} if isinstance(baseline, str) else dict(baseline)
    base = acc[acc["strategy"] == spec["strategy"]]
    if "hyper" in spec:
        base = base[base["hyper"] == spec["hyper"]]
    if base.empty:
        known = sorted(acc["strategy"].unique())
        raise ValueError(f"compute_optimal: baseline {spec} matches no rows (strategies: {known})")
    base_acc = base.groupby([bin_col, "budget"])["accuracy"].max().rename("baseline_accuracy")
    best = best.join(base_acc, on=[bin_col, "budget"])
    match = np.full(len(best), np.nan)
    for _, idx in best.groupby(bin_col, sort=False).groups.items():
        part = best.loc[idx].sort_values("budget")
        b, env = part["budget"].to_numpy(float), np.maximum.accumulate(part["accuracy"].to_numpy(float))
        for row, target in zip(part.index, part["baseline_accuracy"].to_numpy(float)):
            match[best.index.get_loc(row)] = _budget_to_match(b, env, target)
    best["budget_to_match"] = match
    best["efficiency"] = best["budget"] / best["budget_to_match"]
    return best


def pareto_frontier(
    df: pd.DataFrame,
    cost: str = "total_tokens",
    acc: str = "correct",
    *,
    by: Sequence[str] = CONFIG,
    within: str | None = None,
) -> pd.DataFrame:
    """Configurations with mean `cost` (any Usage axis: tokens, flops, price, ...) and accuracy,
    flagged ``on_frontier`` when no cheaper-or-equal configuration is at least as accurate.

    Rows are aggregated per `by` (and per `within`, e.g. a difficulty bin, computing one frontier
    per group), sorted by cost. Columns: `by`..., `cost`, ``accuracy``, ``se``, ``n_problems``,
    ``on_frontier``.
    """
    group = ([within] if within else []) + list(by)
    table = config_accuracy(df, group=group, correct=acc, cost=[cost])
    table = table.sort_values(
        ([within] if within else []) + [cost, "accuracy"],
        ascending=[True] * (1 if within else 0) + [True, False],
        kind="stable",
    )
    flags = np.zeros(len(table), dtype=bool)
    groups = table.groupby(within, sort=False).indices.values() if within else [np.arange(len(table))]
    for pos in groups:
        a = table["accuracy"].to_numpy()[pos]
        prev_best = np.concatenate([[-np.inf], np.maximum.accumulate(a)[:-1]])
        flags[pos] = a > prev_best + 1e-12  # strictly better than everything at least as cheap
    return table.assign(on_frontier=flags).reset_index(drop=True)
