"""Batched, per-sample seeded token sampling in numpy, for backends that hand back raw logits.

The transformers engine's scheme without torch (architecture.md, "Backends"): token t of sample j
is an `itslab.rng.inverse_cdf` draw with the t-th of ``itslab.rng.sample_uniforms(seed, j)``
after temperature, top-k and top-p; logprobs are of the raw logits.

>>> z = np.log(np.array([[0.5, 0.3, 0.2]], dtype=np.float32))
>>> tok, lp = sample_rows(z, [RowSampling(1.0, 1.0, 0)], np.array([0.6]))
>>> int(tok[0]), round(float(lp[0]), 4)   # the CDF is (0.5, 0.8, 1.0): u = 0.6 lands on token 1
(1, -1.204)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from itslab.rng import inverse_cdf, sample_uniforms

# sample_uniforms now lives in itslab.rng; it stays importable from here for one release
__all__ = ["RowSampling", "sample_rows", "sample_uniforms"]


@dataclass(frozen=True)
class RowSampling:
    """Sampling settings of one row: temperature (0 = greedy), top-p, top-k (0 = off)."""

    temperature: float
    top_p: float
    top_k: int

    @property
    def filtered(self) -> bool:
        """Whether top-k or top-p removes any token."""
        return self.top_k > 0 or self.top_p < 1.0


def _log_softmax_at(logits: np.ndarray, tok: np.ndarray) -> np.ndarray:
    """Raw log-probability of ``tok[b]`` under ``logits[b]`` (log-sum-exp in float64)."""
    z = logits.astype(np.float64, copy=False)
    m = z.max(axis=1)
    lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
    return z[np.arange(len(tok)), tok] - lse


def _kept(z: np.ndarray, s: RowSampling) -> np.ndarray:
    """Indices of the tokens that survive top-k then top-p, most likely first.

    Only the head of the distribution is sorted: `argpartition` finds the k largest logits and
    the nucleus is grown by doubling until it holds `top_p` of the mass (a full 50k-way sort
    per row per step would dominate the decode time of a small model).
    """
    v = z.shape[0]
    k_cap = min(s.top_k, v) if s.top_k > 0 else v

    def head_of(k: int) -> np.ndarray:
        h = np.argpartition(-z, k - 1)[:k] if k < v else np.arange(v)
        return h[np.argsort(-z[h], kind="stable")]

    if s.top_p >= 1.0:
        return head_of(k_cap)
    # the nucleus is measured on the distribution left after top-k
    zz = z if k_cap >= v else z[np.argpartition(-z, k_cap - 1)[:k_cap]]
    mx = float(zz.max())
    total = float(np.exp(zz - mx).sum())
    k = min(k_cap, 64)
    while True:
        head = head_of(k)
        p = np.exp(z[head] - mx) / total
        before = np.cumsum(p) - p  # mass strictly above each token
        cut = int(np.searchsorted(before >= s.top_p, True))
        if cut < len(head) or k >= k_cap:
            return head[: max(cut, 1)]
        k = min(2 * k, k_cap)


def sample_rows(
    logits: np.ndarray, params: Sequence[RowSampling], uniforms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one token per row of ``logits`` [B, V]; `uniforms` [B] are each row's next uniform.

    Returns ``(tokens [B] int64, raw logprobs [B] float64)``.
    """
    b = logits.shape[0]
    tok = np.argmax(logits, axis=1).astype(np.int64)  # greedy rows (temperature 0) keep this
    lp = np.full(b, np.nan)
    u = np.asarray(uniforms, dtype=np.float64)
    plain = [r for r in range(b) if params[r].temperature > 0 and not params[r].filtered]
    if plain:  # the common case, vectorised over rows; exponentials in float32, sums in float64
        t = np.array([params[r].temperature for r in plain], dtype=np.float32)
        x = logits[plain]
        x = x - x.max(axis=1, keepdims=True)
        e_raw = np.exp(x)
        e = e_raw if bool((t == 1).all()) else np.exp(x / t[:, None])
        cdf = np.cumsum(e, axis=1, dtype=np.float64)
        lse = np.log(e_raw.sum(axis=1, dtype=np.float64))  # raw log-normaliser, relative to the row max
        for i, r in enumerate(plain):
            tok[r] = inverse_cdf(cdf[i], u[r])
            lp[r] = float(x[i, tok[r]]) - lse[i]
    for r in range(b):
        s = params[r]
        if s.temperature > 0 and s.filtered:
            z = logits[r].astype(np.float64) / s.temperature
            idx = _kept(z, s)
            zk = z[idx]
            cdf = np.cumsum(np.exp(zk - zk.max()))
            tok[r] = idx[inverse_cdf(cdf, u[r])]
    rest = np.flatnonzero(np.isnan(lp))
    if len(rest):
        lp[rest] = _log_softmax_at(logits[rest], tok[rest])
    return tok, lp
