"""Unbiased estimators of pass@k and best-of-k from one pool of n samples per problem.

pass@k is the estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on
Code", Codex): with c correct among n samples,

    pass@k = 1 - C(n-c, k) / C(n, k) = 1 - prod_{i=0}^{k-1} (1 - c / (n - i)),

the probability that a uniformly random size-k subset of the pool holds a correct sample. The
product form is summed in log space (``log1p``) and accumulated over i, so one pass yields every
k at once and stays finite for n up to 1e5 and k up to 1e4. Problems sharing (n, c) are computed
once, which is what makes 10^4 problems × 10^3 values of k take milliseconds.

best-of-k (verifier selection, "best-of-N") is the expected accuracy of the top-scoring sample of
a random size-k subset: after sorting the pool by score, the item ranked r (0 = best) is the
winner iff it is drawn and none of the r better ones is, with probability C(n-1-r, k-1) / C(n, k).

>>> import numpy as np
>>> pass_at_k_matrix(np.array([4]), np.array([1]), [1, 2, 4]).round(3).tolist()
[[0.25, 0.5, 1.0]]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from itslab.scaling.intervals import curve_frame

TIE_RULES = ("random", "first")


def default_ks(n: int) -> np.ndarray:
    """Powers of two up to n, plus n itself: the usual log-spaced grid of budgets k."""
    if n < 1:
        raise ValueError(f"pool size n must be >= 1, got {n}")
    ks = 2 ** np.arange(int(np.floor(np.log2(n))) + 1)
    return np.unique(np.append(ks, n)).astype(np.int64)


def _check_ks(ks: Sequence[int] | np.ndarray | None, n_min: int, where: str) -> np.ndarray:
    ks = default_ks(n_min) if ks is None else np.atleast_1d(np.asarray(ks))
    if ks.size == 0 or not np.issubdtype(ks.dtype, np.integer) and not np.all(ks == np.round(ks)):
        raise ValueError(f"{where}: ks must be non-empty integers, got {ks!r}")
    ks = ks.astype(np.int64)
    if ks.min() < 1 or ks.max() > n_min:
        bad = int(ks[(ks < 1) | (ks > n_min)][0])
        raise ValueError(f"{where}: k={bad} is outside 1..n={n_min} (the smallest pool size)")
    return ks


def _log_survival(n: np.ndarray, c: np.ndarray, kmax: int) -> np.ndarray:
    """log C(n-c, k)/C(n, k) for k = 1..kmax, rows = (n, c) pairs: cumsum of log1p(-c/(n-i))."""
    i = np.arange(kmax)
    frac = c[:, None] / (n[:, None] - i)  # n - i >= 1 because kmax <= n
    with np.errstate(divide="ignore"):  # log1p(-1) = -inf: C(n-c, k) = 0 once k > n - c
        terms = np.log1p(-np.minimum(frac, 1.0))
    return np.cumsum(terms, axis=1)


def _pass_at_k_unique(
    n: np.ndarray | int, c: np.ndarray, ks: Sequence[int] | None, block: int = 4_000_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """pass@k of the distinct (n, c) pairs: (values [pairs, len(ks)], inverse, multiplicity, ks)."""
    c = np.atleast_1d(np.asarray(c))
    n = np.broadcast_to(np.asarray(n), c.shape)
    if c.ndim != 1:
        raise ValueError(f"pass_at_k: c must be 1-D (one count per problem), got shape {c.shape}")
    if c.size == 0:
        raise ValueError("pass_at_k: no problems given")
    for name, a in (("c", c), ("n", n)):  # 2.5 read as 2, or NaN as a huge negative integer, is a wrong curve
        bad = (
            ~np.isfinite(a.astype(np.float64)) | (a.astype(np.float64) != np.round(a.astype(np.float64)))
            if a.dtype.kind in "fc"
            else np.zeros(a.shape, bool)
        )
        if a.dtype.kind not in "iufcb" or bad.any():
            i = int(np.flatnonzero(bad)[0]) if bad.any() else 0
            raise ValueError(
                f"pass_at_k: {name} must hold whole numbers (counts); problem {i} has {name}={a.flat[i]!r}"
            )
    if np.any(c < 0) or np.any(c > n):
        i = int(np.flatnonzero((c < 0) | (c > n))[0])
        raise ValueError(f"pass_at_k: problem {i} has c={c[i]} correct of n={n[i]} (need 0 <= c <= n)")
    ks = _check_ks(ks, int(n.min()), "pass_at_k")
    pairs, inverse, mult = np.unique(
        np.stack([n, c], axis=1).astype(np.int64), axis=0, return_inverse=True, return_counts=True
    )
    out = np.empty((len(pairs), len(ks)))
    kmax = int(ks.max())
    rows = max(1, block // kmax)  # bound memory at about `block` doubles
    for s in range(0, len(pairs), rows):
        part = pairs[s : s + rows].astype(np.float64)
        out[s : s + rows] = -np.expm1(_log_survival(part[:, 0], part[:, 1], kmax)[:, ks - 1])
    return out + 0.0, inverse.ravel(), mult, ks  # + 0.0 turns -0.0 (c = 0) into 0.0


def pass_at_k_matrix(n: np.ndarray | int, c: np.ndarray, ks: Sequence[int] | None = None) -> np.ndarray:
    """Per-problem unbiased pass@k (Chen et al. 2021), shape [problems, len(ks)].

    `n` (pool size, scalar or per problem) and `c` (number correct) are integer arrays; every k
    must satisfy 1 <= k <= min(n). Rows with equal (n, c) share one computation.
    """
    values, inverse, _, _ = _pass_at_k_unique(n, c, ks)
    return values[inverse]


def counts_from_flags(correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, c) per problem from a boolean correctness matrix of shape [problems, n]."""
    correct = np.asarray(correct)
    if correct.ndim != 2:
        raise ValueError(f"correct must have shape [problems, n_samples], got shape {correct.shape}")
    if correct.dtype != bool and not np.all((correct == 0) | (correct == 1)):
        raise ValueError("correct must hold booleans (or 0/1), one flag per sample")
    c = correct.astype(bool).sum(axis=1)
    return np.full(len(c), correct.shape[1], dtype=np.int64), c.astype(np.int64)


