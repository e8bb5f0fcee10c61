"""Compute-optimal allocation by difficulty level, chosen on some problems, evaluated on others.

Snell et al. 2024 ("Scaling LLM Test-Time Compute Optimally can be More Effective than Scaling
Model Parameters", arXiv:2408.03314, §3): pick per difficulty level the test-time strategy that
does best, and compare with best-of-N at equal compute ("> 4× less compute"). Here the choice is a
(strategy, k) per level, so compute also moves between levels: at an average compute C the
policy maximises Σ_b w_b·acc_b(o_b) subject to Σ_b w_b·cost_b(o_b) ≤ C (a multiple-choice
knapsack, solved exactly by merging per-level Pareto fronts); ``share_budget=True`` keeps one k
for all levels, Snell et al.'s setting. The levels and the policy are fitted on the selection
problems of a fold and applied to the held-out ones (`cross_fit`), so no problem is scored by a
policy or a level rule fitted on it; `compare_to_baseline` sets the held-out accuracy against a baseline's
curve at equal compute, with the compute ratio the baseline needs to match, bootstrapped over
problems. `compute_optimal_allocation` runs the whole protocol on [problems, samples] arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from itslab.scaling.difficulty import fit_difficulty, problem_statistic, split_columns
from itslab.scaling.frontiers import _budget_to_match
from itslab.scaling.intervals import bootstrap_counts
from itslab.scaling.pool_strategies import DEPLOYABLE, expected_cost, strategy_accuracy


@dataclass(frozen=True)
class OptionTable:
    """Expected accuracy and cost [problems, options] of every option (strategy, k)."""

    options: tuple[tuple[str, int], ...]
    accuracy: np.ndarray
    cost: np.ndarray

    def curve(self, strategy: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ks, accuracy [problems, K], cost [problems, K]) of one strategy, k ascending."""
        idx = sorted((k, j) for j, (s, k) in enumerate(self.options) if s == strategy)
        if not idx:
            raise ValueError(f"OptionTable: no options of strategy {strategy!r}")
        cols = [j for _, j in idx]
        return np.array([k for k, _ in idx]), self.accuracy[:, cols], self.cost[:, cols]


def option_table(
    correct: np.ndarray,
    answers: np.ndarray,
    scores: np.ndarray | None,
    ks: Sequence[int],
    *,
    strategies: Sequence[str] = DEPLOYABLE,
    unit_cost: np.ndarray | None = None,
    rng: np.random.Generator,
    n_mc: int = 500,
) -> OptionTable:
    """The `OptionTable` of `strategies` × `ks` on a pool; cost in `unit_cost` per sample (default 1: samples)."""
    acc = strategy_accuracy(correct, answers, scores, ks, strategies=strategies, rng=rng, n_mc=n_mc)
    unit = np.ones(np.shape(correct)) if unit_cost is None else unit_cost
    cost = expected_cost(unit, ks)
    options = tuple((s, int(k)) for s in strategies for k in ks)
    return OptionTable(options, np.hstack([acc[s] for s in strategies]), np.hstack([cost] * len(strategies)))


@dataclass(frozen=True)
class Policy:
    """An option index per difficulty level, chosen on selection problems (their accuracy, cost);
    `default` serves levels no selection problem had."""

    choice: dict[int, int]
    default: int
    accuracy: float
    cost: float

    def option_of(self, levels: np.ndarray) -> np.ndarray:
        """The option index of each problem, by its level."""
        return np.array([self.choice.get(int(b), self.default) for b in levels], dtype=np.int64)


def _knapsack(acc: np.ndarray, cost: np.ndarray, w: np.ndarray, budget: float) -> tuple[int, ...] | None:
    """Options (one per row) maximising Σ w·acc with Σ w·cost ≤ budget; exact, by Pareto-front merging."""
    front: list[tuple[float, float, tuple[int, ...]]] = [(0.0, 0.0, ())]
    for b in range(len(w)):
        cand = [
            (c + w[b] * cost[b, o], a + w[b] * acc[b, o], ch + (o,)) for c, a, ch in front for o in range(acc.shape[1])
        ]
        cand = sorted((x for x in cand if x[0] <= budget * (1 + 1e-12)), key=lambda x: (x[0], -x[1]))
        front, best = [], -np.inf
        for x in cand:  # keep the configurations more accurate than every cheaper one
            if x[1] > best + 1e-15:
                front.append(x)
                best = x[1]
        if not front:
            return None
    return max(front, key=lambda x: (x[1], -x[0]))[2]


