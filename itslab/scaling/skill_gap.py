"""Coverage of a stronger model on the same Beta-difficulty problems, and the break-even skill gap.

If problem i has single-sample success probability p_i ~ Beta(a, b) for a base model, a model
δ logits stronger solves it with σ(logit p_i + δ) (`itslab.pools.shift_skill`: both models agree
on which problems are hard, as models of one family do; Brown et al. 2024, Fig. 2). Its expected
coverage with k samples is

    pass@k(δ) = E[1 − (1 − σ(z + δ))^k],   z = logit p,  density σ(z)^a σ(−z)^b / B(a, b),

one smooth integral over z (`shifted_pass_at_k`; at δ = 0 it is 1 − B(a, b + k)/B(a, b)). Many
samples of the base model beat one sample of the stronger one at equal cost while the gap is below
the break-even gap δ* where they are equal (`break_even_gap`), the repeated-sampling trade of
Brown et al. 2024 ("Large Language Monkeys", arXiv:2407.21787), seen as a function of the gap.

>>> round(float(shifted_pass_at_k(1, 1.0, 1.0, 0.0)[0]), 6)  # Beta(1, 1): mean p = 1/2
0.5
>>> round(break_even_gap(1.0, 1.0, 7), 2)  # 7 samples of a model vs 1 of one 2.8 logits stronger
2.84
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad_vec
from scipy.optimize import brentq
from scipy.special import betaln, log_expit


def shifted_pass_at_k(k: np.ndarray | float, a: float, b: float, delta: float) -> np.ndarray:
    """Expected pass@k, for each `k`, of a model `delta` logits stronger on problems with p ~ Beta(a, b)."""
    if not (a > 0 and b > 0):
        raise ValueError(f"shifted_pass_at_k: Beta shapes must be > 0, got a={a}, b={b}")
    ks = np.atleast_1d(np.asarray(k, dtype=float))
    if np.any(ks < 0) or not np.all(np.isfinite(ks)) or not np.isfinite(delta):
        raise ValueError(f"shifted_pass_at_k: need finite k >= 0 and a finite delta, got k={ks}, delta={delta}")
    log_norm = betaln(a, b)

    def integrand(z: float) -> np.ndarray:
        density = np.exp(a * log_expit(z) + b * log_expit(-z) - log_norm)
        return -np.expm1(ks * log_expit(-(z + delta))) * density  # 1 − (1 − σ(z + δ))^k, stably

    value, _ = quad_vec(integrand, -np.inf, np.inf, epsabs=1e-10, epsrel=1e-8)
    return np.clip(np.asarray(value, dtype=float), 0.0, 1.0)


def break_even_gap(a: float, b: float, k: float, *, k_strong: float = 1.0, bracket: float = 60.0) -> float:
    """The gap δ* at which `k_strong` samples of a δ*-stronger model cover as much as `k` base samples.

    Below δ* the k base samples cover more (the cheap model wins at that cost ratio), above it
    the stronger model does. Negative when k < k_strong.
    """
    target = float(shifted_pass_at_k(k, a, b, 0.0)[0])

    def excess(delta: float) -> float:
        return float(shifted_pass_at_k(k_strong, a, b, delta)[0]) - target

    lo, hi = excess(-bracket), excess(bracket)
    if not lo < 0 < hi:
        raise ValueError(f"break_even_gap: no crossing within ±{bracket} logits (k={k}, k_strong={k_strong})")
    return float(brentq(excess, -bracket, bracket, xtol=1e-8))
