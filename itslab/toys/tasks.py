"""Answer tasks for the toy: a synthetic population, or one initialised from a real sample bank.

Features (both kinds): coordinate 0 is the base logit itself, so its weight w_0 scales the base
model's logits by 1 + w_0: the policy's *confidence* (an inverse temperature), which every loss
can move; coordinate 1 is a *cue*, ``signal * correct + cue_noise * N(0, 1)``, what training can
learn that carries over to new problems; the other d - 2 coordinates are pure noise of total
variance ``memory**2``, capacity to memorise the training problems that carries over to new
problems only as noise in their logits. The verifier scores a candidate
``separation * correct + N(0, 1)`` (a binormal verifier of AUC Phi(separation / sqrt 2)).

`synthetic_task`: random base logits, the correct candidate drawn from the base model's own
distribution (a calibrated base model). `task_from_bank`: the base model is a recorded
bank's measured answer distribution (``itslab.banks``): one candidate per distinct answer with
its add-`smoothing` frequency as probability, plus the right answer with count 0 where no sample
found it; features and verifier are synthetic as above.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from itslab.toys.policy import AnswerTask


def _features(
    base: np.ndarray,
    correct: np.ndarray,
    n_features: int,
    signal: float,
    cue_noise: float,
    memory: float,
    rng: np.random.Generator,
) -> np.ndarray:
    if n_features < 2:
        raise ValueError(f"the toy needs n_features >= 2 (confidence and cue), got {n_features}")
    P, K = correct.shape
    f = np.zeros((P, K, n_features))
    f[:, :, 0] = np.where(np.isfinite(base), base, 0.0)  # z = (1 + w_0) b: w_0 sets the confidence
    f[:, :, 1] = signal * correct + cue_noise * rng.standard_normal((P, K))
    if n_features > 2:
        f[:, :, 2:] = rng.standard_normal((P, K, n_features - 2)) * (memory / np.sqrt(n_features - 2))
    return f


def _check(name: str, v: float, low: float = 0.0) -> float:
    if not np.isfinite(v) or v < low:
        raise ValueError(f"{name} must be a finite number >= {low}, got {v!r}")
    return float(v)


def synthetic_task(
    n_problems: int,
    rng: np.random.Generator,
    *,
    n_candidates: int = 64,
    n_features: int = 128,
    spread: float = 1.0,
    tau: float = 0.5,
    signal: float = 1.0,
    cue_noise: float = 1.0,
    memory: float = 1.0,
    separation: float = 1.0,
) -> AnswerTask:
    """`n_problems` problems whose correct answer is drawn from the base model's own distribution.

    Problem i's base logits are ``spread * exp(tau * xi_i) * N(0, 1)`` over `n_candidates`
    (``xi_i`` ~ N(0, 1): problems differ in how peaked the model is), and its correct candidate is
    a draw from ``softmax(base_i)``: the base model is calibrated, as a model pre-trained by
    cross-entropy on this population would be, so any confidence fine-tuning adds is its own.
    """
    if n_problems < 1 or n_candidates < 2:
        raise ValueError(
            f"synthetic_task: need n_problems >= 1 and n_candidates >= 2, got {n_problems}, {n_candidates}"
        )
    for name, v in (("spread", spread), ("tau", tau), ("signal", signal), ("cue_noise", cue_noise), ("memory", memory)):
        _check(f"synthetic_task: {name}", v)
    _check("synthetic_task: separation", separation)
    P, K = n_problems, n_candidates
    # draws in a fixed order, so the same rng gives the same problems whatever the parameters
    eta, xi, u = rng.standard_normal((P, K)), rng.standard_normal(P), rng.random(P)
    noise = rng.standard_normal((P, K))
    base = spread * np.exp(tau * xi)[:, None] * eta
    pi = np.exp(base - base.max(axis=1, keepdims=True))
    cdf = np.cumsum(pi / pi.sum(axis=1, keepdims=True), axis=1)
    right = np.minimum((cdf < u[:, None]).sum(axis=1), K - 1)
    correct = np.zeros((P, K), dtype=bool)
    correct[np.arange(P), right] = True
    scores = separation * correct + noise
    return AnswerTask(base, _features(base, correct, n_features, signal, cue_noise, memory, rng), correct, scores)


def bank_answer_distribution(bank: Any, smoothing: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(base log-probabilities [P, K_max] padded with -inf, correct [P, K_max]) from a bank's answers.

    One candidate per distinct answer string (no answer counts as one wrong candidate); a
    candidate is correct if its samples were graded correct. A problem none of whose samples is
    right gets the right answer as a candidate with count 0. Probabilities are
    (count + smoothing) / (n + smoothing * candidates).
    """
    _check("bank_answer_distribution: smoothing", smoothing)
    rows = []
    for answers, correct in zip(bank.answers, bank.correct):
        groups: dict[Any, list[int]] = {}
        for a, c in zip(answers, correct):
            g = groups.setdefault(a, [0, 0])
            g[0] += 1
            g[1] += int(c)
        counts = [g[0] for g in groups.values()]
        right = [g[1] > 0 for g in groups.values()]
        if not any(right):
            counts.append(0)
            right.append(True)
        rows.append((np.array(counts, float), np.array(right)))
    if smoothing == 0 and any(not (c[r] > 0).any() for c, r in rows):
        raise ValueError("bank_answer_distribution: smoothing = 0 gives an unseen right answer probability 0")
    K = max(len(c) for c, _ in rows)
    logp = np.full((len(rows), K), -np.inf)
    right = np.zeros((len(rows), K), dtype=bool)
    for i, (c, r) in enumerate(rows):
        p = (c + smoothing) / (c.sum() + smoothing * len(c))
        with np.errstate(divide="ignore"):
            logp[i, : len(c)] = np.log(p)
        right[i, : len(c)] = r
    return logp, right


def task_from_bank(
    bank: Any,
    rng: np.random.Generator,
    *,
    n_features: int = 128,
    signal: float = 1.0,
    cue_noise: float = 1.0,
    memory: float = 1.0,
    separation: float = 1.0,
    smoothing: float = 0.5,
) -> AnswerTask:
    """A task whose base model is `bank`'s measured answer distribution (features synthetic)."""
    logp, correct = bank_answer_distribution(bank, smoothing)
    live = np.isfinite(logp)
    f = _features(logp, correct, n_features, signal, cue_noise, memory, rng) * live[..., None]
    scores = np.where(live, separation * correct + rng.standard_normal(correct.shape), 0.0)
    return AnswerTask(logp, f, correct, scores)