def allocate(
    table: OptionTable, levels: np.ndarray, problems: np.ndarray, compute: float, *, share_budget: bool = False
) -> Policy:
    """The policy with the highest mean accuracy over `problems` at mean cost ≤ `compute`.

    Only the rows `problems` of `table` and `levels` are read. With `share_budget`, every level
    uses the same k and only the strategy varies by level (Snell et al.'s compute-optimal policy).
    """
    problems = np.asarray(problems, dtype=np.int64)
    lv = np.asarray(levels)[problems]
    uniq = np.unique(lv)
    acc = np.array([table.accuracy[problems[lv == b]].mean(axis=0) for b in uniq])
    cost = np.array([table.cost[problems[lv == b]].mean(axis=0) for b in uniq])
    w = np.array([np.mean(lv == b) for b in uniq])
    if share_budget:
        best = None
        for k in sorted({k for _, k in table.options}):
            cols = np.array([j for j, (_, kk) in enumerate(table.options) if kk == k])
            ch = tuple(int(cols[np.argmax(acc[i, cols])]) for i in range(len(uniq)))
            c, a = _totals(acc, cost, w, ch)
            if c <= compute * (1 + 1e-12) and (best is None or a > best[1] + 1e-15):
                best = (ch, a)
        choice = None if best is None else best[0]
    else:
        choice = _knapsack(acc, cost, w, compute)
    if choice is None:
        raise ValueError(f"allocate: no option fits an average compute of {compute} (cheapest: {cost.min():.4g})")
    pooled_acc, pooled_cost = acc.T @ w, cost.T @ w
    fits = np.flatnonzero(pooled_cost <= compute * (1 + 1e-12))
    default = int(fits[np.argmax(pooled_acc[fits])]) if len(fits) else int(np.argmin(pooled_cost))
    c, a = _totals(acc, cost, w, choice)
    return Policy({int(b): int(o) for b, o in zip(uniq, choice)}, default, a, c)


def _totals(acc: np.ndarray, cost: np.ndarray, w: np.ndarray, choice: Sequence[int]) -> tuple[float, float]:
    rows = np.arange(len(w))
    return float(w @ cost[rows, list(choice)]), float(w @ acc[rows, list(choice)])


