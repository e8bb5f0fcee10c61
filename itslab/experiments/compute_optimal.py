"""Notebook 09's simulated population, calibrated to a MATH500 number of Wu et al.

Wu et al. 2024 ("Inference Scaling Laws: An Empirical Analysis of Compute-Optimal Inference for LLM
Problem-Solving", arXiv:2408.00724v3, Table 1) report Llemma-7B with sampling and weighted voting
over 256 samples at 45.5 % on MATH500. The population of notebook 09 (pass@1 p ~ Beta(a, b), a few
distractor answers, a per-sample confidence of set ROC AUC) gets one free parameter: a skill shift
δ, in logits, added to every problem's logit p (`pools.shift_skill`: the same problems, a weaker or
stronger model). `calibrate` bisects δ until score-weighted majority voting over all n samples of
each problem (Wu et al.'s "weighted voting", here weighted by the simulator's confidence) scores
the target on the drawn problems.

- `population`: (problems, `SimulatedGenerator`) at a shift;
- `weighted_vote_correct`: per problem, the expected correctness of the weighted vote of its n samples;
- `calibrate`: the shift by bisection, with the accuracy and its SE there (`Calibration`).

The samples are common random numbers (each sample's uniforms depend on the seed and the problem,
not on δ), so the accuracy moves with δ almost monotonically and the bisection is reproducible.

>>> cal = calibrate(0.5, 40, n_samples=16, a=1.0, b=1.0, n_distractors=3)
>>> abs(cal.accuracy - 0.5) <= 0.05, cal.n_problems
(True, 40)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

PAPER = {"llemma-7b weighted voting@256": 0.455}
"""Wu et al. 2024, Table 1 (arXiv:2408.00724v3): Llemma-7B, sampling + weighted voting, 256 samples, MATH500."""


@dataclass(frozen=True)
class Calibration:
    """The fitted skill shift and what the population scores there."""

    shift: float  # logits added to every problem's logit p
    accuracy: float  # weighted voting over n_samples per problem at that shift
    se: float  # its standard error over problems
    n_samples: int
    n_problems: int


def population(n_problems: int, *, seed: int = 0, shift: float = 0.0, **sim: Any) -> tuple[list[Any], Any]:
    """(problems, SimulatedGenerator): `make_suite` (`sim`: a, b, n_distractors, confidence_auc, ...)
    with every p moved by `shift` logits; a shifted population gets its own generator (the
    generator memoises each problem's answer model)."""
    from itslab.generators.simulated import SimulatedGenerator, make_suite
    from itslab.pools import shift_skill

    base, gen = make_suite(n_problems, seed=seed, **sim)
    if not shift:
        return base, gen
    problems = shift_skill(base, shift)
    return problems, SimulatedGenerator(problems, seed=seed, **sim)


def weighted_vote_correct(problems: list[Any], generator: Any, n_samples: int, *, seed: int = 0) -> np.ndarray:
    """Per problem, the correctness of the confidence-weighted vote over its `n_samples` samples
    (`draw_pool` with `seed`; a tie counts as the tied answers' share)."""
    from itslab.pools import draw_pool
    from itslab.scaling.pool_strategies import vote_weights
    from itslab.scaling.voting import majority_at_k_matrix

    pool = draw_pool(generator, problems, n_samples, seed=seed)
    w = vote_weights(pool.confidence)
    return majority_at_k_matrix(pool.answers, pool.correct, [n_samples], weights=w)[0][:, 0]


def calibrate(
    target: float,
    n_problems: int,
    *,
    n_samples: int = 256,
    seed: int = 0,
    lo: float = -3.0,
    hi: float = 2.0,
    n_iter: int = 14,
    **sim: Any,
) -> Calibration:
    """The shift δ in [lo, hi] at which weighted voting over `n_samples` scores `target`.

    Bisection (`step_search.calibrate_shift`: the evaluated shift nearest the target); 14 halvings
    of [−3, 2] leave 0.0003 logits, finer than one problem's flip on a few hundred problems.
    """
    from itslab.experiments.step_search import calibrate_shift

    def accuracy(shift: float) -> float:
        problems, gen = population(n_problems, seed=seed, shift=shift, **sim)
        return float(weighted_vote_correct(problems, gen, n_samples, seed=seed).mean())

    shift, _ = calibrate_shift(accuracy, target, lo=lo, hi=hi, n_iter=n_iter)
    problems, gen = population(n_problems, seed=seed, shift=shift, **sim)
    x = weighted_vote_correct(problems, gen, n_samples, seed=seed)
    se = float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan
    return Calibration(float(shift), float(x.mean()), se, int(n_samples), len(x))
