"""A softmax policy over candidate answers: the trainable toy behind notebook 16.

Each problem i has K candidate answers k with a frozen *base* logit ``b[i, k]`` (the pre-trained
model), a feature vector ``f[i, k]`` in R^d, a correctness flag and a verifier score. The policy
is ``pi[i] = softmax(b[i] + f[i] @ w)``: fine-tuning moves only the shared weights ``w``, so what
training on some problems does to the others is what the features carry (a generalisable cue
and, with d large, capacity to memorise). Padded candidates have ``b = -inf`` (probability 0).

Under this policy pass@N and best-of-N are closed forms of ``pi`` (Chen et al. 2025,
arXiv:2502.07154; Chow et al. 2024, arXiv:2412.15287): with p = the mass on correct answers,
pass@N = 1 - (1 - p)^N; best-of-N with candidates sorted by verifier score,
BoN@N = sum_j r_j (G_j^N - G_{j-1}^N), G_j the mass of candidates scoring at most the j-th.

>>> task = AnswerTask(np.log([[0.5, 0.25, 0.25]]), np.zeros((1, 3, 1)), np.array([[True, False, False]]))
>>> float(pass_at_n(task, np.zeros(1), [2])[0, 0])
0.75
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np


@dataclass(frozen=True, eq=False)
class AnswerTask:
    """Problems with K candidate answers each: base logits, features, correctness, verifier scores.

    Arrays: ``base_logits`` [P, K] (``-inf`` pads a missing candidate), ``features`` [P, K, d],
    ``correct`` [P, K] bool (at least one correct, non-padded candidate per problem),
    ``scores`` [P, K] verifier scores (higher is better; default: correctness, an oracle).
    """

    base_logits: np.ndarray
    features: np.ndarray
    correct: np.ndarray
    scores: np.ndarray = None  # type: ignore[assignment]  # None: an oracle, set in __post_init__
    order: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        b, f, c = np.asarray(self.base_logits, float), np.asarray(self.features, float), np.asarray(self.correct)
        if b.ndim != 2 or f.ndim != 3 or f.shape[:2] != b.shape or c.shape != b.shape:
            raise ValueError(
                "AnswerTask: base_logits [P, K], features [P, K, d], correct [P, K]; "
                f"got {b.shape}, {f.shape}, {c.shape}"
            )
        if c.dtype != bool:
            raise ValueError(f"AnswerTask: correct must be boolean, got {c.dtype}")
        if np.isnan(b).any() or np.isposinf(b).any() or not np.isfinite(f).all():
            raise ValueError("AnswerTask: base_logits must be finite or -inf, features finite")
        live = np.isfinite(b)
        bad = ~(c & live).any(axis=1)
        if bad.any():
            raise ValueError(f"AnswerTask: problem {int(np.flatnonzero(bad)[0])} has no correct candidate")
        s = c.astype(float) if self.scores is None else np.asarray(self.scores, float)
        if s.shape != b.shape or not np.isfinite(s[live]).all():
            raise ValueError(f"AnswerTask: scores must be finite [P, K] = {b.shape}, got {s.shape}")
        s = np.where(live, s, -np.inf)  # a padded candidate is never selected
        for name, a in (("base_logits", b), ("features", f), ("correct", c), ("scores", s)):
            a = a.copy()
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        # candidates in increasing verifier score, ties broken by index: fixed, so computed once
        order = np.argsort(s, axis=1, kind="stable")
        order.setflags(write=False)
        object.__setattr__(self, "order", order)

    @property
    def n_problems(self) -> int:
        return int(self.base_logits.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.features.shape[2])

    def subset(self, rows: np.ndarray | Sequence[int]) -> "AnswerTask":
        """The task restricted to problems `rows` (e.g. a train or test split)."""
        rows = np.asarray(rows)
        return AnswerTask(self.base_logits[rows], self.features[rows], self.correct[rows], self.scores[rows])


def logits(task: AnswerTask, w: np.ndarray) -> np.ndarray:
    """The policy's logits ``b + f @ w``, [P, K]."""
    w = np.asarray(w, float)
    if w.shape != (task.n_features,):
        raise ValueError(f"logits: w must have shape ({task.n_features},), got {w.shape}")
    # einsum, not BLAS: on a shared 2-core machine a threaded BLAS matvec was 15x slower
    return task.base_logits + np.einsum("pkd,d->pk", task.features, w)