def cross_fit(
    table: OptionTable,
    statistic: np.ndarray,
    compute: Sequence[float],
    *,
    n_bins: int = 5,
    n_folds: int = 2,
    share_budget: bool = False,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Held-out results of the allocator: (per_problem, policies) frames.

    Problems are split into `n_folds` folds at random; for each fold the difficulty levels
    (`fit_difficulty` on `statistic`) and the policy at each `compute` are fitted on the other
    folds and applied to this one. per_problem: problem, fold, level, compute, strategy, k,
    accuracy, cost. policies: fold, compute, level, strategy, k, selection_accuracy, selection_cost.
    """
    n = len(statistic)
    if not 2 <= n_folds <= n:
        raise ValueError(f"cross_fit: need 2 <= n_folds <= problems ({n}), got {n_folds}")
    folds = np.array_split(rng.permutation(n), n_folds)
    rows, pol = [], []
    for f, held in enumerate(folds):
        fit = np.setdiff1d(np.arange(n), held)
        levels = fit_difficulty(statistic[fit], n_bins).level(statistic)
        for c in compute:
            p = allocate(table, levels, fit, c, share_budget=share_budget)
            opt = p.option_of(levels[held])
            for i, o in zip(held, opt):
                s, k = table.options[o]
                rows.append((int(i), f, int(levels[i]), c, s, k, table.accuracy[i, o], table.cost[i, o]))
            for b, o in sorted(p.choice.items()):
                pol.append((f, c, b, *table.options[o], p.accuracy, p.cost))
    cols = ["problem", "fold", "level", "compute", "strategy", "k", "accuracy", "cost"]
    per_problem = pd.DataFrame(rows, columns=cols).sort_values(["compute", "problem"], ignore_index=True)
    pcols = ["fold", "compute", "level", "strategy", "k", "selection_accuracy", "selection_cost"]
    return per_problem, pd.DataFrame(pol, columns=pcols)


def _match(acc: float, cost: float, base_acc: np.ndarray, base_cost: np.ndarray) -> tuple[float, float]:
    """(baseline accuracy at `cost`, log-interpolated, NaN off its grid; baseline compute to reach `acc` / cost)."""
    at = float(np.interp(np.log(cost), np.log(base_cost), base_acc, left=np.nan, right=np.nan))
    need = _budget_to_match(base_cost, np.maximum.accumulate(base_acc), acc)
    return at, (need if np.isfinite(need) else np.inf) / cost


def _se(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.std(ddof=1)) if len(x) > 1 else float("nan")


def compare_to_baseline(
    per_problem: pd.DataFrame,
    table: OptionTable,
    baselines: Sequence[str] = ("majority_vote", "best_of_n"),
    *,
    n_boot: int = 1000,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The allocator against each baseline's curve (over k) at equal average compute, per compute target.

    Columns: compute, allocator_compute, allocator_accuracy, allocator_se, baseline,
    baseline_accuracy (at the allocator's compute; NaN off the baseline's grid), gain, gain_se,
    compute_ratio (baseline compute to reach the allocator's accuracy / the allocator's; inf if it
    never does), ratio_se (over finite replicates), ratio_low / ratio_high (95% percentile
    interval) and p_never (replicates where the baseline never matches). The bootstrap resamples
    problems (pairing allocator and baseline on each); the policy is held fixed.
    """
    counts = bootstrap_counts(len(table.accuracy), rng, n_boot) / len(table.accuracy)
    out = []
    for c, part in per_problem.groupby("compute", sort=True):
        idx = part["problem"].to_numpy()
        if len(idx) != len(table.accuracy) or len(np.unique(idx)) != len(idx):
            raise ValueError(f"compare_to_baseline: per_problem at compute {c} must hold every problem once")
        a, co = np.zeros(len(idx)), np.zeros(len(idx))
        a[idx], co[idx] = part["accuracy"].to_numpy(), part["cost"].to_numpy()
        ra, rc = counts @ a, counts @ co
        for name in baselines:
            _, b_acc, b_cost = table.curve(name)
            at, ratio = _match(a.mean(), co.mean(), b_acc.mean(axis=0), b_cost.mean(axis=0))
            ba, bc = counts @ b_acc, counts @ b_cost
            reps = np.array([_match(ra[r], rc[r], ba[r], bc[r]) for r in range(n_boot)])
            out.append(
                {
                    "compute": c,
                    "allocator_compute": co.mean(),
                    "allocator_accuracy": a.mean(),
                    "allocator_se": _se(ra),
                    "baseline": name,
                    "baseline_accuracy": at,
                    "gain": a.mean() - at,
                    "gain_se": _se(ra - reps[:, 0]),
                    "compute_ratio": ratio,
                    "ratio_se": _se(reps[:, 1]),
                    "ratio_low": float(np.quantile(reps[:, 1], 0.025, method="lower")),
                    "ratio_high": float(np.quantile(reps[:, 1], 0.975, method="higher")),
                    "p_never": float(np.mean(np.isinf(reps[:, 1]))),
                }
            )
    return pd.DataFrame(out)


@dataclass(frozen=True)
class AllocationResult:
    """`compute_optimal_allocation`'s output: the comparison summary, the per-fold policies, the
    held-out per-problem rows, and the sample columns used to predict difficulty (probe) and by
    the strategies (pool)."""

    summary: pd.DataFrame
    policies: pd.DataFrame
    per_problem: pd.DataFrame
    probe: np.ndarray
    pool: np.ndarray


def compute_optimal_allocation(
    correct: np.ndarray,
    answers: np.ndarray,
    scores: np.ndarray,
    *,
    ks: Sequence[int],
    compute: Sequence[float],
    difficulty: str = "predicted",
    n_probe: int = 8,
    n_bins: int = 5,
    n_folds: int = 2,
    strategies: Sequence[str] = DEPLOYABLE,
    baselines: Sequence[str] = ("majority_vote", "best_of_n"),
    unit_cost: np.ndarray | None = None,
    share_budget: bool = False,
    n_boot: int = 1000,
    rng: np.random.Generator,
) -> AllocationResult:
    """The whole protocol on [problems, samples] arrays: `n_probe` random sample columns predict
    difficulty (mean `scores`, or pass@1 with ``difficulty="oracle"``), the other columns form the
    strategies' pool; levels and policies are cross-fitted over problems, then compared (`compare_to_baseline`)."""
    if difficulty not in ("predicted", "oracle"):
        raise ValueError(f"compute_optimal_allocation: difficulty must be 'predicted' or 'oracle', got {difficulty!r}")
    probe, pool = split_columns(np.shape(correct)[1], n_probe, rng)
    stat = problem_statistic(correct if difficulty == "oracle" else scores, probe)
    uc = None if unit_cost is None else np.asarray(unit_cost)[:, pool]
    table = option_table(
        np.asarray(correct)[:, pool],
        np.asarray(answers, dtype=object)[:, pool],
        np.asarray(scores)[:, pool],
        ks,
        strategies=list(dict.fromkeys([*strategies, *baselines])),
        unit_cost=uc,
        rng=rng,
    )
    if set(strategies) != set(s for s, _ in table.options):  # baselines outside the candidates: not choosable
        keep = [j for j, (s, _) in enumerate(table.options) if s in strategies]
        cand = OptionTable(tuple(table.options[j] for j in keep), table.accuracy[:, keep], table.cost[:, keep])
    else:
        cand = table
    per_problem, policies = cross_fit(
        cand, stat, compute, n_bins=n_bins, n_folds=n_folds, share_budget=share_budget, rng=rng
    )
    summary = compare_to_baseline(per_problem, table, baselines, n_boot=n_boot, rng=rng)
    return AllocationResult(summary, policies, per_problem, probe, pool)