def pass_at_k(
    correct: np.ndarray,
    ks: Sequence[int] | None = None,
    *,
    rng: np.random.Generator | None = None,
    n_boot: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Coverage curve: unbiased pass@k (Chen et al. 2021) averaged over problems, as a tidy frame.

    `correct` is a boolean matrix [problems, n]. Columns: ``k``, ``metric`` ("pass@k"), ``value``
    (mean over problems), ``se`` (standard error across problems), ``n_problems``, ``method``
    ("exact"); with ``n_boot > 0`` and an `rng`, also percentile bootstrap ``ci_low``/``ci_high``
    over problems.
    """
    n, c = counts_from_flags(correct)
    return pass_at_k_from_counts(n, c, ks, rng=rng, n_boot=n_boot, ci=ci)


def pass_at_k_from_counts(
    n: np.ndarray | int,
    c: np.ndarray,
    ks: Sequence[int] | None = None,
    *,
    rng: np.random.Generator | None = None,
    n_boot: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """`pass_at_k` from per-problem counts: `c` correct out of `n` samples (Chen et al. 2021)."""
    values, _, mult, ks = _pass_at_k_unique(n, c, ks)  # never expands to [problems, len(ks)]
    return curve_frame(values, ks, "pass@k", weights=mult, rng=rng, n_boot=n_boot, ci=ci)


def _best_of_k_weights(n: int, ks: np.ndarray) -> np.ndarray:
    """W[r, j] = C(n-1-r, k_j - 1) / C(n, k_j): the item ranked r wins a random k_j-subset."""
    k = ks.astype(np.float64)[None, :]
    j = np.arange(n - 1, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore"):  # ratio (n-k-j)/(n-1-j) hits 0 once fewer than k-1 remain below
        steps = np.log(np.maximum(n - k - j, 0.0)) - np.log(n - 1 - j)
    logw = np.log(k / n) + np.vstack([np.zeros((1, len(ks))), np.cumsum(steps, axis=0)])
    return np.exp(logw)


def _tie_mean(sorted_scores: np.ndarray, sorted_y: np.ndarray) -> np.ndarray:
    """Replace each y by the mean y of its tie group (equal score) within its row."""
    p, n = sorted_y.shape
    new = np.ones((p, n), dtype=bool)
    new[:, 1:] = sorted_scores[:, 1:] != sorted_scores[:, :-1]
    gid = np.cumsum(new.ravel()) - 1
    means = np.bincount(gid, weights=sorted_y.ravel()) / np.bincount(gid)
    return means[gid].reshape(p, n)


def best_of_k_matrix(
    scores: np.ndarray, correct: np.ndarray, ks: Sequence[int] | np.ndarray | None = None, *, tie: str = "random"
) -> np.ndarray:
    """Per-problem exact expected best-of-k accuracy over random size-k subsets, [problems, len(ks)].

    Tie rule: with ``tie="random"`` the winner among equal top scores in a subset is uniform (so
    tied items share their group's winning probability equally); with ``tie="first"`` the item
    earlier in the pool wins. Scores must be finite; higher is better.
    """
    scores, correct = np.asarray(scores, dtype=np.float64), np.asarray(correct)
    if scores.shape != correct.shape or scores.ndim != 2:
        raise ValueError(f"best_of_k: scores {scores.shape} and correct {correct.shape} must both be [problems, n]")
    if not np.all(np.isfinite(scores)):
        i, j = np.argwhere(~np.isfinite(scores))[0]
        raise ValueError(f"best_of_k: scores[{i}, {j}] = {scores[i, j]} is not finite")
    if tie not in TIE_RULES:
        raise ValueError(f"best_of_k: tie must be one of {TIE_RULES}, got {tie!r}")
    n = scores.shape[1]
    ks = _check_ks(ks, n, "best_of_k")
    order = np.argsort(-scores, axis=1, kind="stable")  # stable: among ties, earlier index first
    y = np.take_along_axis(correct.astype(np.float64), order, axis=1)
    if tie == "random":
        y = _tie_mean(np.take_along_axis(scores, order, axis=1), y)
    return y @ _best_of_k_weights(n, ks)


def best_of_k(
    scores: np.ndarray,
    correct: np.ndarray,
    ks: Sequence[int] | None = None,
    *,
    tie: str = "random",
    rng: np.random.Generator | None = None,
    n_boot: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Best-of-k (verifier-selected) accuracy curve, exact over random size-k subsets of the pool.

    The selection of "best-of-N" (Cobbe et al. 2021; Lightman et al. 2023) evaluated as an
    expectation over subsets rather than one draw. Same columns as `pass_at_k`, metric "bon@k".
    """
    values = best_of_k_matrix(scores, correct, ks, tie=tie)
    ks = _check_ks(ks, np.asarray(scores).shape[1], "best_of_k")
    return curve_frame(values, ks, "bon@k", rng=rng, n_boot=n_boot, ci=ci)
