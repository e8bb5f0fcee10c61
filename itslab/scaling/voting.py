"""Majority voting (self-consistency) and weighted majority voting at k, from one pool of n samples.

maj@k (Wang et al. 2023, "Self-Consistency Improves Chain of Thought Reasoning") and weighted
maj@k (Li et al. 2023; Uesato et al. 2022: votes weighted by verifier scores) are evaluated as the
expected accuracy over uniformly random size-k subsets of the pool — one pool yields every k.

Exact where feasible: for k = 1 and k = n, and for plain majority whenever the vectors of
per-answer vote counts of a k-subset (multivariate hypergeometric outcomes, each weighted by
prod C(m_i, t_i) / C(n, k)) number at most `max_exact`. Otherwise an unbiased Monte Carlo over
`n_mc` random subsets drawn with the caller's `rng`; its standard error is reported (``mc_se``).
Tie rule: among answers tied for most votes (or weight) the winner is uniform at random.
Abstentions (answer None / NaN: nothing extracted) cast no vote; a subset with no votes is wrong.

>>> import numpy as np
>>> ans = np.array([["4", "4", "5"]], dtype=object); ok = np.array([[True, True, False]])
>>> float(majority_at_k_matrix(ans, ok, [3])[0][0, 0])
1.0
"""

from __future__ import annotations

from math import comb
from typing import Sequence

import numpy as np
import pandas as pd
from scipy.special import gammaln

from itslab.scaling.estimators import _check_ks
from itslab.scaling.intervals import curve_frame

METHODS = ("auto", "exact", "mc")


def encode_answers(answers: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per-row integer answer codes (-1 = abstain) and, per row, the correctness of each answer class.

    Every sample of one answer class must carry the same correctness flag; a mismatch means the
    upstream grader and the extracted answers disagree, and raises naming (problem, answer).
    """
    answers, correct = np.asarray(answers, dtype=object), np.asarray(correct)
    if answers.ndim != 2 or answers.shape != correct.shape:
        raise ValueError(f"answers {answers.shape} and correct {correct.shape} must both be [problems, n]")
    codes = np.empty(answers.shape, dtype=np.int64)
    class_ok: list[np.ndarray] = []
    for i, row in enumerate(answers):
        codes[i], uniques = pd.factorize(row, use_na_sentinel=True)
        n_cls, voted = len(uniques), codes[i] >= 0
        hits = np.bincount(codes[i][voted], weights=correct[i][voted].astype(float), minlength=n_cls)
        sizes = np.bincount(codes[i][voted], minlength=n_cls)
        mixed = (hits > 0) & (hits < sizes)
        if mixed.any():
            raise ValueError(
                f"problem {i}: answer {uniques[np.flatnonzero(mixed)[0]]!r} is flagged both "
                "correct and incorrect across samples"
            )
        class_ok.append(hits > 0)
    return codes, class_ok


def _compositions(sizes: np.ndarray, k: int, max_states: int) -> np.ndarray | None:
    """All count vectors t (t_i <= sizes_i, sum t = k), or None when there are more than max_states."""
    states, sums = np.zeros((1, 0), dtype=np.int64), np.zeros(1, dtype=np.int64)
    rest = np.concatenate([np.cumsum(sizes[::-1])[::-1][1:], [0]])  # capacity of the classes after i
    for i, m in enumerate(sizes):
        t = np.arange(min(m, k) + 1)
        new_sums = (sums[:, None] + t[None, :]).ravel()
        keep = (new_sums <= k) & (new_sums + rest[i] >= k)
        if keep.sum() > max_states:
            return None
        rows = np.repeat(np.arange(len(states)), len(t))[keep]
        states = np.column_stack([states[rows], np.tile(t, len(sums))[keep]])
        sums = new_sums[keep]
    return states


def _majority_exact(codes: np.ndarray, ok: np.ndarray, k: int, max_states: int) -> float | None:
    """Exact maj@k of one pool by enumerating vote-count vectors; None when infeasible."""
    sizes = np.bincount(codes[codes >= 0], minlength=len(ok))
    sizes = np.append(sizes, (codes < 0).sum())  # the last "class" is abstentions
    states = _compositions(sizes, k, max_states)
    if states is None:
        return None
    n = len(codes)
    logw = (gammaln(sizes + 1) - gammaln(states + 1) - gammaln(sizes - states + 1)).sum(axis=1)
    logw -= gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
    votes = states[:, :-1]
    top = votes.max(axis=1, initial=0)
    at_top = votes == top[:, None]
    p_win = np.where(top > 0, (at_top & ok[None, :]).sum(axis=1) / np.maximum(at_top.sum(axis=1), 1), 0.0)
    return float(np.exp(logw) @ p_win)


def _win_share(codes_sub: np.ndarray, weights_sub: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Per row of subsets: P(the (weighted) vote picks a correct answer), ties split uniformly.

    Using the expected outcome of the uniform tie-break (the share of tied top answers that are
    correct) rather than a random draw keeps Monte Carlo unbiased with less variance.
    """
    rows, n_cls = len(codes_sub), len(ok)
    if n_cls == 0:
        return np.zeros(rows)
    voted = codes_sub >= 0
    flat = (np.arange(rows)[:, None] * n_cls + codes_sub)[voted]
    count = np.bincount(flat, minlength=rows * n_cls).reshape(rows, n_cls)
    total = np.bincount(flat, weights=weights_sub[voted], minlength=rows * n_cls).reshape(rows, n_cls)
    total = np.where(count > 0, total, -np.inf)
    top = total.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):  # rows with no votes: top = -inf
        tied = (count > 0) & (total >= top - 1e-12 * np.abs(top))
    n_tied = tied.sum(axis=1)
    return np.where(n_tied > 0, (tied & ok[None, :]).sum(axis=1) / np.maximum(n_tied, 1), 0.0)


