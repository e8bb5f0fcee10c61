"""Majority vote over a mixture of easy and hard queries: the closed form behind "more calls can hurt".

Chen et al. 2024, *Are More LM Calls All You Need? Towards the Scaling Properties of Compound AI
Systems* (arXiv:2403.02419v2). With a fraction α of easy queries (one call right with p1 > ½) and
hard ones (p2 < ½), the majority of K calls scores F(K) = α A_K(p1) + (1 − α) A_K(p2): easy queries
climb to 1, hard ones fall to 0, and F can rise then fall (an inverse-U). The derivation of the
optimum and the shape conditions is in docs/methods.md (scaling/vote_mixture.py).

`vote_accuracy`, `mixture_vote_accuracy` and `two_level_curve` evaluate the curve; `vote_optimum`
classifies it and finds its best number of calls; `plurality_accuracy` is the exact maj@k of a
categorical answer distribution; `stratified_mean` gives the mean and SE of per-problem estimates
when the easy/hard split is fixed by design. A curve over a thousand K takes about a millisecond.

>>> round(float(mixture_vote_accuracy(7, [0.85, 0.45], [0.6, 0.4])[0]), 3)
0.749
>>> vote_optimum(0.6, 0.85, 0.45).k_best
7
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.stats import binom

SHAPES = ("inverse-U", "increasing", "decreasing", "U", "flat")


def _check_p(p: Any, where: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"{where}: probabilities must lie in [0, 1], got {np.ravel(p)[:8].tolist()}")
    return p


def _check_k(k: Sequence[int] | np.ndarray | int, where: str) -> np.ndarray:
    arr = np.asarray(k)
    if arr.size == 0 or not np.issubdtype(arr.dtype, np.number) or np.any(arr != np.round(arr)) or np.any(arr < 1):
        raise ValueError(f"{where}: numbers of calls must be integers >= 1, got {np.ravel(arr)[:8].tolist()}")
    return arr.astype(np.int64)


def vote_accuracy(p: float | np.ndarray, k: int | Sequence[int] | np.ndarray) -> np.ndarray:
    """A_K(p): the chance that a majority of `k` i.i.d. calls, each right with probability `p`, is right.

    Two answers (right, wrong); a tie (even `k`) is broken uniformly at random. `p` and `k`
    broadcast, e.g. ``vote_accuracy(p[:, None], ks[None, :])`` is a [queries, ks] table.
    """
    p = _check_p(p, "vote_accuracy")
    k = _check_k(k, "vote_accuracy")
    half = k // 2
    tie = np.where(k % 2 == 0, 0.5 * binom.pmf(half, k, p), 0.0)
    return np.asarray(binom.sf(half, k, p) + tie, dtype=np.float64)


def mixture_vote_accuracy(
    k: int | Sequence[int] | np.ndarray, p: Sequence[float] | np.ndarray, weights: Sequence[float] | None = None
) -> np.ndarray:
    """F(K) = Σ_j w_j A_K(p_j) for each number of calls in `k`: majority-vote accuracy of a task whose
    queries have single-call accuracies `p` in proportions `weights` (default: equal)."""
    p = _check_p(np.atleast_1d(p), "mixture_vote_accuracy")
    w = np.full(len(p), 1.0 / len(p)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != p.shape or np.any(w < 0) or not math.isclose(float(w.sum()), 1.0, abs_tol=1e-9):
        raise ValueError(f"mixture_vote_accuracy: weights must be {len(p)} non-negative numbers summing to 1, got {w}")
    ks = np.atleast_1d(_check_k(k, "mixture_vote_accuracy"))
    return np.asarray(w @ vote_accuracy(p[:, None], ks[None, :]))


def _two_level(alpha: float, p_easy: float, p_hard: float) -> tuple[np.ndarray, np.ndarray]:
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"two-level mixture: the easy fraction alpha must lie in [0, 1], got {alpha}")
    return _check_p(np.array([p_easy, p_hard]), "two-level mixture"), np.array([alpha, 1.0 - alpha])


def two_level_curve(ks: Sequence[int] | np.ndarray, alpha: float, p_easy: float, p_hard: float) -> pd.DataFrame:
    """Closed-form vote accuracy of a two-level task (Chen et al. 2024): columns ``k``, ``value``
    (F(K)), ``easy`` (A_K(p_easy)), ``hard`` (A_K(p_hard))."""
    p, w = _two_level(alpha, p_easy, p_hard)
    ks = np.atleast_1d(_check_k(ks, "two_level_curve"))
    per = vote_accuracy(p[:, None], ks[None, :])
    return pd.DataFrame({"k": ks, "value": w @ per, "easy": per[0], "hard": per[1]})


@dataclass(frozen=True)
class VoteOptimum:
    """Where a two-level task's vote accuracy peaks, in closed form.

    `shape`: "inverse-U" (rises then falls), "increasing", "decreasing", "U" (falls then rises) or
    "flat". `m_star`: where the increment ΔF_m changes sign (NaN if it never does); `k_star`: the
    continuous optimum 2 m* (NaN unless inverse-U); `k_best`: the best odd number of calls (None when
    more calls keep helping, i.e. the best is K → ∞); `accuracy_best`, `accuracy_one` (K = 1) and
    `accuracy_limit` (K → ∞); `alpha_threshold`: the easy fraction 1 − 1/t at which ΔF_1 = 0 (NaN
    unless p_easy > ½ > p_hard).
    """

    shape: str
    m_star: float
    k_star: float
    k_best: int | None
    accuracy_best: float
    accuracy_one: float
    accuracy_limit: float
    alpha_threshold: float


def _limit(p: np.ndarray, w: np.ndarray) -> float:
    return float(w @ np.where(p > 0.5, 1.0, np.where(p == 0.5, 0.5, 0.0)))


def vote_optimum(alpha: float, p_easy: float, p_hard: float) -> VoteOptimum:
    """The shape of F(K) and its best number of calls for a two-level task (see the module docstring).

    The increment from K = 2m − 1 to 2m + 1 calls is C(2m−1, m) Σ_j a_j r_j^m with a_j = w_j (2p_j − 1)
    and r_j = p_j (1 − p_j); its sign at m = 1 and as m → ∞ (the term with the larger r_j) fixes the
    shape, and the root m* the turning point.
    """
    p, w = _two_level(alpha, p_easy, p_hard)
    a, r = w * (2 * p - 1), p * (1 - p)
    same_r = math.isclose(r[0], r[1], rel_tol=1e-12, abs_tol=1e-15)  # p1 + p2 = 1: both terms decay alike
    s1 = float(a @ r)
    dominant = a.sum() if same_r else a[np.argmax(r)]
    s_inf = float(dominant) if r.max() > 0 else 0.0
    m_star = math.nan
    if a[0] * a[1] < 0 and not same_r and r.min() > 0:
        m_star = math.log(-a[0] / a[1]) / math.log(r[1] / r[0])
    f1 = float(w @ p)
    limit = _limit(p, w)
    threshold = math.nan
    if p[0] > 0.5 > p[1]:
        s = (1 - 2 * p[1]) * r[1] / ((2 * p[0] - 1) * r[0])
        threshold = s / (1 + s)
    if s1 > 0 and s_inf < 0:
        k_best = 2 * max(1, math.ceil(m_star - 1e-12)) - 1
        best = float(w @ vote_accuracy(p, k_best))
        return VoteOptimum("inverse-U", m_star, 2 * m_star, k_best, best, f1, limit, threshold)
    if s1 < 0 and s_inf > 0:
        k_u = None if limit > f1 else 1
        return VoteOptimum("U", m_star, math.nan, k_u, max(f1, limit), f1, limit, threshold)
    if s1 == 0 and s_inf == 0:
        return VoteOptimum("flat", m_star, math.nan, 1, f1, f1, limit, threshold)
    if s1 >= 0 and s_inf >= 0:
        return VoteOptimum("increasing", m_star, math.nan, None, limit, f1, limit, threshold)
    return VoteOptimum("decreasing", m_star, math.nan, 1, f1, f1, limit, threshold)


def _compositions(k: int, c: int) -> np.ndarray:
    """Every vector of `c` non-negative counts summing to `k` (stars and bars), as rows."""
    from itertools import combinations

    bars = np.array(list(combinations(range(k + c - 1), c - 1)), dtype=np.int64).reshape(-1, c - 1)
    edges = np.column_stack([np.full(len(bars), -1), bars, np.full(len(bars), k + c - 1)])
    return np.diff(edges, axis=1) - 1


def plurality_accuracy(q: np.ndarray, k: int, *, max_states: int = 500_000) -> np.ndarray:
    """Exact maj@k of categorical answer distributions: rows of `q` [rows, C] (column 0 the right
    answer) each voted on by `k` i.i.d. draws; the most frequent answer wins, ties split uniformly.

    Sums over every count vector (C(k + C − 1, C − 1) of them; more than `max_states` raises), so it
    suits a few answers and tens of votes (e.g. self-consistency's 40 paths over 4 answers: 12,341).
    """
    q = _check_p(np.atleast_2d(q), "plurality_accuracy")
    k = int(_check_k(k, "plurality_accuracy"))
    if not np.allclose(q.sum(axis=1), 1.0, atol=1e-9):
        raise ValueError("plurality_accuracy: each row of q must sum to 1")
    rows, c = q.shape
    if c == 1:
        return np.ones(rows)
    if math.comb(k + c - 1, c - 1) > max_states:
        raise ValueError(
            f"plurality_accuracy: {math.comb(k + c - 1, c - 1)} count vectors for k={k} over {c} answers "
            f"exceed max_states={max_states}; merge rare answers or use sampling"
        )
    x = _compositions(k, c)
    top = x.max(axis=1, keepdims=True)
    share = (x[:, 0] == top[:, 0]) / (x == top).sum(axis=1)  # the right answer's share of a tie at the top
    lg = np.array([math.lgamma(v + 1) for v in range(k + 1)])
    log_multi = math.lgamma(k + 1) - lg[x].sum(axis=1)  # log k! / prod x_i!
    logq = np.log(np.maximum(q, 1e-300))
    out = np.empty(rows)
    for i in range(0, rows, 256):  # [chunk, states] at a time
        logp = log_multi[None, :] + logq[i : i + 256] @ x.T
        out[i : i + 256] = np.exp(logp) @ share
    return out


def stratified_mean(values: np.ndarray, groups: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over problems of per-problem estimates `values` [P, ...] and its standard error when the
    group sizes are fixed by design (a stratified sample): SE² = Σ_g (n_g / P)² s_g² / n_g.

    Use it for a mixture whose easy/hard split is set, not drawn: the spread between groups is then
    not sampling error. A group with one problem contributes no variance estimate (treated as 0).
    """
    values = np.asarray(values, dtype=np.float64)
    groups = np.asarray(groups)
    if groups.shape != (len(values),):
        raise ValueError(f"stratified_mean: need one group label per row ({len(values)}), got shape {groups.shape}")
    total = len(values)
    mean = values.mean(axis=0)
    var = np.zeros(values.shape[1:])
    for g in np.unique(groups):
        part = values[groups == g]
        if len(part) > 1:
            var = var + (len(part) / total) ** 2 * part.var(axis=0, ddof=1) / len(part)
    return mean, np.sqrt(var)


__all__ = [
    "SHAPES",
    "VoteOptimum",
    "mixture_vote_accuracy",
    "plurality_accuracy",
    "stratified_mean",
    "two_level_curve",
    "vote_accuracy",
    "vote_optimum",
]
