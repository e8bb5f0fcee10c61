"""Step-level speculation (SpecReason, Pan et al. 2025, arXiv:2504.07891) in closed form.

A drafter writes each step, a scorer rates it, and the step is kept when 9·score ≥ threshold τ;
otherwise the target writes it. In time units of one target step, with drafter time d and scoring
time v per step, a step costs ``d + v + (1 - α)`` where α is the chance the draft is kept;
``τ <= 0`` keeps every draft unscored (cost d) and ``τ > 9`` never drafts (cost 1).

Accuracy: a step breaks a still-correct solution with rate ε (ε_d for the drafter, ε_t for the
target) and a broken one never recovers (the step-wise simulator with ``recover = 0``). The
scorer is the simulated PRM `NoisyProcessVerifier`: score = sigmoid(±sep/2 + noise·z), z ~ N(0, 1),
with sep set by the per-step ROC AUC, so a draft that keeps the solution correct is kept with
``A_c = Φ((sep/2 - logit(τ/9)) / noise)`` and a breaking one with ``A_w = Φ((-sep/2 - logit(τ/9)) / noise)``.
From a correct state a step stays correct with
``q = (1 - ε_d)·A_c + (1 - (1 - ε_d)·A_c - ε_d·A_w)·(1 - ε_t)``; after S steps the solution is right
with ``q^S``. A draft after the solution broke is kept with A_w.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm


@dataclass(frozen=True)
class StepSpeculation:
    """Per-step times relative to a target step (drafter, scorer) and the scorer's per-step ROC AUC."""

    drafter: float = 0.1
    scorer: float = 0.05
    auc: float = 0.8
    noise: float = 1.0

    def __post_init__(self) -> None:
        if self.drafter < 0 or self.scorer < 0:
            raise ValueError(f"StepSpeculation: times must be >= 0, got drafter={self.drafter}, scorer={self.scorer}")
        if not 0.5 <= self.auc < 1.0 or self.noise <= 0:
            raise ValueError(f"StepSpeculation: need 0.5 <= auc < 1 and noise > 0, got {self.auc}, {self.noise}")


def accept_rates(m: StepSpeculation, threshold: float) -> tuple[float, float]:
    """(A_c, A_w): chance a draft is kept when it keeps the solution correct, and when it breaks it."""
    if threshold <= 0:
        return 1.0, 1.0
    if threshold >= 9:
        return 0.0, 0.0
    sep = m.noise * math.sqrt(2.0) * float(norm.ppf(m.auc))
    cut = math.log(threshold / (9.0 - threshold))  # logit(τ / 9)
    return float(norm.cdf((sep / 2 - cut) / m.noise)), float(norm.cdf((-sep / 2 - cut) / m.noise))


def solve(
    m: StepSpeculation, threshold: float, eps_draft: np.ndarray, eps_target: np.ndarray, n_steps: np.ndarray
) -> dict[str, np.ndarray]:
    """Per problem: accuracy, expected kept drafts, and latency (target-step units) of speculation,
    and the target alone's accuracy and latency, for break rates and step counts given per problem."""
    ed, et = np.asarray(eps_draft, float), np.asarray(eps_target, float)
    s = np.asarray(n_steps, int)
    target_acc = (1 - et) ** s
    if threshold > 9:
        return {"accuracy": target_acc, "kept": np.zeros_like(ed), "latency": s * 1.0,
                "target_accuracy": target_acc, "target_latency": s * 1.0}  # fmt: skip
    ac, aw = accept_rates(m, threshold)
    q = (1 - ed) * ac + (1 - (1 - ed) * ac - ed * aw) * (1 - et)
    alpha_ok = (1 - ed) * ac + ed * aw
    # sum over steps i = 1..S of P(correct before step i) = (1 - q^S) / (1 - q)
    ok_steps = np.where(np.isclose(q, 1.0), s, (1 - q**s) / np.where(np.isclose(q, 1.0), 1.0, 1 - q))
    kept = ok_steps * alpha_ok + (s - ok_steps) * aw
    v = m.scorer if threshold > 0 else 0.0
    latency = s * (m.drafter + v) + (s - kept)
    return {"accuracy": q**s, "kept": kept, "latency": latency, "target_accuracy": target_acc,
            "target_latency": s * 1.0}  # fmt: skip


def summary(m: StepSpeculation, threshold: float, eps_draft, eps_target, n_steps) -> dict[str, float]:
    """Over a population: accuracy, target accuracy, share of drafts kept, speed-up (total target-alone
    latency over total speculation latency)."""
    r = solve(m, threshold, eps_draft, eps_target, n_steps)
    s = np.asarray(n_steps, float)
    return {
        "accuracy": float(r["accuracy"].mean()),
        "target_accuracy": float(r["target_accuracy"].mean()),
        "kept": float(r["kept"].sum() / s.sum()),
        "speedup": float(r["target_latency"].sum() / r["latency"].sum()),
    }


def threshold_for_speedup(m: StepSpeculation, speedup: float, eps_draft, eps_target, n_steps) -> float:
    """The threshold in (0, 9) at which the population's speed-up equals `speedup` (it falls as τ rises)."""

    def gap(t: float) -> float:
        return summary(m, t, eps_draft, eps_target, n_steps)["speedup"] - speedup

    lo, hi = 1e-6, 9 - 1e-6
    if gap(lo) < 0 or gap(hi) > 0:
        raise ValueError(
            f"threshold_for_speedup: {speedup}x lies outside [{gap(hi) + speedup:.3g}, {gap(lo) + speedup:.3g}]x "
            f"for drafter={m.drafter}, scorer={m.scorer}"
        )
    return float(brentq(gap, lo, hi, xtol=1e-9))