def _subsets(n: int, k: int) -> np.ndarray:
    """Every size-k subset of range(n) as rows of an index array (small C(n, k) only)."""
    from itertools import chain, combinations

    return np.fromiter(chain.from_iterable(combinations(range(n), k)), dtype=np.int64).reshape(-1, k)


def _exact(codes: np.ndarray, w: np.ndarray, ok: np.ndarray, k: int, weighted: bool, max_exact: int) -> float | None:
    """Exact (weighted) maj@k of one pool, or None when too costly."""
    n = len(codes)
    if k == n:
        return float(_win_share(codes[None], w[None], ok)[0])
    if k == 1:
        return float(np.mean(np.where(codes >= 0, ok[np.maximum(codes, 0)] if len(ok) else False, False)))
    if not weighted:
        return _majority_exact(codes, ok, k, max_exact)
    if comb(n, k) <= max_exact:
        idx = _subsets(n, k)
        return float(_win_share(codes[idx], w[idx], ok).mean())
    return None


def _vote_matrix(
    answers: np.ndarray,
    correct: np.ndarray,
    weights: np.ndarray | None,
    ks: Sequence[int] | np.ndarray | None,
    *,
    method: str,
    n_mc: int,
    rng: np.random.Generator | None,
    max_exact: int,
    where: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(values, mc_var, exact, ks) per problem and k: exact paths first, Monte Carlo where needed."""
    if method not in METHODS:
        raise ValueError(f"{where}: method must be one of {METHODS}, got {method!r}")
    codes, class_ok = encode_answers(answers, correct)
    p, n = codes.shape
    ks = _check_ks(ks, n, where)
    w = np.ones((p, n)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (p, n) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{where}: weights must be finite, non-negative and of shape {(p, n)}")
    values, mc_var = np.zeros((p, len(ks))), np.zeros((p, len(ks)))
    exact = np.ones((p, len(ks)), dtype=bool)
    for i in range(p):
        perms = None
        for j, k in enumerate(ks):
            weighted = weights is not None
            val = None if method == "mc" else _exact(codes[i], w[i], class_ok[i], int(k), weighted, max_exact)
            if val is None and method == "exact":
                raise ValueError(f"{where}: exact computation infeasible for problem {i}, k={k}; use method='auto'")
            if val is None:
                if perms is None:
                    if rng is None:
                        raise ValueError(f"{where}: Monte Carlo needed (problem {i}, k={k}) but no rng given")
                    # the first k of a random permutation is a uniform k-subset, for every k at once
                    perms = rng.permuted(np.tile(np.arange(n), (n_mc, 1)), axis=1)
                hit = _win_share(codes[i][perms[:, :k]], w[i][perms[:, :k]], class_ok[i])
                val, exact[i, j] = hit.mean(), False
                mc_var[i, j] = hit.var(ddof=1) / n_mc
            values[i, j] = val
    return values, mc_var, exact, ks


def majority_at_k_matrix(
    answers: np.ndarray,
    correct: np.ndarray,
    ks: Sequence[int] | np.ndarray | None = None,
    *,
    weights: np.ndarray | None = None,
    method: str = "auto",
    n_mc: int = 2000,
    rng: np.random.Generator | None = None,
    max_exact: int = 2_000,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-problem (weighted) maj@k: (values, mc_var, exact) each of shape [problems, len(ks)].

    `answers` [problems, n] (object/str; None or NaN = abstain), `correct` flags of the same shape,
    optional non-negative vote `weights` (verifier scores). `mc_var` is the Monte Carlo variance
    of each estimate (0 where exact); `exact` marks the exact entries.
    """
    values, mc_var, exact, _ = _vote_matrix(
        answers, correct, weights, ks, method=method, n_mc=n_mc, rng=rng, max_exact=max_exact, where="majority_at_k"
    )
    return values, mc_var, exact


def _frame(
    values: np.ndarray,
    mc_var: np.ndarray,
    exact: np.ndarray,
    ks: np.ndarray,
    metric: str,
    rng: np.random.Generator | None,
    n_boot: int,
    ci: float,
) -> pd.DataFrame:
    method = np.where(exact.all(axis=0), "exact", np.where(exact.any(axis=0), "mixed", "mc"))
    return curve_frame(values, ks, metric, mc_var=mc_var, method=method, rng=rng, n_boot=n_boot, ci=ci)


def majority_at_k(
    answers: np.ndarray,
    correct: np.ndarray,
    ks: Sequence[int] | None = None,
    *,
    method: str = "auto",
    n_mc: int = 2000,
    rng: np.random.Generator | None = None,
    max_exact: int = 2_000,
    n_boot: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """maj@k curve (self-consistency, Wang et al. 2023) as a tidy frame, metric "maj@k".

    Columns as `pass_at_k` plus ``mc_se`` (Monte Carlo error of the mean; 0 when all exact) and
    ``method`` per k ("exact", "mc" or "mixed"). `rng` drives the Monte Carlo and the bootstrap.
    """
    values, mc_var, exact, ks = _vote_matrix(
        answers, correct, None, ks, method=method, n_mc=n_mc, rng=rng, max_exact=max_exact, where="majority_at_k"
    )
    return _frame(values, mc_var, exact, ks, "maj@k", rng, n_boot, ci)


def weighted_majority_at_k(
    answers: np.ndarray,
    correct: np.ndarray,
    weights: np.ndarray,
    ks: Sequence[int] | None = None,
    *,
    method: str = "auto",
    n_mc: int = 2000,
    rng: np.random.Generator | None = None,
    max_exact: int = 2_000,
    n_boot: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Weighted maj@k: answers' votes summed with verifier-score `weights` (Li et al. 2023), metric "wmaj@k".

    Exact for k = 1, k = n and pools with C(n, k) <= `max_exact`; Monte Carlo otherwise.
    """
    values, mc_var, exact, ks = _vote_matrix(
        answers,
        correct,
        weights,
        ks,
        method=method,
        n_mc=n_mc,
        rng=rng,
        max_exact=max_exact,
        where="weighted_majority_at_k",
    )
    return _frame(values, mc_var, exact, ks, "wmaj@k", rng, n_boot, ci)