def log_probs(task: AnswerTask, w: np.ndarray) -> np.ndarray:
    """log pi [P, K] (``-inf`` on padded candidates)."""
    z = logits(task, w)
    z = z - z.max(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def log_p_correct(task: AnswerTask, logpi: np.ndarray) -> np.ndarray:
    """log of the mass on correct candidates per problem, from log pi (stable when it is tiny)."""
    masked = np.where(task.correct, logpi, -np.inf)
    top = masked.max(axis=1)
    with np.errstate(divide="ignore"):
        return top + np.log(np.exp(masked - top[:, None]).sum(axis=1))


def pass_at_n(task: AnswerTask, w: np.ndarray, ns: Sequence[int]) -> np.ndarray:
    """Exact per-problem pass@N = 1 - (1 - p)^N for each N in `ns`, [P, len(ns)] (Chen et al. 2025)."""
    p = np.exp(log_p_correct(task, log_probs(task, w)))
    ns_arr = _check_ns(ns)
    with np.errstate(divide="ignore"):
        return -np.expm1(ns_arr[None, :] * np.log1p(-np.minimum(p, 1.0))[:, None])


def best_of_n(task: AnswerTask, w: np.ndarray, ns: Sequence[int]) -> np.ndarray:
    """Exact per-problem best-of-N accuracy by the task's verifier, [P, len(ns)] (Chow et al. 2024).

    The selected sample is the highest-scoring of N i.i.d. draws; ties between distinct candidates
    with equal scores are broken by candidate index (the later wins).
    """
    pi = np.exp(log_probs(task, w))
    ps = np.take_along_axis(pi, task.order, axis=1)
    r = np.take_along_axis(task.correct.astype(float), task.order, axis=1)
    G = np.minimum(np.cumsum(ps, axis=1), 1.0)
    G_prev = np.concatenate([np.zeros((len(G), 1)), G[:, :-1]], axis=1)
    out = [(r * (G**n - G_prev**n)).sum(axis=1) for n in _check_ns(ns)]
    return np.stack(out, axis=1)


def sample_answers(task: AnswerTask, w: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` i.i.d. candidate indices per problem from the policy, [P, n] (inverse-CDF draws)."""
    return sample_from(log_probs(task, w), n, rng)


def sample_from(logpi: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` i.i.d. indices per row of the distribution ``exp(logpi)`` [P, K], as [P, n]."""
    if n < 1:
        raise ValueError(f"sample_answers: n must be >= 1, got {n}")
    P, K = logpi.shape
    pi = np.exp(logpi)
    cdf = np.cumsum(pi, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random((P, n))
    # one searchsorted over all rows: shift row i's cdf and uniforms by i (a candidate below about
    # 1e-12 * P in probability is lost to rounding: it would never be drawn anyway)
    shift = np.arange(P, dtype=float)[:, None]
    idx = np.searchsorted((cdf + shift).ravel(), (u + shift).ravel(), side="right").reshape(u.shape)
    last = K - 1 - np.argmax(pi[:, ::-1] > 0, axis=1)  # a u rounded up to 1 takes the last live candidate
    return np.minimum(idx - (np.arange(P) * K)[:, None], last[:, None])


def _check_ns(ns: Sequence[int]) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(ns))
    if arr.size == 0 or not np.issubdtype(arr.dtype, np.integer) or arr.min() < 1:
        raise ValueError(f"ns must be positive integers, got {ns!r}")
    return arr.astype(float)
