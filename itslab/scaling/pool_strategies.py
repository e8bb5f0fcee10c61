"""Per-problem accuracy and cost of the sample-based strategies at k, from one pool of samples.

The candidates of compute-optimal inference (Snell et al. 2024, arXiv:2408.03314; Wu et al.
2024, arXiv:2408.00724) that need only whole samples, each as an exact (or Monte Carlo) expectation
over random size-k subsets of the pool, by the estimators of `itslab.scaling`:

- ``pass_at_k``: coverage, an oracle verifier (Chen et al. 2021) — an upper bound, not deployable;
- ``majority_vote``: maj@k (self-consistency, Wang et al. 2023);
- ``best_of_n``: the top-scoring sample of k (exact best-of-k);
- ``weighted_majority_vote``: answers' votes weighted by the scores (Li et al. 2023; Wu et al.'s
  "weighted voting").

>>> import numpy as np
>>> ok = np.array([[True, False]]); ans = np.array([["1", "2"]], dtype=object)
>>> acc = strategy_accuracy(ok, ans, np.array([[0.9, 0.1]]), [1, 2], strategies=("best_of_n",))
>>> acc["best_of_n"].tolist()
[[0.5, 1.0]]
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from itslab.scaling.estimators import best_of_k_matrix, counts_from_flags, pass_at_k_matrix
from itslab.scaling.voting import majority_at_k_matrix

STRATEGIES = ("pass_at_k", "majority_vote", "best_of_n", "weighted_majority_vote")
DEPLOYABLE = ("majority_vote", "best_of_n", "weighted_majority_vote")


def vote_weights(scores: np.ndarray) -> np.ndarray:
    """Non-negative vote weights from scores: the scores themselves when they are probabilities
    (all in [0, 1], e.g. P("Yes")), else exp(score − row max) (log-probabilities; a per-problem
    factor changes no vote)."""
    s = np.asarray(scores, dtype=np.float64)
    if np.all((s >= 0) & (s <= 1)):
        return s
    return np.exp(s - s.max(axis=1, keepdims=True))


def strategy_accuracy(
    correct: np.ndarray,
    answers: np.ndarray,
    scores: np.ndarray | None,
    ks: Sequence[int] | np.ndarray,
    *,
    strategies: Sequence[str] = STRATEGIES,
    weights: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    n_mc: int = 500,
) -> dict[str, np.ndarray]:
    """Expected accuracy [problems, len(ks)] of each strategy over random size-k subsets of the pool.

    `scores` (higher = better; needed by the score-based strategies) rank samples for best-of-n;
    `weights` (default `vote_weights(scores)`) weight the votes. `rng` drives the Monte Carlo of
    (weighted) majority where exact enumeration is infeasible.
    """
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"strategy_accuracy: unknown strategies {unknown}; known: {STRATEGIES}")
    needs_scores = {"best_of_n", "weighted_majority_vote"} & set(strategies)
    if needs_scores and scores is None:
        raise ValueError(f"strategy_accuracy: {sorted(needs_scores)} need scores")
    ks = np.asarray(ks, dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    for s in strategies:
        if s == "pass_at_k":
            n, c = counts_from_flags(correct)
            out[s] = pass_at_k_matrix(n, c, ks.tolist())
        elif s == "majority_vote":
            out[s] = majority_at_k_matrix(answers, correct, ks, rng=rng, n_mc=n_mc)[0]
        elif s == "best_of_n":
            out[s] = best_of_k_matrix(np.asarray(scores), correct, ks)
        else:
            w = vote_weights(np.asarray(scores)) if weights is None else weights
            out[s] = majority_at_k_matrix(answers, correct, ks, weights=w, rng=rng, n_mc=n_mc)[0]
    return out


def expected_cost(unit_cost: np.ndarray, ks: Sequence[int] | np.ndarray, fixed: np.ndarray | float = 0.0) -> np.ndarray:
    """Expected cost [problems, len(ks)] of k random samples of the pool: fixed + k·(row mean of
    `unit_cost`), where `unit_cost` [problems, samples] is each sample's own cost (1 = samples,
    tokens, FLOPs) and `fixed` a per-problem cost paid once (e.g. reading the prompt)."""
    u = np.asarray(unit_cost, dtype=np.float64)
    if u.ndim != 2 or not np.all(np.isfinite(u)) or np.any(u < 0):
        raise ValueError("expected_cost: unit_cost must be a finite, non-negative [problems, samples] array")
    f = np.broadcast_to(np.asarray(fixed, dtype=np.float64), (len(u),))
    return f[:, None] + np.asarray(ks, dtype=np.float64)[None, :] * u.mean(axis=1, keepdims=True)
