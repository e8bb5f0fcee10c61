"""How well a verifier's scores separate right from wrong samples: ROC AUC with a problem bootstrap.

The AUC is the Mann–Whitney probability that a random right sample outscores a random wrong one
(ties count half) — the quality measure of verifiers in Cobbe et al. 2021 (arXiv:2110.14168) and of
P(True) self-evaluation in Kadavath et al. 2022 (arXiv:2207.05221). Samples of one problem share
its difficulty, so the interval resamples problems (rows), not samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from itslab.scaling.intervals import bootstrap_counts, percentile_ci


def roc_auc(scores: np.ndarray, correct: np.ndarray, weights: np.ndarray | None = None) -> float:
    """ROC AUC of `scores` for `correct` (same shape, any); NaN when either class is empty.

    `weights` (same shape) count each sample that many times (a bootstrap replicate's problem counts).
    """
    s = np.asarray(scores, dtype=float).ravel()
    y = np.asarray(correct, dtype=bool).ravel()
    if s.shape != y.shape:
        raise ValueError(f"roc_auc: scores {np.shape(scores)} and correct {np.shape(correct)} differ in shape")
    if not np.isfinite(s).all():
        raise ValueError("roc_auc: scores contain NaN or infinity")
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=float).ravel()
    n_pos, n_neg = w[y].sum(), w[~y].sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # weighted average ranks: a sample of weight w occupies w tied positions
    order = np.argsort(s, kind="stable")
    s_sorted, w_sorted = s[order], w[order]
    _, first, counts = np.unique(s_sorted, return_index=True, return_counts=True)
    group_w = np.add.reduceat(w_sorted, first)
    start = np.concatenate([[0.0], np.cumsum(group_w)[:-1]])
    rank_of_group = start + (group_w + 1) / 2
    ranks = np.empty_like(s)
    ranks[order] = np.repeat(rank_of_group, counts)
    u = float((w[y] * ranks[y]).sum() - n_pos * (n_pos + 1) / 2)
    return u / float(n_pos * n_neg)


@dataclass(frozen=True)
class AUCInterval:
    """A ROC AUC with its percentile-bootstrap interval over problems."""

    auc: float
    ci_low: float
    ci_high: float
    n_right: int
    n_wrong: int


def roc_auc_interval(
    scores: np.ndarray,
    correct: np.ndarray,
    *,
    rng: np.random.Generator,
    n_boot: int = 1000,
    ci: float = 0.95,
    within_problem: bool = False,
) -> AUCInterval:
    """ROC AUC of `scores` [problems, n] for `correct` [problems, n] with a problem-bootstrap interval.

    ``within_problem=True`` compares only a right and a wrong sample of the same problem (pairs
    pooled over problems): what best-of-N selection depends on. The pooled AUC also rewards a score
    that merely tells easy problems from hard ones.
    """
    s, y = np.asarray(scores, dtype=float), np.asarray(correct, dtype=bool)
    if s.ndim != 2 or s.shape != y.shape:
        raise ValueError(f"roc_auc_interval: need [problems, n] scores and flags, got {s.shape} and {y.shape}")
    counts = bootstrap_counts(len(s), rng, n_boot)
    if within_problem:
        pairs = (y.sum(axis=1) * (~y).sum(axis=1)).astype(float)
        u = np.array([roc_auc(r, f) * p if p else 0.0 for r, f, p in zip(s, y, pairs)])
        auc = u.sum() / pairs.sum() if pairs.sum() else float("nan")
        with np.errstate(invalid="ignore", divide="ignore"):
            reps = (counts @ u) / (counts @ pairs)
    else:
        auc = roc_auc(s, y)
        reps = np.array([roc_auc(s, y, np.broadcast_to(c[:, None], s.shape)) for c in counts])
    lo, hi = percentile_ci(reps[np.isfinite(reps)], ci)
    return AUCInterval(float(auc), float(lo), float(hi), int(y.sum()), int((~y).sum()))
