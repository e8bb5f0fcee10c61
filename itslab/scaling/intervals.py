"""Bootstrap over problems, and the tidy curve frame every estimator returns.

Uncertainty in a benchmark score is dominated by which problems were drawn, so confidence
intervals resample problems with replacement (Efron & Tibshirani 1993, the percentile bootstrap)
— not samples within a problem. A replicate's mean is ``counts @ values / P`` with multinomial
counts, so 1,000 replicates of a 10^4-problem curve are one matrix product.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> means = bootstrap_means(np.ones((5, 2)), rng, n_boot=3)
>>> means.shape, float(means.max())
((3, 2), 1.0)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def bootstrap_counts(
    n_problems: int, rng: np.random.Generator, n_boot: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Resampling counts [n_boot, rows]: how often each row is redrawn when problems are resampled.

    Without `weights` every row is one problem; with integer `weights` a row stands for that many
    identical problems, and resampling the `n_problems` = sum(weights) problems with replacement
    redraws rows Multinomial(n_problems, weights / n_problems) — the same law, far cheaper.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator (see itslab.rng.as_rng), got {type(rng).__name__}")
    if n_problems < 1 or n_boot < 1:
        raise ValueError(f"bootstrap needs n_problems >= 1 and n_boot >= 1, got {n_problems}, {n_boot}")
    pvals = np.full(n_problems, 1.0 / n_problems) if weights is None else np.asarray(weights) / n_problems
    return rng.multinomial(n_problems, pvals, size=n_boot)


def bootstrap_means(
    values: np.ndarray, rng: np.random.Generator, n_boot: int = 1000, *, weights: np.ndarray | None = None
) -> np.ndarray:
    """Means over problems of `n_boot` bootstrap resamples of `values` [rows, ...] → [n_boot, ...].

    `weights` are row multiplicities (see `bootstrap_counts`); identical rows are merged first,
    so 10^4 problems with a few hundred distinct rows resample as fast as a few hundred.
    """
    values = np.asarray(values, dtype=np.float64)
    mult = np.ones(len(values), dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    if mult.shape != (len(values),) or np.any(mult < 0):
        raise ValueError(f"bootstrap_means: weights must be {len(values)} non-negative integers")
    flat = values.reshape(len(values), -1)
    uniq, inverse = np.unique(flat, axis=0, return_inverse=True)
    merged = np.bincount(inverse.ravel(), weights=mult, minlength=len(uniq)).astype(np.int64)
    total = int(merged.sum())
    counts = bootstrap_counts(total, rng, n_boot, weights=merged)
    return (counts @ uniq / total).reshape((n_boot,) + values.shape[1:])


def wilson_interval(p: np.ndarray | float, n: np.ndarray | int, z: float = 1.959964) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a proportion `p` observed on `n` items (Wilson 1927).

    Unlike p ± z·SE it stays inside [0, 1] and is not empty at p = 0 or 1: 0 of 5 correct gives
    [0, 0.43], not "0 ± 0". With per-problem seed means, `p` is the mean and `n` the problems.
    """
    p, n = np.asarray(p, dtype=np.float64), np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def percentile_ci(replicates: np.ndarray, ci: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval (lower, upper) along axis 0 of bootstrap replicates."""
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    alpha = (1 - ci) / 2
    lo, hi = np.nanquantile(replicates, [alpha, 1 - alpha], axis=0)
    return lo, hi


def curve_frame(
    values: np.ndarray,
    ks: Sequence[int] | np.ndarray,
    metric: str,
    *,
    mc_var: np.ndarray | None = None,
    method: str | np.ndarray = "exact",
    weights: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    n_boot: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Tidy curve from per-problem estimates `values` [rows, len(ks)] (rows weighted by `weights`).

    Columns: ``k``, ``metric``, ``value`` (mean over problems), ``se`` (sample standard deviation
    across problems / sqrt(P); NaN for one problem), ``n_problems``, ``method``; ``mc_se`` when
    Monte Carlo variances `mc_var` of the per-problem estimates are given (the extra error of the
    mean from the simulation, sqrt(sum var) / P); ``ci_low``/``ci_high`` when ``n_boot > 0``.
    """
    values = np.asarray(values, dtype=np.float64)
    ks = np.asarray(ks)
    if values.ndim != 2 or values.shape[1] != len(ks):
        raise ValueError(f"curve_frame: values shape {values.shape} does not match {len(ks)} ks")
    w = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=np.float64)
    p = int(w.sum())
    mean = w @ values / p if p else np.full(len(ks), np.nan)
    se = np.sqrt(w @ (values - mean) ** 2 / (p - 1) / p) if p > 1 else np.full(len(ks), np.nan)
    frame = pd.DataFrame(
        {"k": ks.astype(np.int64), "metric": metric, "value": mean, "se": se, "n_problems": p, "method": method}
    )
    if mc_var is not None:
        frame["mc_se"] = np.sqrt(w @ np.asarray(mc_var)) / max(p, 1)
    if n_boot > 0:
        if rng is None:
            raise ValueError("curve_frame: n_boot > 0 needs an explicit rng (numpy Generator)")
        reps = bootstrap_means(values, rng, n_boot, weights=None if weights is None else np.asarray(weights))
        frame["ci_low"], frame["ci_high"] = percentile_ci(reps, ci)
    return frame
