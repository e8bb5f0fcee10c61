"""Difficulty levels of problems: oracle (from correctness) or model-predicted (from scores).

Snell et al. 2024 ("Scaling LLM Test-Time Compute Optimally can be More Effective than Scaling
Model Parameters", arXiv:2408.03314, §3) bin questions into 5 levels by quantiles of pass@1 over
held-out samples ("oracle difficulty"), or of a verifier's mean final-answer score over the same
samples ("model-predicted difficulty", no ground truth needed). Here a statistic per problem is
the mean over a set of sample columns (`problem_statistic`): correctness gives pass@1, a score
(self-evaluation P("Yes"), mean token logprob) gives the predicted difficulty. The levels are
fitted on one set of problems (`fit_difficulty`) and applied to any other (`DifficultyBins.level`):
level 1 is the easiest fifth of the fitting problems (highest statistic), level 5 the hardest.
`bin_agreement` compares two levellings (predicted against oracle).

>>> import numpy as np
>>> bins = fit_difficulty(np.array([0.9, 0.6, 0.3, 0.0]), n_bins=2)
>>> bins.level(np.array([1.0, 0.7, 0.2])).tolist()
[1, 1, 2]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


def problem_statistic(values: np.ndarray, columns: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Per-problem mean of `values` [problems, samples] over `columns` (all by default).

    With `values` = correctness this is pass@1 (oracle difficulty); with scores it is the mean
    score (model-predicted difficulty). Non-finite values (a sample without a score) raise.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"problem_statistic: values must be [problems, samples], got shape {v.shape}")
    v = v if columns is None else v[:, np.asarray(columns, dtype=np.int64)]
    if v.shape[1] == 0:
        raise ValueError("problem_statistic: no sample columns selected")
    if not np.all(np.isfinite(v)):
        i, j = np.argwhere(~np.isfinite(v))[0]
        raise ValueError(f"problem_statistic: value [{i}, {j}] is {v[i, j]} (no score recorded?)")
    return v.mean(axis=1)


@dataclass(frozen=True)
class DifficultyBins:
    """Quantile levels 1..n_bins of a statistic (higher = easier) fitted on `reference` problems.

    A value x gets the mid-distribution F(x) = (#{r < x} + #{r <= x}) / (2·n) of the sorted
    fitting statistic r, and level 1 + floor(n_bins·(1 − F(x))): equal-size levels on the fitting
    problems when values are distinct, and tied values (many problems at pass@1 = 0) always share
    one level, the one their mid-rank falls in. Unlike edges on values, ties cannot empty a level
    by construction; they can still make levels unequal in size.
    """

    reference: np.ndarray
    n_bins: int

    def level(self, statistic: np.ndarray) -> np.ndarray:
        """Level 1..n_bins (1 = easiest) of each value of `statistic`."""
        x = np.asarray(statistic, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError("DifficultyBins.level: statistic holds non-finite values")
        n = len(self.reference)
        s = np.searchsorted(self.reference, x, "left") + np.searchsorted(self.reference, x, "right")
        # integer arithmetic: F = s / 2n exactly, so a value on a quantile boundary is never rounded across it
        return np.clip(1 + (self.n_bins * (2 * n - s)) // (2 * n), 1, self.n_bins).astype(np.int64)


def fit_difficulty(statistic: np.ndarray, n_bins: int = 5) -> DifficultyBins:
    """Fit quantile levels (Snell et al. 2024 use 5) on the `statistic` of the fitting problems."""
    x = np.asarray(statistic, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0 or not np.all(np.isfinite(x)):
        raise ValueError("fit_difficulty: statistic must be a non-empty 1-D array of finite values")
    if n_bins < 1:
        raise ValueError(f"fit_difficulty: n_bins must be >= 1, got {n_bins}")
    ref = np.sort(x)
    ref.setflags(write=False)
    return DifficultyBins(reference=ref, n_bins=int(n_bins))


def split_columns(n_samples: int, n_probe: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random split of sample columns into (probe, pool): `n_probe` columns to predict difficulty
    from, the rest for the strategies. Samples are i.i.d. within a problem, so one split serves all."""
    if not 0 < n_probe < n_samples:
        raise ValueError(f"split_columns: need 0 < n_probe < n_samples, got {n_probe} of {n_samples}")
    perm = rng.permutation(n_samples)
    return np.sort(perm[:n_probe]), np.sort(perm[n_probe:])


@dataclass(frozen=True)
class BinAgreement:
    """How two levellings of the same problems agree: exact and within-one-level rates, the chance
    rate of exact agreement (from the margins), Cohen's kappa and the confusion matrix [a, b]."""

    exact: float
    within_one: float
    chance: float
    kappa: float
    confusion: np.ndarray


def bin_agreement(a: np.ndarray, b: np.ndarray, n_bins: int = 5) -> BinAgreement:
    """Agreement of levels `a` (e.g. predicted) with levels `b` (e.g. oracle), both in 1..n_bins."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"bin_agreement: need two equal-length 1-D level arrays, got {a.shape} and {b.shape}")
    if min(a.min(), b.min()) < 1 or max(a.max(), b.max()) > n_bins:
        raise ValueError(f"bin_agreement: levels must lie in 1..{n_bins}")
    conf = np.zeros((n_bins, n_bins), dtype=np.int64)
    np.add.at(conf, (a - 1, b - 1), 1)
    exact = float(np.mean(a == b))
    chance = float((conf.sum(axis=1) @ conf.sum(axis=0)) / len(a) ** 2)
    kappa = (exact - chance) / (1.0 - chance) if chance < 1 else float("nan")
    return BinAgreement(exact, float(np.mean(np.abs(a - b) <= 1)), chance, kappa, conf)
