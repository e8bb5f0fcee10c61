"""Best-of-N under the binormal verifier model with shared errors, from cached draws.

`NoisyVerifier.errors` gives each sample three unit-normal draws (its own, its answer's, its
problem's); `itslab.verifiers.noisy.binormal_scores` turns them into the verifier's scores for any
ROC AUC and error correlation ρ. Recombining cached draws and taking the exact best-of-k over
subsets of the pool costs milliseconds, so a slider can recompute the curve, and a bisection can
set the AUC that reaches a paper's number (Lightman et al. 2023, "Let's Verify Step by Step",
arXiv:2305.20050). `peak_and_drop` measures reward over-optimisation: best-of-N falling past its
peak (Cobbe et al. 2021, arXiv:2110.14168, figure 7a; Gao, Schulman & Hilton 2022, "Scaling Laws
for Reward Model Overoptimization", arXiv:2210.10760).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from itslab.scaling.estimators import best_of_k_matrix
from itslab.scaling.intervals import curve_frame


def bon_matrix(
    correct: np.ndarray,
    errors: np.ndarray,
    ks: Sequence[int],
    *,
    auc: float,
    error_correlation: float = 0.0,
    problem_correlation: float = 0.0,
) -> np.ndarray:
    """Per-problem exact best-of-k [problems, len(ks)] of the binormal verifier (Lightman et al. 2023 setting).

    `correct` [P, n] flags and `errors` [P, n, 3] the draws of `NoisyVerifier.errors`; equals
    ``best_of_k_matrix(score_pool(pool, problems, NoisyVerifier(auc=auc, error_correlation=ρ)), ...)``.
    """
    from itslab.verifiers.noisy import binormal_scores

    scores = binormal_scores(
        correct, errors, auc=auc, error_correlation=error_correlation, problem_correlation=problem_correlation
    )
    return best_of_k_matrix(scores, correct, ks)


def bon_curve(
    correct: np.ndarray,
    errors: np.ndarray,
    ks: Sequence[int],
    *,
    auc: float,
    error_correlation: float = 0.0,
    problem_correlation: float = 0.0,
) -> pd.DataFrame:
    """`bon_matrix` as a tidy curve (metric "bon@k", mean ± SE over problems; Cobbe et al. 2021 best-of-N)."""
    m = bon_matrix(
        correct, errors, ks, auc=auc, error_correlation=error_correlation, problem_correlation=problem_correlation
    )
    return curve_frame(m, np.asarray(ks, dtype=np.int64), "bon@k")


def auc_for_best_of_n(
    target: float,
    correct: np.ndarray,
    errors: np.ndarray,
    k: int,
    *,
    error_correlation: float = 0.0,
    problem_correlation: float = 0.0,
    tol: float = 1e-5,
) -> float:
    """The verifier AUC at which mean best-of-`k` on this pool equals `target` (bisection).

    Best-of-k is non-decreasing in the AUC for fixed draws: a larger separation moves every right
    sample up and every wrong one down. Raises ValueError when `target` lies outside what AUCs in
    (0.5, 1) reach. Used to calibrate a simulated ORM to Lightman et al. 2023, figure 3.
    """

    def mean_bon(auc: float) -> float:
        m = bon_matrix(
            correct, errors, [k], auc=auc, error_correlation=error_correlation, problem_correlation=problem_correlation
        )
        return float(m.mean())

    lo, hi = 0.5 + 1e-6, 1.0 - 1e-6
    f_lo, f_hi = mean_bon(lo), mean_bon(hi)
    if not f_lo <= target <= f_hi:
        raise ValueError(
            f"auc_for_best_of_n: best-of-{k} spans [{f_lo:.4f}, {f_hi:.4f}] over AUC in (0.5, 1) "
            f"with error_correlation={error_correlation}; target {target} is outside"
        )
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if mean_bon(mid) < target else (lo, mid)
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class BoNPeak:
    """Where a best-of-N curve peaks and how far it falls by the largest N (paired SE over problems)."""

    k_peak: int
    peak: float
    k_last: int
    last: float
    drop: float
    se: float


def peak_and_drop(matrix: np.ndarray, ks: Sequence[int]) -> BoNPeak:
    """Peak of the mean best-of-k curve and its drop to the largest k, with the paired SE of the drop.

    `matrix` [problems, len(ks)] holds per-problem best-of-k (`bon_matrix`, `best_of_k_matrix`). A
    drop larger than its SE is reward over-optimisation (Gao et al. 2022; Cobbe et al. 2021, fig. 7a).
    The peak is the curve's maximum, so a drop near 0 is biased up by a fraction of an SE.
    """
    m = np.asarray(matrix, dtype=float)
    ks = [int(k) for k in ks]
    if m.ndim != 2 or m.shape[1] != len(ks) or len(m) < 2:
        raise ValueError(f"peak_and_drop: need [problems >= 2, len(ks)={len(ks)}] values, got shape {m.shape}")
    mean = m.mean(axis=0)
    j = int(np.argmax(mean))
    diff = m[:, j] - m[:, -1]
    se = float(diff.std(ddof=1) / np.sqrt(len(diff)))
    return BoNPeak(ks[j], float(mean[j]), ks[-1], float(mean[-1]), float(diff.mean()), se)
