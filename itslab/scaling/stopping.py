"""Adaptive stopping replayed on a pool: how many samples a stopping rule draws, and how often it is right.

A sequential strategy draws one sample at a time and stops when a statistic of the samples so far
passes a threshold. On a pool of n recorded samples per problem the rule can be replayed for
every threshold at once: shuffle each row (`n_orders` random orders, so the answer does not hang
on the recorded order), compute the statistic and the pick after each prefix, then a threshold
only decides where each row stops. That makes a threshold slider cheap. With ``shuffle=False`` each
row is replayed once, in its recorded order: the order a strategy drew its samples in, so the
strategy and its replay can be compared sample for sample.

- `majority_posterior`  Adaptive-Consistency's Beta stopping criterion (Aggarwal et al. 2023,
  arXiv:2305.11860): with v1 votes for the leading answer and v2 for the runner-up, the posterior
  probability that the leader is the more likely of the two, P(x > 1/2), x ~ Beta(v1 + 1, v2 + 1).
- `adaptive_vote`  the trace of `itslab.strategies.adaptive_self_consistency` on a pool.
- `early_stop`     the trace of `itslab.strategies.early_stop_bon` (Huang et al. 2025,
  arXiv:2503.00031): stop once a sample's confidence passes the threshold, keep the best so far.

>>> round(float(majority_posterior(4, 0)), 4)   # four agreeing votes: 1 - 2^-5
0.9688
>>> ans = np.array([["a", "a", "b", "a"]], dtype=object); ok = np.array([[True, True, False, True]])
>>> t = adaptive_vote(ans, ok, rng=np.random.default_rng(0), n_orders=1)
>>> float(t.at(float("inf")).samples[0]), float(t.at(float("inf")).correct[0])
(4.0, 1.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import betainc

from itslab.scaling.voting import encode_answers


def majority_posterior(v1: np.ndarray | float, v2: np.ndarray | float) -> np.ndarray:
    """P(p1 > p2 | votes) under a uniform prior on the two leading answers' share (the Beta criterion).

    ``P(x > 1/2)`` for ``x ~ Beta(v1 + 1, v2 + 1)``, which is ``I_{1/2}(v2 + 1, v1 + 1)``; zero
    votes give 1/2.
    """
    v1, v2 = np.asarray(v1, dtype=float), np.asarray(v2, dtype=float)
    return np.asarray(betainc(v2 + 1.0, v1 + 1.0, 0.5))


@dataclass(frozen=True)
class StoppingResult:
    """Per problem: mean number of samples drawn and mean correctness over the replayed orders."""

    samples: np.ndarray
    correct: np.ndarray

    def summary(self) -> dict[str, float]:
        """Mean samples and accuracy with their standard errors over problems."""
        n = len(self.samples)
        return {
            "samples": float(self.samples.mean()),
            "samples_se": float(self.samples.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
            "accuracy": float(self.correct.mean()),
            "accuracy_se": float(self.correct.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
        }


@dataclass(frozen=True)
class StoppingTrace:
    """A stopping rule replayed on shuffled pools: `signal` [orders, problems, n] is the statistic after
    each prefix of samples, `pick_ok` whether the answer the rule would return there is right."""

    signal: np.ndarray
    pick_ok: np.ndarray
    min_samples: int = 1

    @property
    def n(self) -> int:
        """Samples per problem in the pool (the most a rule can draw)."""
        return int(self.signal.shape[2])

    def at(self, threshold: float, max_samples: int | None = None) -> StoppingResult:
        """Stop at the first prefix (of at least `min_samples`) whose signal reaches `threshold`,
        or at `max_samples` (default: the pool size)."""
        m = self.n if max_samples is None else int(max_samples)
        if not 1 <= m <= self.n:
            raise ValueError(f"max_samples must be in 1..{self.n}, got {max_samples}")
        hit = self.signal[:, :, :m] >= threshold
        hit[:, :, : min(self.min_samples, m) - 1] = False
        stop = np.where(hit.any(axis=2), hit.argmax(axis=2), m - 1)  # index of the last sample drawn
        ok = np.take_along_axis(self.pick_ok[:, :, :m], stop[:, :, None], axis=2)[:, :, 0]
        return StoppingResult(samples=(stop + 1).mean(axis=0), correct=ok.mean(axis=0))

    def fixed(self, k: int) -> StoppingResult:
        """The rule without stopping: always `k` samples (fixed-N self-consistency / best-of-N)."""
        return self.at(float("inf"), max_samples=k)

    def curve(self, thresholds: np.ndarray | list[float], max_samples: int | None = None) -> pd.DataFrame:
        """One row per threshold: mean samples and accuracy with SEs over problems."""
        return pd.DataFrame([{"threshold": float(t), **self.at(float(t), max_samples).summary()} for t in thresholds])


def _orders(shape: tuple[int, int], rng: np.random.Generator, n_orders: int, shuffle: bool = True) -> np.ndarray:
    """[orders, P, n] column indices: each row a uniform random permutation (``shuffle=False``: one
    order, the recorded one)."""
    if n_orders < 1:
        raise ValueError(f"n_orders must be >= 1, got {n_orders}")
    if not shuffle:
        return np.broadcast_to(np.arange(shape[1]), (1, *shape))
    base = np.broadcast_to(np.arange(shape[1]), (n_orders, *shape))
    return rng.permuted(base, axis=2)


def adaptive_vote(
    answers: np.ndarray,
    correct: np.ndarray,
    *,
    rng: np.random.Generator,
    n_orders: int = 8,
    min_samples: int = 1,
    shuffle: bool = True,
) -> StoppingTrace:
    """Adaptive-Consistency on a pool of answers [P, n]: after each sample, the Beta posterior that the
    leading answer beats the runner-up, and whether the leader (ties: the first seen) is right.

    Abstentions (None) cast no vote; with no vote yet the posterior is 1/2 and the pick is wrong.
    ``shuffle=False`` replays each row once in its recorded order (`n_orders` is then ignored).
    """
    codes, class_ok = encode_answers(answers, correct)
    P, n = codes.shape
    width = max(1, max(len(c) for c in class_ok))
    ok_tab = np.zeros((P, width + 1), dtype=bool)  # last column: "no answer"
    for i, c in enumerate(class_ok):
        ok_tab[i, : len(c)] = c
    rows = np.arange(P)
    orders = _orders((P, n), rng, n_orders, shuffle)
    signal = np.empty((len(orders), P, n))
    pick_ok = np.empty((len(orders), P, n), dtype=bool)
    for o, order in enumerate(orders):
        shuffled = np.take_along_axis(codes, order, axis=1)
        counts = np.zeros((P, width + 1))
        first = np.full((P, width + 1), n + 1.0)
        for t in range(n):
            c = np.where(shuffled[:, t] >= 0, shuffled[:, t], width)
            counts[rows, c] += 1
            first[rows, c] = np.minimum(first[rows, c], t)
            votes = counts[:, :width]
            top2 = np.sort(votes, axis=1)[:, -2:] if width > 1 else np.c_[np.zeros(P), votes[:, -1]]
            signal[o, :, t] = majority_posterior(top2[:, 1], top2[:, 0])
            key = votes * (n + 2) - first[:, :width]  # most votes, then earliest first seen
            leader = key.argmax(axis=1)
            pick_ok[o, :, t] = ok_tab[rows, leader] & (votes[rows, leader] > 0)
    return StoppingTrace(signal=signal, pick_ok=pick_ok, min_samples=min_samples)


def early_stop(
    scores: np.ndarray, correct: np.ndarray, *, rng: np.random.Generator, n_orders: int = 8, shuffle: bool = True
) -> StoppingTrace:
    """Early-stopping best-of-N on a pool: the running maximum of the confidence `scores` [P, n]
    after each sample, and whether the best-scored sample so far (ties: the first) is right.
    ``shuffle=False`` replays each row once in its recorded order (`n_orders` is then ignored)."""
    scores, correct = np.asarray(scores, dtype=float), np.asarray(correct, dtype=bool)
    if scores.shape != correct.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and correct {correct.shape} must both be [problems, n]")
    P, n = scores.shape
    orders = _orders((P, n), rng, n_orders, shuffle)
    signal = np.empty((len(orders), P, n))
    pick_ok = np.empty((len(orders), P, n), dtype=bool)
    for o, order in enumerate(orders):
        s, c = np.take_along_axis(scores, order, axis=1), np.take_along_axis(correct, order, axis=1)
        signal[o] = np.maximum.accumulate(s, axis=1)
        # index of the first maximum so far: where s equals the running max for the first time
        is_new = np.c_[np.ones((P, 1), bool), s[:, 1:] > signal[o][:, :-1]]
        best = np.maximum.accumulate(np.where(is_new, np.arange(n), 0), axis=1)
        pick_ok[o] = np.take_along_axis(c, best, axis=1)
    return StoppingTrace(signal=signal, pick_ok=pick_ok)
