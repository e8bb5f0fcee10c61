"""Does more reasoning help? Accuracy of a problem's longer samples against its shorter ones.

Balachandran et al. 2025 ("Inference-Time Scaling for Complex Tasks", arXiv:2504.00294) find that
"simply using more tokens does not necessarily translate to higher accuracy"; Liu et al. 2024
("Mind Your Step (by Step)", arXiv:2410.21333) find tasks where reasoning lowers accuracy
outright. From a pool of samples the question can be asked within each problem, so difficulty
cannot explain it away: split a problem's samples at its median length and compare how often the
longer and the shorter half are right. ``effect`` = mean over problems of (accuracy of samples
longer than the median − of those shorter), with its SE over problems; problems whose samples
all have one length, or that are always or never right, carry no information and are left out.
It is an association: a sample may run long because it went wrong.

>>> import numpy as np
>>> ok = np.array([[1, 1, 0, 0], [1, 0, 1, 0]], bool); toks = np.array([[10, 20, 30, 40], [10, 20, 30, 40]])
>>> e = length_effect(ok, toks)
>>> e.effect, e.n_problems
(-0.5, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LengthEffect:
    """Longer-minus-shorter accuracy within problems: mean, SE over problems, how many problems
    counted, and the per-problem differences (NaN for a problem left out)."""

    effect: float
    se: float
    n_problems: int
    per_problem: np.ndarray


def length_effect(correct: np.ndarray, tokens: np.ndarray) -> LengthEffect:
    """Within-problem accuracy of samples longer than the problem's median length minus shorter ones.

    `correct` (bool) and `tokens` (generated tokens) are [problems, n]; samples exactly at the
    median are in neither half. Problems with no variation in correctness or length are left out.
    """
    ok = np.asarray(correct)
    t = np.asarray(tokens, dtype=np.float64)
    if ok.shape != t.shape or ok.ndim != 2:
        raise ValueError(f"length_effect: correct {ok.shape} and tokens {t.shape} must both be [problems, n]")
    if not np.all(np.isfinite(t)):
        raise ValueError("length_effect: tokens hold non-finite values")
    ok = ok.astype(np.float64)
    med = np.median(t, axis=1, keepdims=True)
    long, short = t > med, t < med
    diff = np.full(len(ok), np.nan)
    use = long.any(axis=1) & short.any(axis=1) & (ok.min(axis=1) < ok.max(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        a = (ok * long).sum(axis=1) / long.sum(axis=1)
        b = (ok * short).sum(axis=1) / short.sum(axis=1)
    diff[use] = (a - b)[use]
    d = diff[use]
    if len(d) == 0:
        return LengthEffect(float("nan"), float("nan"), 0, diff)
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return LengthEffect(float(d.mean()), se, len(d), diff)
