"""Notebook 09's population: the skill shift, the weighted vote, and its calibration to a target."""

import numpy as np
import pytest

from itslab.experiments import compute_optimal

SIM = dict(a=0.7, b=1.3, n_distractors=3, confidence_auc=0.75)


def test_population_at_shift_zero_is_make_suite_and_a_shift_moves_every_p():
    from itslab.generators.simulated import make_suite

    base, _ = make_suite(30, seed=0, **SIM)
    same, _ = compute_optimal.population(30, seed=0, **SIM)
    weak, gen = compute_optimal.population(30, seed=0, shift=-1.0, **SIM)
    assert [p.meta["p_correct"] for p in same] == [p.meta["p_correct"] for p in base]
    assert all(w.meta["p_correct"] < b.meta["p_correct"] for w, b in zip(weak, base))
    assert all(gen.p_correct(w) == pytest.approx(w.meta["p_correct"]) for w in weak)


def test_weighted_vote_of_one_sample_is_that_sample():
    problems, gen = compute_optimal.population(50, seed=1, **SIM)
    from itslab.pools import draw_pool

    one = compute_optimal.weighted_vote_correct(problems, gen, 1, seed=1)
    assert np.array_equal(one, draw_pool(gen, problems, 1, seed=1).correct[:, 0].astype(float))


def test_calibrate_hits_the_target_and_a_stronger_target_needs_a_larger_shift():
    """Seeded: 200 problems, 64 samples; the bisection lands within one problem's flip of the target."""
    low = compute_optimal.calibrate(0.35, 200, n_samples=64, seed=0, **SIM)
    high = compute_optimal.calibrate(0.6, 200, n_samples=64, seed=0, **SIM)
    assert abs(low.accuracy - 0.35) <= 0.01 and abs(high.accuracy - 0.6) <= 0.01
    assert low.shift < high.shift and low.n_problems == 200 and 0 < low.se < 0.05
    problems, gen = compute_optimal.population(200, seed=0, shift=low.shift, **SIM)
    assert compute_optimal.weighted_vote_correct(problems, gen, 64, seed=0).mean() == pytest.approx(low.accuracy)
