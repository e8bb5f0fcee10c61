"""Resampling schemes for particle methods, registered by name, and the effective sample size.

Each scheme maps normalised weights w (length N) and an rng to N ancestor indices whose
offspring counts have expectation N·w_i (unbiasedness). Multinomial draws N i.i.d. indices;
stratified and systematic invert the CDF at one uniform per stratum / one shared uniform;
residual keeps floor(N·w_i) copies and draws the remainder multinomially. The last three have
lower variance than multinomial (Douc, Cappé & Moulines 2005, "Comparison of Resampling
Schemes for Particle Filtering"; names as in Chopin & Papaspiliopoulos 2020 / `particles`).

>>> import numpy as np
>>> systematic(np.array([0.5, 0.25, 0.25]), np.random.default_rng(0)).tolist()
[0, 1, 2]
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Scheme = Callable[[np.ndarray, np.random.Generator, "int | None"], np.ndarray]


def _check(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty 1-d array, got shape {w.shape}")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be finite and non-negative, got {w}")
    s = w.sum()
    if s <= 0:
        raise ValueError("weights sum to zero")
    return w / s


def ess(w: np.ndarray) -> float:
    """Effective sample size 1 / Σ w_i² of normalised weights (Kong, Liu & Wong 1994)."""
    w = _check(w)
    return float(1.0 / np.sum(w * w))


def _invert_cdf(w: np.ndarray, u: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(w)
    cdf[-1] = 1.0  # guard against rounding so every u < 1 lands inside
    return np.searchsorted(cdf, u, side="right")


def multinomial(w: np.ndarray, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """N i.i.d. draws from Categorical(w) (sorted, so ancestors are grouped)."""
    w = _check(w)
    n = w.size if n is None else n
    return np.sort(_invert_cdf(w, rng.random(n)))


def stratified(w: np.ndarray, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """One uniform per stratum [(i + U_i)/N]; lower variance than multinomial."""
    w = _check(w)
    n = w.size if n is None else n
    return _invert_cdf(w, (np.arange(n) + rng.random(n)) / n)


def systematic(w: np.ndarray, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """One shared uniform, points (i + U)/N; the usual low-variance default."""
    w = _check(w)
    n = w.size if n is None else n
    return _invert_cdf(w, (np.arange(n) + rng.random()) / n)


def residual(w: np.ndarray, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """floor(N·w_i) deterministic copies, the remaining R draws multinomial on the residual weights."""
    w = _check(w)
    n = w.size if n is None else n
    nw = n * w
    counts = np.floor(nw).astype(int)
    r = n - counts.sum()
    out = np.repeat(np.arange(w.size), counts)
    if r > 0:
        extra = multinomial(nw - counts, rng, r)
        out = np.sort(np.concatenate([out, extra]))
    return out


SCHEMES: dict[str, Scheme] = {
    "multinomial": multinomial,
    "stratified": stratified,
    "systematic": systematic,
    "residual": residual,
}


def resample(w: np.ndarray, rng: np.random.Generator, scheme: str = "systematic", n: int | None = None) -> np.ndarray:
    """Ancestor indices by the named scheme (``multinomial``, ``stratified``, ``systematic``, ``residual``)."""
    try:
        fn = SCHEMES[scheme]
    except KeyError:
        raise ValueError(f"unknown resampling scheme {scheme!r}; valid: {sorted(SCHEMES)}") from None
    return fn(w, rng, n)
