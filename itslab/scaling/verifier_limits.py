"""Limits of resampling with an imperfect verifier (Stroebl, Kapoor & Narayanan 2024, "Inference
Scaling fLaws", arXiv:2411.17501).

Resample-until-pass draws up to k samples and returns the first the verifier accepts (abstains if
none does). With single-sample accuracy p, true-positive rate TPR and false-positive rate FPR, its
accuracy tends to p·TPR / (p·TPR + (1 − p)·FPR) as k → ∞. Over problems of different p every
quantity is averaged exactly (the authors' notebook approximates it), which is why the expected
utility can peak at a small k. TPR and FPR may differ by problem (arrays shaped like p); the
authors' easy/hard model with class-specific rates is `itslab.scaling.two_class`. The closed
forms are derived in docs/methods.md.

>>> round(float(resampling_ceiling(0.3, tpr=1.0, fpr=0.1)), 4)
0.8108
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from itslab.scaling.estimators import pass_at_k_matrix

Rate = float | np.ndarray  # one rate, or one per problem (broadcast against p: class-specific rates)


def _rates(p, tpr: Rate, fpr: Rate):
    p = np.asarray(p, dtype=np.float64)
    for name, v in (("p", p), ("tpr", np.asarray(tpr)), ("fpr", np.asarray(fpr))):
        if np.any((v < 0) | (v > 1)) or not np.all(np.isfinite(v)):
            raise ValueError(f"verifier_limits: {name} must lie in [0, 1], got {v!r}")
    q_tp, q_fp = p * tpr, (1 - p) * fpr
    return q_tp, q_fp, 1.0 - q_tp - q_fp


def expected_attempts(k: np.ndarray | float, p, tpr: Rate, fpr: Rate) -> np.ndarray:
    """E[min(T, k)]: expected samples drawn by resample-until-pass, per problem [..., len(k)]."""
    _, _, beta = _rates(p, tpr, fpr)
    k = np.asarray(k, dtype=np.float64)
    beta = np.asarray(beta)[..., None] if np.ndim(k) else beta
    with np.errstate(divide="ignore", invalid="ignore"):
        geo = -np.expm1(k * np.log(beta)) / (1 - beta)  # (1 − β^k)/(1 − β), stable near β = 1
    return np.where(beta >= 1, k, np.where(beta <= 0, np.minimum(k, 1.0), geo))


def _per_problem(k, p, tpr, fpr):
    q_tp, q_fp, beta = _rates(p, tpr, fpr)
    e = expected_attempts(k, p, tpr, fpr)
    if np.ndim(k):
        q_tp, q_fp, beta = (np.asarray(v)[..., None] for v in (q_tp, q_fp, beta))
    # a rate of 0 times infinitely many attempts (beta = 1, k = inf) contributes 0, not nan
    with np.errstate(invalid="ignore"):
        acc = np.where(q_tp > 0, q_tp * e, 0.0)
        fp = np.where(q_fp > 0, q_fp * e, 0.0)
    return acc, fp, np.power(beta, np.asarray(k, dtype=np.float64)), e


def _avg(v: np.ndarray, p, weights) -> np.ndarray:
    if np.ndim(p) == 0:
        return v
    return np.average(v, axis=0, weights=weights)


def resampling_accuracy(
    k: np.ndarray | float, p, tpr: Rate, fpr: Rate, *, weights: Sequence[float] | np.ndarray | None = None
) -> np.ndarray:
    """Accuracy of resample-until-pass with budget k (closed form, Stroebl et al. 2024).

    Per problem: p·TPR · (1 − β^k)/(1 − β), with β = 1 − p·TPR − (1 − p)·FPR the chance an attempt
    is rejected (derivation in docs/methods.md). `p` is one single-sample accuracy or one per
    problem (then averaged, optionally `weights`). k may be an array (the result then has one entry
    per k) and may be ``np.inf``.
    """
    return _avg(_per_problem(k, p, tpr, fpr)[0], p, weights)


def resampling_ceiling(p, tpr: Rate, fpr: Rate, *, weights: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """Accuracy as k → ∞: p·TPR / (p·TPR + (1 − p)·FPR), averaged over problems when p is an array.

    A problem the verifier never accepts (p·TPR + (1−p)·FPR = 0) contributes 0.
    """
    q_tp, q_fp, _ = _rates(p, tpr, fpr)
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.where(q_tp + q_fp > 0, q_tp / (q_tp + q_fp), 0.0)
    return _avg(per, p, weights)


def resampling_curve(
    ks: Sequence[float] | np.ndarray, p, tpr: Rate, fpr: Rate, *, weights: Sequence[float] | np.ndarray | None = None
) -> pd.DataFrame:
    """Tidy curve over `ks`: k, accuracy, false_positive, abstain, expected_attempts, ceiling."""
    ks = np.asarray(ks, dtype=np.float64)
    acc, fp, abst, e = (_avg(v, p, weights) for v in _per_problem(ks, p, tpr, fpr))
    return pd.DataFrame(
        {
            "k": ks,
            "accuracy": acc,
            "false_positive": fp,
            "abstain": abst,
            "expected_attempts": e,
            "ceiling": float(resampling_ceiling(p, tpr, fpr, weights=weights)),
        }
    )


def expected_utility(
    k: np.ndarray | float,
    p,
    tpr: Rate,
    fpr: Rate,
    *,
    fp_cost: float,
    tp_reward: float = 1.0,
    sample_cost: float = 0.0,
    weights: Sequence[float] | np.ndarray | None = None,
) -> np.ndarray:
    """Expected utility of resample-until-pass: V·accuracy − C·false positives − cost·E[attempts].

    Abstaining is worth 0 (Stroebl et al. 2024, §4: false positives have negative utility relative
    to abstaining; ``fp_cost`` is their cost-benefit ratio C/B when ``tp_reward = 1``).
    """
    acc, fp, _, e = _per_problem(k, p, tpr, fpr)
    return _avg(tp_reward * acc - fp_cost * fp - sample_cost * e, p, weights)


def optimal_k(
    p,
    tpr: Rate,
    fpr: Rate,
    *,
    fp_cost: float,
    tp_reward: float = 1.0,
    sample_cost: float = 0.0,
    k_max: int = 10_000,
    weights: Sequence[float] | np.ndarray | None = None,
) -> tuple[int, float]:
    """(k*, utility) maximising `expected_utility` over k = 0..k_max; k = 0 (abstain) is worth 0.

    With one p and no sample cost the utility is monotone in k, so k* is 0 or k_max; with
    heterogeneous p it is typically small and finite.
    """
    ks = np.arange(0, k_max + 1)
    u = expected_utility(
        ks, p, tpr, fpr, fp_cost=fp_cost, tp_reward=tp_reward, sample_cost=sample_cost, weights=weights
    )
    best = int(np.argmax(u))  # first maximiser: the cheapest k achieving the best utility
    return int(ks[best]), float(u[best])


def resample_until_pass_at_k(correct: np.ndarray, passed: np.ndarray, ks: Sequence[int]) -> pd.DataFrame:
    """Empirical resample-until-pass from pools: exact expectation over random orderings of each pool.

    With m of n samples passing the verifier, t of them correct, the first passing sample among
    k drawn without replacement exists with probability pass@k(n, m) (Chen et al. 2021's formula)
    and is uniform over the passing ones, so accuracy(k) = pass@k(n, m) · t/m. Returns k,
    accuracy, false_positive, abstain (means over problems) and ``se`` of the accuracy.
    """
    correct, passed = np.asarray(correct, dtype=bool), np.asarray(passed, dtype=bool)
    if correct.shape != passed.shape or correct.ndim != 2:
        raise ValueError(
            f"resample_until_pass_at_k: correct {correct.shape} and passed {passed.shape} must both be [problems, n]"
        )
    n, m, t = correct.shape[1], passed.sum(axis=1), (passed & correct).sum(axis=1)
    any_pass = pass_at_k_matrix(n, m, ks)
    share = np.where(m > 0, t / np.maximum(m, 1), 0.0)[:, None]
    acc, fp = any_pass * share, any_pass * (1 - share)
    se = acc.std(axis=0, ddof=1) / np.sqrt(len(acc)) if len(acc) > 1 else np.full(acc.shape[1], np.nan)
    return pd.DataFrame(
        {
            "k": np.asarray(ks, dtype=np.int64),
            "accuracy": acc.mean(axis=0),
            "se": se,
            "false_positive": fp.mean(axis=0),
            "abstain": 1 - any_pass.mean(axis=0),
        }
    )
